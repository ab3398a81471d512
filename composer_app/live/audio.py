"""Sound output: a ``sounddevice`` stream whose callback pulls blocks from a :class:`~composer_app.live.synth.Synth`.

Design choices
--------------
* **Never fail the app for sound.** Without a sound card (or without PortAudio) :meth:`AudioOutput.start` does not
  raise: the status says ``available=False`` with a message in plain words, reported once, and the rest of the app
  (tapping, the model, the piano roll, export) keeps working silently.
* **Low latency by default.** sounddevice defaults to PortAudio's 'high' latency; we ask for 'low' and a small
  block (128 frames, 2.9 ms at 44.1 kHz). Both are settings because some devices crackle with small blocks.
* **Stuck-note prevention.** Every stop, device switch and close sends all-notes-off first.
* **The callback waits on nothing.** It renders with one ctypes call into PortAudio's buffer, counts frames, and
  notes the first block after each note-on (for latency logs) with plain attribute reads and a ``deque.append``.

``sounddevice`` reads the device list when it is imported, so a device plugged in later, or a JACK server started
later, shows up only after :func:`refresh_devices`.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from composer_app.clock import ns_to_s
from composer_app.live.synth import Synth
from composer_app.platform_help import LINUX, MACOS, PORTAUDIO, WINDOWS, current_system, install_hint

DEFAULT_BLOCKSIZE = 128
DEFAULT_LATENCY = "low"
NO_DEVICE_HINT = "running silent: tapping, the melody and export still work"
#: The host APIs whose default output plays when the player chose no device, best first: the same low-latency
#: intent on every system. PortAudio's own default on Windows is MME, which buffers about 100 ms; WASAPI (shared)
#: needs about 10, ASIO (sounddevice's ASIO build, with SD_ENABLE_ASIO set) less. Core Audio is macOS's only
#: one. On Linux PortAudio's default (ALSA, or PipeWire/PulseAudio through it) is kept; JACK is chosen by name.
PREFERRED_HOSTAPIS = {LINUX: (), MACOS: ("Core Audio",), WINDOWS: ("ASIO", "Windows WASAPI")}


@dataclass(frozen=True)
class OutputDevice:
    """One PortAudio output device, as a settings dialog would list it."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    default_low_latency: float
    is_default: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})"


@dataclass(frozen=True)
class AudioStatus:
    """What the status bar shows about sound.

    ``latency_s`` is PortAudio's own estimate of the output latency of the opened stream (``stream.latency``):
    buffering between our callback and the DAC, not counting the key and model.
    """

    available: bool
    message: str
    device: str | None = None
    hostapi: str | None = None
    samplerate: int | None = None
    blocksize: int | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class NoteTiming:
    """When the audio callback first rendered a block containing a note-on.

    All ``*_ns`` values are ``time.perf_counter_ns()``. ``dac_delay_s`` is PortAudio's
    ``outputBufferDacTime - currentTime`` for that block: how long until the block reaches the DAC (0 when the
    host API does not report it).
    """

    note_on_ns: int
    block_ns: int
    dac_delay_s: float

    @property
    def wait_s(self) -> float:
        """From the note-on call to the start of the callback that rendered it."""
        return ns_to_s(self.block_ns - self.note_on_ns)

    @property
    def estimated_latency_s(self) -> float:
        """Note-on call to sound leaving the DAC, as far as the software can tell."""
        return self.wait_s + self.dac_delay_s


def _sounddevice():
    """Import sounddevice; ``(module, None)`` or ``(None, reason)`` when the PortAudio library is missing."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError('PortAudio library not found')
        return None, f"the PortAudio library is missing ({exc}); {install_hint(PORTAUDIO)}"
    return sounddevice, None


def refresh_devices() -> None:
    """Re-scan sound devices (PortAudio lists them once, at start-up).

    Needed after plugging in a USB interface or starting a JACK server. No stream may be open:
    :meth:`AudioOutput.configure` and friends stop theirs first, others must do so themselves.
    """
    sd, _ = _sounddevice()
    if sd is None:
        return
    sd._terminate()
    sd._initialize()


def default_output_device(sd, system: str | None = None) -> int | None:
    """The device played when none is chosen: the default output of ``system``'s first preferred host API
    that has one (:data:`PREFERRED_HOSTAPIS`), or None for PortAudio's own default. ``sd``: sounddevice."""
    apis = list(sd.query_hostapis())
    for wanted in PREFERRED_HOSTAPIS[system or current_system()]:
        for api in apis:
            if api["name"] == wanted and api["default_output_device"] >= 0:
                return int(api["default_output_device"])
    return None


def list_output_devices() -> list[OutputDevice]:
    """Every device with output channels; [] when PortAudio is missing or sees no device."""
    sd, _ = _sounddevice()
    if sd is None:
        return []
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_out = default_output_device(sd)
        default_out = sd.default.device[1] if default_out is None else default_out
    except sd.PortAudioError:
        return []
    found = []
    for dev in devices:
        if dev["max_output_channels"] < 1:
            continue
        found.append(
            OutputDevice(
                index=dev["index"],
                name=dev["name"],
                hostapi=hostapis[dev["hostapi"]]["name"],
                channels=dev["max_output_channels"],
                default_samplerate=float(dev["default_samplerate"]),
                default_low_latency=float(dev["default_low_output_latency"]),
                is_default=dev["index"] == default_out,
            )
        )
    return found


def find_output_device(hostapi: str) -> int | None:
    """Index of the default output device of the host API whose name contains ``hostapi`` (e.g. 'JACK')."""
    sd, _ = _sounddevice()
    if sd is None:
        return None
    for api in sd.query_hostapis():
        if hostapi.lower() in api["name"].lower() and api["default_output_device"] >= 0:
            return int(api["default_output_device"])
    return None


class AudioOutput:
    """Plays a :class:`Synth` on a sound device.

    Parameters
    ----------
    synth : Synth
        What to render. Its sample rate is adapted to the device when the device refuses it.
    device : int or str, optional
        PortAudio device index or (part of) its name; None = the system default output.
    blocksize : int
        Frames per callback (0 lets PortAudio choose; JACK then uses its period).
    latency : 'low', 'high' or float seconds
        Passed to PortAudio as the suggested output latency.
    samplerate : int, optional
        Stream rate; None = the synth's rate, or the device's own rate if it refuses that.
    on_status : callable, optional
        Called with the new :class:`AudioStatus` whenever it changes: after start/stop/configure on the caller's
        thread, and from a PortAudio thread if the device disappears while playing. Hand it to the GUI thread.
    """

    def __init__(
        self,
        synth: Synth,
        device: int | str | None = None,
        blocksize: int = DEFAULT_BLOCKSIZE,
        latency: str | float = DEFAULT_LATENCY,
        samplerate: int | None = None,
        on_status=None,
    ):
        self.synth = synth
        self.device = device
        self.blocksize = int(blocksize)
        self.latency = latency
        self.samplerate = samplerate
        self.on_status = on_status
        self._stream = None
        self._stopping = False
        self._control = threading.Lock()  # start/stop/configure from different threads; not used by the callback
        self._status = AudioStatus(False, "sound not started")
        # Written only by the audio callback:
        self.callback_count = 0
        self.frames_rendered = 0
        self.underflows = 0
        self._seen_note_on = synth.note_on_count
        self._timings: collections.deque[NoteTiming] = collections.deque(maxlen=512)

    # -- status -----------------------------------------------------------------------------------------------
    @property
    def status(self) -> AudioStatus:
        return self._status

    @property
    def available(self) -> bool:
        """True while a stream is open and playing."""
        return self._status.available

    @property
    def status_message(self) -> str:
        return self._status.message

    @property
    def latency_s(self) -> float | None:
        """PortAudio's measured output latency of the running stream (None when silent)."""
        return self._status.latency_s

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _set_status(self, status: AudioStatus) -> AudioStatus:
        changed = status != self._status
        self._status = status
        if changed and self.on_status is not None:
            self.on_status(status)
        return status

    def note_timings(self) -> list[NoteTiming]:
        """When each recent note-on reached a rendered block (oldest first, at most 512)."""
        return list(self._timings)

    # -- the audio thread -------------------------------------------------------------------------------------
    def _callback(self, outdata, frames, time_info, status) -> None:
        block_ns = time.perf_counter_ns()
        synth = self.synth
        count = synth.note_on_count
        if count != self._seen_note_on:
            self._seen_note_on = count
            try:
                delay = max(0.0, time_info.outputBufferDacTime - time_info.currentTime)
            except Exception:  # some host APIs leave the times unset
                delay = 0.0
            self._timings.append(NoteTiming(synth.last_note_on_ns, block_ns, delay))
        if status.output_underflow:
            self.underflows += 1
        synth.render_into(outdata)
        self.callback_count += 1
        self.frames_rendered += frames

    def _finished(self) -> None:
        """PortAudio calls this when the stream ends; unexpected ends (device unplugged) become a status."""
        if not self._stopping:
            self._set_status(
                AudioStatus(False, f"the sound device stopped unexpectedly (unplugged?); {NO_DEVICE_HINT}")
            )

    # -- control ----------------------------------------------------------------------------------------------
    def start(self) -> AudioStatus:
        """Open and start the stream; never raises for a missing or broken device (see :class:`AudioStatus`)."""
        with self._control:
            if self._stream is not None:
                return self._status
            return self._set_status(self._open())

    def _open(self) -> AudioStatus:
        sd, reason = _sounddevice()
        if sd is None:
            return AudioStatus(False, f"no sound: {reason}; {NO_DEVICE_HINT}")
        try:
            device = self.device if self.device is not None else default_output_device(sd)
            info = sd.query_devices(device, kind="output")
        except ValueError as exc:  # no device matches the name, or the name is ambiguous
            return AudioStatus(False, f"no sound: {exc}; choose another output device; {NO_DEVICE_HINT}")
        except sd.PortAudioError:
            if self.device is None:
                msg = "no sound: no audio output device found (no sound card, or no access to it)"
            else:
                msg = f"no sound: audio output device {self.device!r} does not exist"
            return AudioStatus(False, f"{msg}; {NO_DEVICE_HINT}")
        hostapi = sd.query_hostapis(info["hostapi"])["name"]
        rates = [self.samplerate or self.synth.samplerate, int(info["default_samplerate"])]
        error = None
        for rate in dict.fromkeys(rates):  # unique, in order
            stream = None
            try:
                self.synth.set_samplerate(rate)
                stream = sd.OutputStream(
                    samplerate=rate,
                    blocksize=self.blocksize,
                    device=info["index"],
                    channels=2,
                    dtype="int16",
                    latency=self.latency,
                    callback=self._callback,
                    finished_callback=self._finished,
                )
                self._stopping = False
                stream.start()
            except (sd.PortAudioError, ValueError) as exc:
                error = exc
                if stream is not None:
                    stream.close(ignore_errors=True)
                continue
            self._stream = stream
            return AudioStatus(
                True,
                f"sound: {info['name']} ({hostapi}), {rate} Hz, block {self.blocksize or 'auto'}, "
                f"output latency {stream.latency * 1000:.1f} ms",
                device=info["name"],
                hostapi=hostapi,
                samplerate=rate,
                blocksize=self.blocksize,
                latency_s=float(stream.latency),
            )
        return AudioStatus(False, f"no sound: could not open {info['name']!r} ({error}); {NO_DEVICE_HINT}")

    def stop(self) -> None:
        """All notes off, then stop and close the stream (the synth stays usable)."""
        with self._control:
            self._close_stream()
            self._set_status(AudioStatus(False, "sound stopped"))

    def _close_stream(self) -> None:
        self.synth.all_notes_off(immediate=True)
        stream, self._stream = self._stream, None
        if stream is not None:
            self._stopping = True
            try:
                stream.stop()
                stream.close()
            except Exception:  # a vanished device can fail to stop; the stream is gone either way
                pass

    def configure(
        self,
        device: int | str | None = ...,
        blocksize: int | None = None,
        latency: str | float | None = None,
        samplerate: int | None = ...,
    ) -> AudioStatus:
        """Change settings; a running stream is stopped (all notes off) and restarted with them."""
        with self._control:
            was_running = self._stream is not None
            self._close_stream()
            if device is not ...:
                self.device = device
            if blocksize is not None:
                self.blocksize = int(blocksize)
            if latency is not None:
                self.latency = latency
            if samplerate is not ...:
                self.samplerate = samplerate
            if not was_running:
                return self._set_status(AudioStatus(False, "sound not started"))
            return self._set_status(self._open())

    def close(self) -> None:
        """Stop for good (all notes off first). Safe to call twice."""
        if self._stream is not None:
            self.stop()

    def __enter__(self) -> AudioOutput:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
