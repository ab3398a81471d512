"""A JACK test rig: a private jackd, a MIDI "key" that stamps its events, and a recorder of the app's sound.

Why JACK: it runs without any hardware (``-d dummy`` paces itself like a real card) and puts MIDI and audio on
one frame clock. A note sent from :class:`JackMidiSender` goes through the app's real path (MidiInput on the
UNIX_JACK backend -> engine -> Synth -> sounddevice on PortAudio's JACK host API) and comes back into
:class:`JackRecorder`; the distance between the send frame and the first loud recorded frame is the
key-to-sound latency, with no clock conversion. The tests use it, and so does ``bench live``.

Needs ``jackd`` (Debian: jackd2) and the ``JACK-Client`` Python package (a test extra); both are imported or
started only when used. The server gets a unique name (``jackd -n``) so it never meets a user's own JACK.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Sequence

import numpy as np

from composer_app.errors import UserError
from composer_app.platform_help import JACK, install_hint


def _jack():
    try:
        import jack
    except (ImportError, OSError) as exc:
        raise UserError(
            "the JACK-Client Python package and libjack are needed for this "
            f"(pip install JACK-Client; {install_hint(JACK)})"
        ) from exc
    return jack


def _refresh_portaudio() -> None:
    """Re-initialise PortAudio if sounddevice is loaded (it scans host APIs only when it starts)."""
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is not None:
        sd._terminate()
        sd._initialize()


def _die_with_parent():
    """A ``preexec_fn`` that makes the child get SIGTERM when we die, or None where that is not possible.

    Without it a test run that is killed (timeout, Ctrl-C twice, a crash in a native library) leaves its jackd
    running, and JACK refuses to start a ninth server ("Too many servers already active": measured). Linux
    sends the signal when the *thread* that started the child exits, so this is used from the main thread only.
    """
    import sys

    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def jackd_path() -> str | None:
    """Where ``jackd`` is, or None."""
    return shutil.which("jackd")


class JackServer:
    """A private ``jackd --no-realtime -d dummy`` server.

    ``--no-realtime`` because ordinary users (and containers) may not get real-time scheduling; the dummy
    driver needs no sound card. :meth:`start` waits until a client can connect.

    ``sync=True`` runs jackd in synchronous mode: each cycle waits for every client. Without it (JACK's default,
    what users run) a client starved of CPU misses its cycle and its MIDI events are lost, which made delivery
    tests fail about 1 run in 3 with both cores busy (measured); with it, none failed. Trade-off, measured: in
    synchronous mode PortAudio reports 0 output latency and counts many underflows, so latency benches that
    should match a user's set-up keep the default.
    """

    def __init__(self, name: str | None = None, rate: int = 44100, period: int = 256, sync: bool = False,
                 jackd: str | None = None):
        self.name = name or f"ec-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.rate = int(rate)
        self.period = int(period)
        self.sync = bool(sync)
        self.jackd = jackd or jackd_path()
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._saved_env: dict[str, str | None] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def env(self) -> dict[str, str]:
        """Environment that points libjack (rtmidi, PortAudio, JACK-Client) at this server and never lets
        it start another one."""
        return {"JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def use(self) -> JackServer:
        """Make this the process's JACK server: set :meth:`env` in ``os.environ`` and re-scan PortAudio's devices
        so its JACK host API (with one output device, "system") appears. :meth:`stop` undoes both.

        No sounddevice stream may be open (PortAudio is re-initialised).
        """
        if self._saved_env is None:
            self._saved_env = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        _refresh_portaudio()
        return self

    def _unuse(self) -> None:
        saved, self._saved_env = self._saved_env, None
        if saved is None:
            return
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        # PortAudio's JACK host API keeps a client of this server; closing it after the server died trips an
        # assertion in pa_jack.c at exit (measured: the process aborts). So let go of it first.
        _refresh_portaudio()

    def command(self) -> list[str]:
        sync = ["--sync"] if self.sync else []
        return [self.jackd or "jackd", "-n", self.name, "--no-realtime", *sync,
                "-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]

    def start(self, timeout: float = 10.0) -> JackServer:
        """Start jackd and wait until it accepts clients.

        Raises
        ------
        UserError
            jackd is not installed, exits, or does not accept clients within ``timeout`` (with its log).
        """
        if self.running:
            return self
        if not self.jackd:
            raise UserError(f"jackd is not installed ({install_hint(JACK)})")
        jack = _jack()
        import tempfile

        self._log = tempfile.TemporaryFile()
        env = {**os.environ, **self.env()}
        self._proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent())
        deadline = time.monotonic() + timeout
        jack.set_error_function(lambda _msg: None)  # "cannot connect" until it is up: expected, not news
        try:
            while True:
                if self._proc.poll() is not None:
                    text, code = self.log_text(), self._proc.returncode
                    self.stop()
                    raise UserError(f"jackd exited with status {code}:\n{text}")
                try:
                    client = jack.Client("ec-probe", servername=self.name, no_start_server=True)
                except jack.JackError:
                    if time.monotonic() > deadline:
                        text = self.log_text()
                        self.stop()
                        raise UserError(f"jackd did not accept clients within {timeout} s:\n{text}") from None
                    time.sleep(0.05)
                    continue
                client.close()
                return self
        finally:
            jack.set_error_function(None)

    def log_text(self) -> str:
        """jackd's output so far (for error messages)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def client(self, name: str):
        """A new ``jack.Client`` on this server (not activated)."""
        return _jack().Client(name, servername=self.name, no_start_server=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Undo :meth:`use`, then terminate jackd (kill it if it does not exit within ``timeout``)."""
        try:
            self._unuse()
        finally:
            self._kill(timeout)

    def _kill(self, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class JackRecorder:
    """A JACK client with audio inputs that records into a preallocated buffer, stamped with JACK frame times.

    Recording starts at :meth:`activate` and stops silently when the buffer (``seconds`` long) is full.
    ``first_frame`` is the JACK frame time of ``audio[0]``, so a sample index converts to a frame time by adding it.
    """

    def __init__(self, servername: str, name: str = "ec-recorder", channels: int = 2, seconds: float = 10.0):
        self._client = _jack().Client(name, servername=servername, no_start_server=True)
        self.samplerate = self._client.samplerate
        self.ports = [self._client.inports.register(f"in_{i + 1}") for i in range(channels)]
        self._buf = np.zeros((int(seconds * self.samplerate), channels), dtype=np.float32)
        self._pos = 0
        self.first_frame: int | None = None
        self._client.set_process_callback(self._process)

    @property
    def name(self) -> str:
        return self._client.name

    def _process(self, frames: int) -> None:  # JACK's thread
        now = self._client.last_frame_time
        if self.first_frame is None:
            self.first_frame = now
        # Placed by frame time, not by count: a cycle the (non-real-time) server skipped stays a gap of zeros
        # instead of shifting everything after it.
        start = now - self.first_frame
        end = min(start + frames, len(self._buf))
        n = end - start
        if n <= 0:
            return
        for ch, port in enumerate(self.ports):
            self._buf[start:end, ch] = port.get_array()[:n]
        self._pos = end

    def activate(self) -> JackRecorder:
        self._client.activate()
        return self

    def connect(self, sources: Iterable[str]) -> None:
        """Connect output ports (names) to our inputs, pairwise (a mono source feeds in_1 only)."""
        for src, dst in zip(sources, self.ports, strict=False):
            self._client.connect(src, dst)

    @property
    def audio(self) -> np.ndarray:
        """What was recorded so far, shape ``(frames, channels)``, floats in [-1, 1]."""
        return self._buf[: self._pos]

    @property
    def frames_recorded(self) -> int:
        return self._pos

    def onset_after(self, frame: int, threshold: float = 0.01) -> int | None:
        """JACK frame time of the first sample at or after ``frame`` whose magnitude exceeds ``threshold``."""
        if self.first_frame is None:
            return None
        start = max(0, frame - self.first_frame)
        loud = np.nonzero(np.abs(self.audio[start:]).max(axis=1) > threshold)[0]
        return None if len(loud) == 0 else self.first_frame + start + int(loud[0])

    def wait_onset(self, frame: int, threshold: float = 0.01, timeout: float = 2.0) -> int | None:
        """Poll :meth:`onset_after` until it finds one or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            onset = self.onset_after(frame, threshold)
            if onset is not None or time.monotonic() > deadline:
                return onset
            time.sleep(0.005)

    def peak_since(self, frame: int) -> float:
        """Largest magnitude recorded from JACK frame ``frame`` on (0.0 if nothing yet)."""
        if self.first_frame is None:
            return 0.0
        part = self.audio[max(0, frame - self.first_frame):]
        return float(np.abs(part).max()) if part.size else 0.0

    def wait_quiet(self, threshold: float = 0.01, quiet_for: float = 0.05, timeout: float = 3.0) -> bool:
        """Wait until the last ``quiet_for`` seconds recorded stay under ``threshold``."""
        need = int(quiet_for * self.samplerate)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.audio[-need:]
            if len(tail) >= need and float(np.abs(tail).max()) <= threshold:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()

    def __enter__(self) -> JackRecorder:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.close()


class JackMidiSender:
    """A JACK MIDI output port that plays the part of a keyboard.

    :meth:`send` hands the bytes to the next JACK cycle, which writes them at offset 0, and returns the JACK
    frame time at which the event went out: the start of the latency measurement.
    """

    def __init__(self, servername: str, name: str = "ec-keys", port: str = "out"):
        self._client = _jack().Client(name, servername=servername, no_start_server=True)
        self.samplerate = self._client.samplerate
        self._port = self._client.midi_outports.register(port)
        self._pending: queue.SimpleQueue = queue.SimpleQueue()
        self._client.set_process_callback(self._process)

    @property
    def port_name(self) -> str:
        """Full JACK name, e.g. ``ec-keys:out``: what MidiInput lists with the JACK backend."""
        return self._port.name

    def _process(self, frames: int) -> None:  # JACK's thread
        self._port.clear_buffer()
        while True:
            try:
                data, done = self._pending.get_nowait()
            except queue.Empty:
                return
            self._port.write_midi_event(0, data)
            done.frame = self._client.last_frame_time
            done.set()

    def activate(self) -> JackMidiSender:
        self._client.activate()
        return self

    def send(self, data: bytes | Sequence[int], timeout: float = 2.0) -> int:
        """Send one MIDI message; return the JACK frame time at which it left."""
        done = threading.Event()
        done.frame = None
        self._pending.put((bytes(data), done))
        if not done.wait(timeout):
            raise TimeoutError("JACK did not run a cycle: is the server alive?")
        return done.frame

    def note_on(self, note: int, velocity: int = 100, channel: int = 0) -> int:
        return self.send([0x90 | channel, note, velocity])

    def note_off(self, note: int, velocity: int = 0, channel: int = 0) -> int:
        return self.send([0x80 | channel, note, velocity])

    def close(self) -> None:
        self._client.deactivate()
        self._client.close()

    def __enter__(self) -> JackMidiSender:
        return self.activate()

    def __exit__(self, *exc) -> None:
        self.close()


def portaudio_output_ports(servername: str, exclude: Sequence[str] = ("system:",)) -> list[str]:
    """Audio output ports of other clients (PortAudio's ``PortAudio:out_0``...) except ``exclude`` prefixes."""
    client = _jack().Client("ec-lister", servername=servername, no_start_server=True)
    try:
        ports = client.get_ports(is_audio=True, is_output=True)
        return [p.name for p in ports if not p.name.startswith(tuple(exclude))]
    finally:
        client.close()


def measure_key_to_sound(
    sender: JackMidiSender,
    recorder: JackRecorder,
    notes: Sequence[int] = (60, 64, 67, 72),
    velocity: int = 100,
    threshold: float = 0.01,
    hold: float = 0.05,
) -> list[float]:
    """Play ``notes`` one by one through whatever listens to ``sender``; return key-to-sound latencies (s).

    Each note waits for silence first (so the onset is this note's), is held ``hold`` seconds and released.
    A note that never sounds raises ``TimeoutError`` (nothing connected, or the app is silent).
    """
    latencies = []
    for note in notes:
        recorder.wait_quiet(threshold)
        sent = sender.note_on(note, velocity)
        onset = recorder.wait_onset(sent, threshold)
        if onset is None:
            sender.note_off(note)
            raise TimeoutError(f"note {note} sent at frame {sent} was never heard")
        latencies.append((onset - sent) / recorder.samplerate)
        time.sleep(hold)
        sender.note_off(note)
    return latencies


# -- the rig in its own process ---------------------------------------------------------------------------------
#
# python-rtmidi holds the GIL while it talks to the JACK server (creating, activating, closing a client), and the
# server waits for every active client to finish a cycle before it answers. A JACK client whose process callback
# is Python (JackMidiSender, JackRecorder, sounddevice's stream) and lives in the same process then cannot get the
# GIL: the whole graph stalls for about a second per rtmidi call (measured: 3 s for one port listing). So the
# "keyboard" and the "ears" of the rig run in a child process, as a real keyboard and recorder would.


class _RigService:
    """Child side of :class:`RigProcess`: owns a sender and a recorder, answers one request at a time."""

    def __init__(self, servername: str, sender_name: str, channels: int, seconds: float):
        self.servername, self.sender_name = servername, sender_name
        self.recorder = JackRecorder(servername, channels=channels, seconds=seconds).activate()
        self.sender: JackMidiSender | None = None
        self.open_sender()

    def open_sender(self) -> str:
        if self.sender is None:
            self.sender = JackMidiSender(self.servername, name=self.sender_name).activate()
        return self.sender.port_name

    def close_sender(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    def info(self) -> dict:
        return {"port_name": self.sender.port_name if self.sender else None,
                "recorder": self.recorder.name, "samplerate": self.recorder.samplerate,
                "first_frame": self.recorder.first_frame, "frames_recorded": self.recorder.frames_recorded}

    def send(self, data: list[int]) -> int:
        return self.sender.send(data)

    def connect(self, sources: list[str]) -> None:
        self.recorder.connect(sources)

    def wait_onset(self, frame: int, threshold: float, timeout: float) -> int | None:
        return self.recorder.wait_onset(frame, threshold, timeout)

    def wait_quiet(self, threshold: float, quiet_for: float, timeout: float) -> bool:
        return self.recorder.wait_quiet(threshold, quiet_for, timeout)

    def peak_since(self, frame: int) -> float:
        return self.recorder.peak_since(frame)

    def close(self) -> None:
        self.close_sender()
        self.recorder.close()


def _serve(argv: Sequence[str]) -> int:
    """``python -m composer_app.bench.jack_rig SERVER SENDER_NAME CHANNELS SECONDS``: JSON lines on stdin/stdout."""
    import json
    import sys

    servername, sender_name, channels, seconds = argv[0], argv[1], int(argv[2]), float(argv[3])
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    service = _RigService(servername, sender_name, channels, seconds)
    out.write(json.dumps({"ok": service.info()}) + "\n")
    out.flush()
    for line in sys.stdin:
        method, args = json.loads(line)
        try:
            reply = {"ok": getattr(service, method)(*args)}
        except Exception as exc:  # report to the parent, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if method == "close":
            break
    return 0


class RigProcess:
    """A JACK MIDI sender (the "keyboard") and an audio recorder (the "ears") in a child process.

    Same methods as :class:`JackMidiSender` and :class:`JackRecorder` for what a latency measurement needs, so
    :func:`measure_key_to_sound` takes it as both. Frame numbers are JACK frame times, shared by all clients.
    """

    def __init__(self, servername: str, sender_name: str = "ec-keys", channels: int = 2, seconds: float = 30.0,
                 python: str | None = None):
        import json
        import sys

        self._json = json
        cmd = [python or sys.executable, "-m", "composer_app.bench.jack_rig",
               servername, sender_name, str(channels), str(seconds)]
        env = {**os.environ, "JACK_DEFAULT_SERVER": servername, "JACK_NO_START_SERVER": "1"}
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self._lock = threading.Lock()
        info = self._reply()
        self.port_name: str | None = info["port_name"]
        self.name: str = info["recorder"]
        self.samplerate: int = info["samplerate"]

    def _reply(self):
        line = self._proc.stdout.readline()
        if not line:
            raise UserError(f"the JACK rig process ended (status {self._proc.poll()}); see its stderr")
        reply = self._json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"JACK rig: {reply['error']}")
        return reply["ok"]

    def _call(self, method: str, *args):
        with self._lock:
            self._proc.stdin.write(self._json.dumps([method, list(args)]) + "\n")
            self._proc.stdin.flush()
            return self._reply()

    # sender
    def send(self, data: bytes | Sequence[int]) -> int:
        """Send one MIDI message; return the JACK frame time at which it left."""
        return self._call("send", list(bytes(data)))

    def note_on(self, note: int, velocity: int = 100, channel: int = 0) -> int:
        return self.send([0x90 | channel, note, velocity])

    def note_off(self, note: int, velocity: int = 0, channel: int = 0) -> int:
        return self.send([0x80 | channel, note, velocity])

    def close_sender(self) -> None:
        """Unplug the keyboard: its JACK port disappears."""
        self._call("close_sender")
        self.port_name = None

    def open_sender(self) -> str:
        """Plug it back in (same port name)."""
        self.port_name = self._call("open_sender")
        return self.port_name

    # recorder
    def connect(self, sources: Iterable[str]) -> None:
        self._call("connect", list(sources))

    @property
    def first_frame(self) -> int | None:
        return self._call("info")["first_frame"]

    @property
    def frames_recorded(self) -> int:
        return self._call("info")["frames_recorded"]

    def wait_onset(self, frame: int, threshold: float = 0.01, timeout: float = 2.0) -> int | None:
        return self._call("wait_onset", frame, threshold, timeout)

    def wait_quiet(self, threshold: float = 0.01, quiet_for: float = 0.05, timeout: float = 3.0) -> bool:
        return self._call("wait_quiet", threshold, quiet_for, timeout)

    def peak_since(self, frame: int) -> float:
        return self._call("peak_since", frame)

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._call("close")
            except (UserError, OSError, RuntimeError):
                pass
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc.stdin.close()
        self._proc.stdout.close()

    def __enter__(self) -> RigProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    import sys

    sys.exit(_serve(sys.argv[1:]))
