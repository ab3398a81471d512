"""The rig's keyboard and ears in a child process, called through one generic forwarding path.

python-rtmidi holds the GIL while it talks to the JACK server (creating, activating, closing a client), and the
server waits for every active client to finish a cycle before it answers. A JACK client whose process callback
is Python (JackMidiSender, JackRecorder, sounddevice's stream) and lives in the same process then cannot get the
GIL: the whole graph stalls for about a second per rtmidi call (measured: 3 s for one port listing). So the
"keyboard" and the "ears" of the rig run in a child process, as a real keyboard and recorder would.

The protocol is one JSON line each way: ``[part, method, args, kwargs]`` asks the child to run
``getattr(part, method)(*args, **kwargs)`` on its sender, its recorder or itself, and ``{"ok": result}`` or
``{"error": text}`` comes back. Each method is written once, on :class:`JackMidiSender` or
:class:`JackRecorder` (their defaults included); :data:`FORWARDED` only says which part answers which name.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

from composer_app.bench.jack_rig.recorder import JackRecorder
from composer_app.bench.jack_rig.sender import JackMidiSender
from composer_app.errors import UserError

#: What :class:`RigProcess` forwards, and to which part of the child: its ``sender``, its ``recorder``, or the
#: ``rig`` itself (plugging the keyboard in and out, reading its state).
FORWARDED = {
    "send": "sender", "note_on": "sender", "note_off": "sender",
    "connect": "recorder", "wait_onset": "recorder", "wait_quiet": "recorder", "peak_since": "recorder",
    "open_sender": "rig", "close_sender": "rig", "info": "rig",
}


class RigService:
    """Child side of :class:`RigProcess`: owns a sender and a recorder, answers one request at a time."""

    def __init__(self, servername: str, sender_name: str, channels: int, seconds: float):
        self.servername, self.sender_name = servername, sender_name
        self.recorder = JackRecorder(servername, channels=channels, seconds=seconds).activate()
        self.sender: JackMidiSender | None = None
        self.open_sender()

    def open_sender(self) -> str:
        """Plug the keyboard in (again, under the same port name)."""
        if self.sender is None:
            self.sender = JackMidiSender(self.servername, name=self.sender_name).activate()
        return self.sender.port_name

    def close_sender(self) -> None:
        """Unplug the keyboard: its JACK port disappears."""
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    def info(self) -> dict:
        return {"port_name": self.sender.port_name if self.sender else None,
                "recorder": self.recorder.name, "samplerate": self.recorder.samplerate,
                "first_frame": self.recorder.first_frame, "frames_recorded": self.recorder.frames_recorded}

    def answer(self, part: str, method: str, args: list, kwargs: dict):
        """Run one forwarded call: ``method`` of the ``part`` named (``rig`` is this service)."""
        target = self if part == "rig" else getattr(self, part)
        return getattr(target, method)(*args, **kwargs)

    def close(self) -> None:
        self.close_sender()
        self.recorder.close()


def serve(argv: Sequence[str]) -> int:
    """``python -m composer_app.bench.jack_rig SERVER SENDER_NAME CHANNELS SECONDS``: JSON lines on stdin/stdout."""
    servername, sender_name, channels, seconds = argv[0], argv[1], int(argv[2]), float(argv[3])
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed by libraries must not corrupt the protocol
    service = RigService(servername, sender_name, channels, seconds)
    out.write(json.dumps({"ok": service.info()}) + "\n")
    out.flush()
    for line in sys.stdin:
        part, method, args, kwargs = json.loads(line)
        try:
            reply = {"ok": service.answer(part, method, args, kwargs)}
        except Exception as exc:  # report to the parent, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if method == "close":
            break
    return 0


class RigProcess:
    """A JACK MIDI sender (the "keyboard") and an audio recorder (the "ears") in a child process.

    Answers the methods of :class:`JackMidiSender` and :class:`JackRecorder` named in :data:`FORWARDED` (same
    arguments, same defaults: the child runs the real ones), so :func:`measure_key_to_sound` takes it as both.
    Frame numbers are JACK frame times, shared by all clients. MIDI bytes travel as a list of ints.
    """

    def __init__(self, servername: str, sender_name: str = "ec-keys", channels: int = 2, seconds: float = 30.0,
                 python: str | None = None):
        cmd = [python or sys.executable, "-m", "composer_app.bench.jack_rig",
               servername, sender_name, str(channels), str(seconds)]
        env = {**os.environ, "JACK_DEFAULT_SERVER": servername, "JACK_NO_START_SERVER": "1"}
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self._lock = threading.Lock()
        info = self._reply()
        self.name: str = info["recorder"]
        self.samplerate: int = info["samplerate"]

    def __getattr__(self, method: str):
        """A forwarded method (see :data:`FORWARDED`), called in the child."""
        part = FORWARDED.get(method)
        if part is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {method!r}")
        return functools.partial(self._call, part, method)

    def _reply(self):
        line = self._proc.stdout.readline()
        if not line:
            raise UserError(f"the JACK rig process ended (status {self._proc.poll()}); see its stderr")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"JACK rig: {reply['error']}")
        return reply["ok"]

    def _call(self, part: str, method: str, *args, **kwargs):
        args = [list(a) if isinstance(a, bytes | bytearray) else a for a in args]
        with self._lock:
            self._proc.stdin.write(json.dumps([part, method, args, kwargs]) + "\n")
            self._proc.stdin.flush()
            return self._reply()

    @property
    def port_name(self) -> str | None:
        """The keyboard's full JACK port name (None while unplugged)."""
        return self.info()["port_name"]

    @property
    def first_frame(self) -> int | None:
        return self.info()["first_frame"]

    @property
    def frames_recorded(self) -> int:
        return self.info()["frames_recorded"]

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._call("rig", "close")
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
