"""The sound the player hears: the synth (or its silent stand-in), where the notes go, and the audio device.

FluidSynth queues note events until something renders them and drops them once its queue is full (stuck notes):
so while no stream renders (no device, or it failed) the notes go to a :class:`SilentSynth`, and back to the synth
once a stream runs. Without ``audio`` no device is opened and the caller renders ``synth`` itself (tests, exports).
"""

from __future__ import annotations

from composer_app.errors import UserError
from composer_app.live.instrument import BadSoundfont, Instrument, SilentSynth
from composer_app.live.note_sink import NoteRouter


def open_synth(soundfont, program: int, report) -> Instrument:
    """The FluidSynth :class:`~composer_app.live.synth.Synth`, or a :class:`SilentSynth` when FluidSynth cannot
    start (said through ``report(text, level)``). A soundfont file that cannot be read raises UserError."""
    try:
        from composer_app.live.synth import Synth

        return Synth(soundfont=soundfont, program=program)
    except UserError as exc:
        if soundfont is not None and isinstance(exc, BadSoundfont):
            raise
        report(f"no sound: {exc}; tapping, the melody and export still work", "warning")
        return SilentSynth()


class SoundOutput:
    """The synth, the way out for notes (:attr:`router`: the synth or its stand-in, and MIDI out), and the
    audio device with its settings.

    ``report(text, level)`` says how the sound is (status topic 'sound'); ``silence()`` ends whatever sounds
    before the device changes.
    """

    def __init__(self, synth: Instrument, audio: bool, report, silence, *, device=None, blocksize: int = 128,
                 latency="low"):
        self.synth = synth
        self.silent = SilentSynth()
        self.router = NoteRouter(self.silent if audio else synth)
        #: The :class:`~composer_app.live.audio.AudioOutput` once a device was asked for (None before).
        self.output = None
        self._want_audio = audio
        self._settings = {"device": device, "blocksize": blocksize, "latency": latency}
        self._report = report
        self._silence = silence

    @property
    def settings(self) -> dict:
        """The output asked for: ``{'device', 'blocksize', 'latency'}``."""
        return dict(self._settings)

    @property
    def status(self):
        """The device's :class:`~composer_app.live.audio.AudioStatus` (None while none was opened)."""
        return self.output.status if self.output is not None else None

    @property
    def available(self) -> bool:
        """True while a stream renders the synth."""
        return self.output is not None and self.output.available

    def start(self) -> None:
        """Open the device (when audio was asked for and there is a synth to hear); never raises."""
        if self._want_audio and self.output is None and not isinstance(self.synth, SilentSynth):
            from composer_app.live.audio import AudioOutput

            self.output = AudioOutput(self.synth, **self._settings, on_status=self._stream_changed)
            self._stream_changed(self.output.start())

    def set_audio(self, device=..., blocksize: int | None = None, latency=None):
        """Another device, block size or latency; the stream restarts, all notes off. Returns the
        :class:`~composer_app.live.audio.AudioStatus` (silent when the device cannot be opened)."""
        self._silence()
        if device is not ...:
            self._settings["device"] = device
        if blocksize is not None:
            self._settings["blocksize"] = blocksize
        if latency is not None:
            self._settings["latency"] = latency
        if self.output is None:
            self._want_audio = True
            self.start()
        else:
            self.output.configure(**self._settings)
        return self.status

    def _stream_changed(self, status) -> None:
        """The stream's status (any thread): notes go to the synth only while a stream renders it."""
        if status.available and self.router.synth is not self.synth:
            self.synth.all_notes_off(immediate=True)  # notes whose note-off went to the stand-in must not wake up
        self.router.synth = self.synth if status.available else self.silent
        self._report(status.message, "info" if status.available else "warning")

    def close_stream(self) -> None:
        """Stop and close the device's stream (the synth stays)."""
        if self.output is not None:
            self.output.close()

    def close(self) -> None:
        """Close the stream and the synth."""
        self.close_stream()
        self.synth.close()
