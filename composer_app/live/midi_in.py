"""MIDI keyboard input through mido and python-rtmidi, reduced to note on/off events.

Contract of the note callback
-----------------------------
``callback(kind, note, velocity, timestamp_ns)`` with ``kind`` ``'on'`` or ``'off'`` runs **on rtmidi's own
thread**, not the caller's: it must return quickly and hand the event to the engine's thread (a queue, a Qt
signal). ``timestamp_ns`` is ``time.perf_counter_ns()`` taken as the message arrives, the same clock the rest of
the app uses, so timing is measured from arrival rather than from when a busy thread gets round to it. A
``note_on`` with velocity 0 is a note-off (running-status keyboards send those); all other messages are dropped.

No MIDI system (no ``/dev/snd/seq``, no JACK server) is a normal situation, not an error: listing returns ``[]``
with a reason the GUI can show, and the computer keyboard keeps working.

Hot-plug: rtmidi does not announce new or vanished ports, so :meth:`MidiInput.poll_ports` compares the port list
with the previous poll (call it every second or so from a GUI timer) and notices when the opened port is gone.

JACK and the GIL: python-rtmidi holds the GIL while it opens, activates or closes a JACK client, and the JACK
server meanwhile waits for every active client to finish its cycle; if the same process plays sound through JACK
(sounddevice's callback needs the GIL), the audio stops meanwhile. So with the JACK backend the port list comes
from libjack through ctypes, which releases the GIL; opening and closing a port still cost one gap each, so open
the MIDI port before starting JACK sound (the ALSA backend, the default, has no such problem).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache

from composer_app.errors import UserError

log = logging.getLogger(__name__)

#: rtmidi with the platform's default API (ALSA sequencer on Linux, CoreMIDI on macOS, WinMM on Windows).
DEFAULT_BACKEND = "mido.backends.rtmidi"
ALSA_BACKEND = "mido.backends.rtmidi/LINUX_ALSA"
#: JACK MIDI: what the tests and the latency bench use, because JACK runs without any hardware.
JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"

NoteCallback = Callable[[str, int, int, int], None]


def note_event(msg) -> tuple[str, int, int] | None:
    """``(kind, note, velocity)`` for a mido note message, None for anything else."""
    if msg.type == "note_on" and msg.velocity > 0:
        return "on", msg.note, msg.velocity
    if msg.type == "note_off" or msg.type == "note_on":  # note_on with velocity 0 is a note-off
        return "off", msg.note, msg.velocity if msg.type == "note_off" else 0
    return None


_JACK_NO_START_SERVER = 0x01
_JACK_PORT_IS_OUTPUT = 0x02
_JACK_MIDI_TYPE = b"8 bit raw midi"
_libjack = None


def _load_libjack():
    global _libjack
    if _libjack is None:
        name = ctypes.util.find_library("jack") or "libjack.so.0"
        lib = ctypes.CDLL(name)  # OSError when libjack is not installed
        lib.jack_client_open.restype = ctypes.c_void_p
        lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.jack_get_ports.restype = ctypes.POINTER(ctypes.c_char_p)
        lib.jack_get_ports.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
        lib.jack_free.argtypes = [ctypes.c_void_p]
        lib.jack_client_close.argtypes = [ctypes.c_void_p]
        _libjack = lib
    return _libjack


def jack_midi_sources() -> list[str]:
    """Names of JACK MIDI output ports (what rtmidi's JACK input can open), via libjack without the GIL.

    Raises OSError when libjack is missing or no JACK server runs (the same as rtmidi's ``SystemError``).
    """
    lib = _load_libjack()
    status = ctypes.c_int(0)
    client = lib.jack_client_open(b"ec-midi-lister", _JACK_NO_START_SERVER, ctypes.byref(status))
    if not client:
        raise OSError(f"JACK server not running? (jack_client_open status 0x{status.value:x})")
    try:
        ports = lib.jack_get_ports(client, None, _JACK_MIDI_TYPE, _JACK_PORT_IS_OUTPUT)
        names = []
        if ports:
            i = 0
            while ports[i] is not None:
                names.append(ports[i].decode(errors="replace"))
                i += 1
            lib.jack_free(ctypes.cast(ports, ctypes.c_void_p))
        return names
    finally:
        lib.jack_client_close(client)


@cache
def mido_backend(name: str):
    """The mido backend ``name`` (e.g. ``mido.backends.rtmidi``), loaded once for MIDI in and MIDI out."""
    import mido

    return mido.Backend(name, load=True)


class PortWatch:
    """Port names that appeared and vanished between two looks at a port list (hot-plug); the first look
    reports every port as appeared."""

    def __init__(self):
        self._known: set[str] | None = None

    def update(self, names: Iterable[str]) -> tuple[set[str], list[str], list[str]]:
        """``(current names, appeared, vanished)``, each list sorted."""
        current = set(names)
        before = self._known if self._known is not None else set()
        self._known = current
        return current, sorted(current - before), sorted(before - current)


class PluggedPort:
    """What MIDI input and output share: one port of a mido backend, opened by name or as a virtual port, and
    followed through hot-plugging (closed when it vanishes, reopened when it is back). A subclass writes
    ``_reopen_locked(name)`` and ``_close_port_locked()``."""

    #: "input" or "output", for messages.
    direction = "port"

    def __init__(self, backend: str, client_name: str, on_vanished: Callable[[str], None] | None,
                 auto_reopen: bool = True):
        self.backend_name = backend
        self.client_name = client_name
        self.on_vanished = on_vanished
        self.auto_reopen = auto_reopen
        self.reason: str | None = None  # why the last listing found no port (or no MIDI system)
        self.port_vanished = False
        self._port = None
        self._port_name: str | None = None
        self._virtual = False
        self._ports = PortWatch()

    def _mido_backend(self):
        return mido_backend(self.backend_name)

    @property
    def port_name(self) -> str | None:
        """The port asked for in ``open`` (kept after it vanished, for reopening)."""
        return self._port_name

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def _follow(self, names: list[str], lock, on_lost: Callable[[], None] | None = None) -> tuple[list[str], list[str]]:
        """``(appeared, vanished)`` port names since the last look; the opened port, if it vanished, is closed
        (``on_lost`` first, under ``lock``), :attr:`port_vanished` set and ``on_vanished`` called; with
        ``auto_reopen`` it is reopened when a later look sees it again."""
        current, appeared, vanished = self._ports.update(names)
        lost = None
        with lock:
            name = self._port_name
            if name is not None and not self._virtual:
                if self._port is not None and name not in current:
                    if on_lost is not None:
                        on_lost()
                    self._close_port_locked()
                    self.port_vanished, lost = True, name
                elif self._port is None and self.port_vanished and name in current and self.auto_reopen:
                    try:
                        self._reopen_locked(name)
                    except UserError as exc:
                        log.info("could not reopen MIDI %s %s: %s", self.direction, name, exc)
        if lost is not None and self.on_vanished is not None:
            self.on_vanished(lost)
        return appeared, vanished

    def _reopen_locked(self, name: str) -> None:
        raise NotImplementedError

    def _close_port_locked(self) -> None:
        raise NotImplementedError


def _no_midi_reason(exc: BaseException, backend: str) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "JACK" in backend:
        return f"no MIDI input: the JACK server is not running ({text})"
    if "ALSA" in text or "seq" in text:
        return (
            "no MIDI input: the ALSA sequencer is not available (load the snd-seq kernel module, "
            f"check access to /dev/snd/seq) ({text})"
        )
    return f"no MIDI input: {text}"


class MidiInput(PluggedPort):
    """One open MIDI input port at a time, plus port listing and hot-plug polling.

    Parameters
    ----------
    backend : str
        A mido backend name: :data:`DEFAULT_BACKEND` (ALSA on Linux) or :data:`JACK_BACKEND`.
    client_name : str
        How our client appears to other MIDI software (``aconnect -l``, JACK patchbays).
    on_vanished : callable, optional
        ``on_vanished(port_name)`` when :meth:`poll_ports` finds the opened port gone (called on the thread
        that polls).
    auto_reopen : bool
        Reopen the port, with the same callback, when a later poll sees it back (keyboard re-plugged).
    """

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        client_name: str = "everybody-compose",
        on_vanished: Callable[[str], None] | None = None,
        auto_reopen: bool = True,
    ):
        super().__init__(backend, client_name, on_vanished, auto_reopen)
        self.no_system = False  # the last listing found no MIDI system at all (not just no port)
        self._callback: NoteCallback | None = None
        self._lock = threading.Lock()  # open/close vs. poll from different threads; never in the rtmidi callback

    # -- listing ----------------------------------------------------------------------------------------------
    def list_input_ports(self) -> tuple[list[str], str | None]:
        """``(port names, None)``, or ``([], reason)`` when there is no MIDI system; never raises for that."""
        try:
            if self.backend_name.endswith("UNIX_JACK"):
                names = jack_midi_sources()
            else:
                names = list(self._mido_backend().get_input_names())
        except (OSError, RuntimeError, ImportError, ValueError) as exc:  # rtmidi.SystemError is an OSError
            self.reason = _no_midi_reason(exc, self.backend_name)
            self.no_system = True
            return [], self.reason
        self.no_system = False
        self.reason = None if names else "no MIDI input ports: is a MIDI keyboard connected and switched on?"
        return names, None

    def poll_ports(self) -> tuple[list[str], list[str]]:
        """``(appeared, vanished)`` port names since the previous poll (the first poll reports all as appeared).

        Also notices the opened port vanishing: closes it, sets :attr:`port_vanished` and calls ``on_vanished``;
        with ``auto_reopen`` a later poll that sees it again reopens it.
        """
        names, _ = self.list_input_ports()
        return self._follow(names, self._lock)

    # -- opening ----------------------------------------------------------------------------------------------
    def open(self, name: str | None, callback: NoteCallback, *, virtual: bool = False) -> str:
        """Open input port ``name`` (None = the first one) and deliver its notes to ``callback``.

        ``virtual=True`` creates a port named ``name`` that other software connects to (``aconnect``, JACK).
        Any port opened before is closed first. Returns the opened port's name.

        Raises
        ------
        UserError
            The port does not exist or the MIDI system is missing, in words for the user.
        """
        with self._lock:
            self._close_port_locked()
            return self._open_locked(name, callback, virtual=virtual)

    def _reopen_locked(self, name: str) -> None:
        self._open_locked(name, self._callback, virtual=False)

    def _open_locked(self, name, callback, *, virtual):
        kwargs = {"client_name": self.client_name} if virtual else {}
        try:
            port = self._mido_backend().open_input(name, virtual=virtual, callback=self._make_handler(callback),
                                                   **kwargs)
        except (OSError, RuntimeError, ImportError, ValueError) as exc:
            raise UserError(f"cannot open MIDI input {name!r}: {exc}") from exc
        self._port, self._port_name, self._virtual = port, port.name, virtual
        self._callback = callback
        self.port_vanished = False
        return port.name

    @staticmethod
    def _make_handler(callback: NoteCallback):
        def handle(msg) -> None:  # runs on rtmidi's thread
            stamp = time.perf_counter_ns()
            event = note_event(msg)
            if event is None:
                return
            try:
                callback(event[0], event[1], event[2], stamp)
            except Exception:  # an exception would otherwise vanish inside rtmidi's thread
                log.exception("MIDI note callback failed")

        return handle

    def close(self) -> None:
        """Close the port (forgetting it, so no reopen). Safe to call twice."""
        with self._lock:
            self._close_port_locked()
            self._port_name = None
            self._callback = None
            self.port_vanished = False

    def _close_port_locked(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a port whose device is gone may fail; it is gone either way
                log.debug("closing MIDI port failed", exc_info=True)

    def __enter__(self) -> MidiInput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
