"""A private ``jackd``: started with a unique name, waited for until it takes clients, and always stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

from composer_app.bench.jack_rig.lib import load_jack
from composer_app.bench.jack_rig.portaudio import refresh_portaudio
from composer_app.errors import UserError
from composer_app.platform_help import JACK, install_hint


def _die_with_parent():
    """A ``preexec_fn`` that makes the child get SIGTERM when we die, or None where that is not possible.

    Without it a test run that is killed (timeout, Ctrl-C twice, a crash in a native library) leaves its jackd
    running, and JACK refuses to start a ninth server ("Too many servers already active": measured). Linux
    sends the signal when the *thread* that started the child exits, so this is used from the main thread only.
    """
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
        refresh_portaudio()
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
        refresh_portaudio()

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
        jack = load_jack()
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
        return load_jack().Client(name, servername=self.name, no_start_server=True)

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
