"""FluidSynth as a sample generator, pulled by our own audio callback.

FluidSynth's own audio driver is never started: :class:`composer_app.live.audio.AudioOutput` asks
:meth:`Synth.render_into` for each block. That keeps one audio path for every platform, lets the app choose
device, block size and latency itself, and lets tests and exports render without any sound card.

Threads
-------
Note events (``note_on``/``note_off``/``all_notes_off``, program and soundfont changes) come from the engine or GUI
thread while the audio callback renders on PortAudio's thread. FluidSynth's synth API is thread-safe by itself
(``synth.threadsafe-api`` is on by default) and hands events to the renderer through its own lock-free queue. So
the render path takes **no Python lock**: it is one ctypes call (which releases the GIL) writing straight into the
callback's buffer. The only Python lock here is the note sink's: it guards the sounding-note bookkeeping and the
swap of the FluidSynth instance, and the callback never takes it.

What the caller must still order: :meth:`set_samplerate` and :meth:`close` replace or free the FluidSynth
instance, so no stream may be rendering from this synth at that moment (``AudioOutput`` stops its stream first).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from composer_app.errors import UserError
from composer_app.live.instrument import BadSoundfont, Instrument
from composer_app.live.note_sink import CC_SOSTENUTO, CC_SUSTAIN
from composer_app.platform_help import FLUIDSYNTH, missing_library
from composer_app.resources import default_soundfont

MIDI_CHANNELS = 16
PERCUSSION_CHANNEL = 9
DRUM_BANK = 128
#: FluidSynth's 16-bit output dithers: silence is +-1 or 2, never exactly 0.
SILENCE_PEAK = 4


def _fluidsynth():
    """Import pyfluidsynth, turning a missing system library into a message a user can act on."""
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise UserError(missing_library(FLUIDSYNTH)) from exc
    return fluidsynth


class Synth(Instrument):
    """One General MIDI instrument on channel 0, rendered on demand as int16 stereo.

    An :class:`~composer_app.live.instrument.Instrument` like its silent stand-in: the note sink's hooks send
    to FluidSynth.

    Parameters
    ----------
    soundfont : path, optional
        A ``.sf2`` file; default :func:`default_soundfont`.
    program : int
        General MIDI program 0-127 (0 = piano), bank 0.
    samplerate : int
        Output rate in Hz; must match the audio stream (see :meth:`set_samplerate`).
    gain : float
        FluidSynth master gain. 1.0 puts a forte piano note near -16 dBFS with TimGM6mb: room for chords.
    reverb : bool
        FluidSynth's reverb; on by default because a dry GM piano sounds thin.
    """

    channel = 0

    def __init__(
        self,
        soundfont: str | os.PathLike | None = None,
        program: int = 0,
        samplerate: int = 44100,
        gain: float = 1.0,
        reverb: bool = True,
    ):
        super().__init__()
        self._fl = _fluidsynth()
        self._samplerate = int(samplerate)
        self._gain = float(gain)
        self._reverb = bool(reverb)
        self._soundfont: Path | None = None
        self._sfid = -1
        #: Incremented by every note-on; AudioOutput compares it to spot the first block after a note-on.
        self.note_on_count = 0
        #: ``time.perf_counter_ns()`` of the latest note-on (for latency logs).
        self.last_note_on_ns = 0
        self._fs = self._new_instance()
        self.load_soundfont(soundfont if soundfont is not None else default_soundfont())
        self.program_select(program)

    # -- set-up -----------------------------------------------------------------------------------------------
    def _new_instance(self):
        fs = self._fl.Synth(gain=self._gain, samplerate=float(self._samplerate))
        fs.setting("synth.reverb.active", 1 if self._reverb else 0)
        return fs

    @property
    def samplerate(self) -> int:
        return self._samplerate

    @property
    def soundfont(self) -> Path | None:
        """The loaded ``.sf2`` file."""
        return self._soundfont

    @property
    def gain(self) -> float:
        return self._gain

    @gain.setter
    def gain(self, value: float) -> None:
        # synth.gain is a real-time setting in FluidSynth 2: no re-creation needed.
        self._gain = float(value)
        self._fs.setting("synth.gain", self._gain)

    def load_soundfont(self, path: str | os.PathLike) -> None:
        """Load ``path`` and make it the instrument's soundfont.

        The new file is loaded before the old one is unloaded, so a bad file leaves the old sound playing.

        Raises
        ------
        UserError
            ``not a SoundFont file: ...`` when the file is missing or FluidSynth cannot read it.
        """
        path = Path(path).expanduser()
        if not path.is_file():
            raise BadSoundfont(f"not a SoundFont file: {path} (no such file)")
        with self._sink_lock:
            sfid = self._fs.sfload(str(path))
            if sfid < 0:
                raise BadSoundfont(f"not a SoundFont file: {path} (FluidSynth could not read it; use a .sf2 file)")
            old = (self._sfid, self._soundfont)
            self._sfid, self._soundfont = sfid, path
            try:
                self._select_locked(self._program)
            except UserError:
                self._fs.sfunload(sfid)
                self._sfid, self._soundfont = old
                if self._sfid >= 0:
                    self._select_locked(self._program)
                raise
            if old[0] >= 0:
                self._fs.sfunload(old[0])

    def program_select(self, program: int) -> None:
        """Choose General MIDI ``program`` (0-127, bank 0) for channel 0.

        Raises
        ------
        UserError
            When ``program`` is out of range or the soundfont has no such preset.
        """
        program = int(program)
        if not 0 <= program <= 127:
            raise UserError(f"MIDI program must be 0-127, got {program}")
        with self._sink_lock:
            self._select_locked(program)

    def _select_locked(self, program: int) -> None:
        if self._fs.program_select(self.channel, self._sfid, 0, program) != 0:
            raise UserError(f"the soundfont {self._soundfont} has no program {program} in bank 0")
        self._program = program
        # The metronome's drum kit (bank 128); a soundfont without one just gives silent clicks.
        self._fs.program_select(PERCUSSION_CHANNEL, self._sfid, DRUM_BANK, 0)

    def preset_names(self) -> dict[int, str]:
        """Program number -> preset name for bank 0 of the loaded soundfont (only programs it defines)."""
        names = {}
        with self._sink_lock:
            for program in range(128):
                name = self._fs.sfpreset_name(self._sfid, 0, program)
                if name:
                    names[program] = name.strip()
        return names

    def set_samplerate(self, samplerate: int) -> None:
        """Re-create FluidSynth at ``samplerate``, keeping soundfont and program.

        FluidSynth fixes its rate at creation, so this swaps the instance: call it only while no audio stream
        renders from this synth (``AudioOutput`` does that when a device needs another rate).
        """
        samplerate = int(samplerate)
        if samplerate == self._samplerate:
            return
        with self._sink_lock:
            old = self._fs
            self._samplerate = samplerate
            self._fs = self._new_instance()
            self._sfid = self._fs.sfload(str(self._soundfont)) if self._soundfont else -1
            if self._sfid >= 0:
                self._select_locked(self._program)
            self._forget_all_locked()
            old.delete()

    # -- playing (the note sink's hooks, called with its lock held) ------------------------------------------
    def _note_on(self, pitch: int, velocity: int) -> None:
        """Start ``pitch``; a key already sounding is restarted, as a piano would."""
        self._fs.noteon(self.channel, pitch, velocity)
        self.last_note_on_ns = time.perf_counter_ns()
        self.note_on_count += 1

    def _note_off(self, pitch: int) -> None:
        """Release ``pitch``; its release tail keeps sounding for a moment as on a real instrument."""
        self._fs.noteoff(self.channel, pitch)

    def _panic(self, immediate: bool) -> None:
        """After a note-off per key pressed: lift the sustain and sostenuto pedals (FluidSynth's all-notes-off
        keeps pedal-held voices sounding) and run FluidSynth's all-notes-off on every channel. ``immediate`` also
        cuts release tails and reverb (all-sounds-off): for a stream about to stop, so no tail waits to play."""
        for chan in range(MIDI_CHANNELS):
            self._fs.cc(chan, CC_SUSTAIN, 0)
            self._fs.cc(chan, CC_SOSTENUTO, 0)
            self._fs.all_notes_off(chan)
            if immediate:
                self._fs.all_sounds_off(chan)

    def sustain(self, down: bool) -> None:
        """The instrument's sustain pedal (CC 64), as a MIDI keyboard's pedal would press it; all-notes-off
        lifts it."""
        with self._sink_lock:
            if self._fs is not None:
                self._fs.cc(self.channel, CC_SUSTAIN, 127 if down else 0)

    def click(self, note: int, velocity: int = 100) -> None:
        """A metronome click: ``note`` on the General MIDI percussion channel (10), beside the instrument and
        through the same FluidSynth event queue as the notes; nothing else records it."""
        with self._sink_lock:
            if self._fs is not None:
                self._fs.noteon(PERCUSSION_CHANNEL, int(note), max(1, min(127, int(velocity))))

    def click_off(self, note: int) -> None:
        with self._sink_lock:
            if self._fs is not None:
                self._fs.noteoff(PERCUSSION_CHANNEL, int(note))

    def active_voices(self) -> int:
        """FluidSynth voices still producing sound (includes release tails)."""
        return int(self._fs.get_active_voice_count())

    # -- rendering --------------------------------------------------------------------------------------------
    def render_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (C-contiguous int16, shape ``(frames, 2)``) in place. For audio callbacks.

        One ctypes call, no allocation and no Python lock: safe to call on the audio thread while other threads
        send notes.
        """
        frames = out.shape[0]
        ptr = out.ctypes.data
        self._fl.fluid_synth_write_s16(self._fs.synth, frames, ptr, 0, 2, ptr, 1, 2)

    def render(self, frames: int) -> np.ndarray:
        """Return the next ``frames`` frames as a new int16 array of shape ``(frames, 2)``."""
        out = np.empty((int(frames), 2), dtype=np.int16)
        self.render_into(out)
        return out

    def render_seconds(self, seconds: float) -> np.ndarray:
        """Render ``seconds`` of audio (offline: exports and tests)."""
        return self.render(round(seconds * self._samplerate))

    # -- lifetime ---------------------------------------------------------------------------------------------
    def _close(self) -> None:
        """Free FluidSynth (after all notes off). No stream may render from this synth any more."""
        if self._fs is not None:
            self._fs.delete()
            self._fs = None

    def __enter__(self) -> Synth:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Synth(soundfont={str(self._soundfont)!r}, program={self._program}, samplerate={self._samplerate})"
