"""The MIDI port layer MIDI in and MIDI out share: the two MIDI systems (the platform's own, and JACK), listing
their ports, and one port followed through hot-plugging.

Why one module: opening, closing, reopening after an unplug, the errors rtmidi raises and the words for "your
MIDI system is missing" are the same for an input and an output; :mod:`midi_in` and :mod:`midi_out` only add
what differs (a callback that receives notes, a port that sends them).

Two MIDI systems: the platform's own (:func:`native_backend`: the ALSA sequencer on Linux, CoreMIDI on macOS,
WinMM on Windows, named explicitly so rtmidi never falls back to another API by itself) and JACK MIDI (rtmidi's
``UNIX_JACK`` API), which runs wherever a JACK server runs (jackd, or PipeWire's JACK), also on machines without
``/dev/snd/seq``, and where this python-rtmidi was built with it (Linux and macOS wheels; not Windows').
The player picks a port from one list; JACK ports carry the prefix :data:`JACK_PREFIX` there (and in the saved
settings), so one string says both the system and the port: :func:`port_key` / :func:`parse_port_key`.

JACK and the GIL: python-rtmidi holds the GIL while it opens, activates or closes a JACK client, and the JACK
server meanwhile waits for every active client to finish its cycle; if the same process plays sound through JACK
(sounddevice's callback needs the GIL), the audio stops meanwhile. So JACK ports are listed through libjack with
ctypes, which releases the GIL; opening and closing a port still cost one gap each.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from composer_app.errors import UserError
from composer_app.platform_help import (
    LINUX,
    MACOS,
    WINDOWS,
    current_system,
    jack_start_help,
    no_midi_system_help,
)

log = logging.getLogger(__name__)

#: rtmidi's API for each system's own MIDI layer (mido takes it after a slash: "mido.backends.rtmidi/LINUX_ALSA").
NATIVE_API = {LINUX: "LINUX_ALSA", MACOS: "MACOSX_CORE", WINDOWS: "WINDOWS_MM"}
#: Words in rtmidi's errors that say the system's own MIDI layer failed (not just a port): see no_system_reason.
_NATIVE_ERROR_WORDS = {LINUX: ("ALSA", "seq"), MACOS: ("Core", "OS-X"), WINDOWS: ("WinMM", "Windows MM")}


def native_backend(system: str | None = None) -> str:
    """The mido backend of ``system``'s own MIDI layer (default: this one). Named, not left to rtmidi: with no
    API given rtmidi takes the first compiled API that has ports, which on Linux can be JACK (see above)."""
    return f"mido.backends.rtmidi/{NATIVE_API[system or current_system()]}"


#: The platform's own MIDI system (ALSA sequencer on Linux, CoreMIDI on macOS, WinMM on Windows).
DEFAULT_BACKEND = native_backend()
ALSA_BACKEND = native_backend(LINUX)
#: JACK MIDI: works without any hardware (the tests and the latency bench use it).
JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
#: How a JACK port is shown in the port lists and kept in the settings: "JACK: system:midi_capture_1".
JACK_PREFIX = "JACK: "

#: What rtmidi and mido raise when a MIDI system, port or message is refused (rtmidi.SystemError is an OSError).
MIDI_ERRORS = (OSError, RuntimeError, ImportError, ValueError)



def is_jack(backend: str) -> bool:
    return backend.endswith("UNIX_JACK")


def port_key(backend: str, name: str) -> str:
    """The one string for port ``name`` of ``backend`` shown in the lists and saved: JACK ports prefixed."""
    return JACK_PREFIX + name if is_jack(backend) else name


def parse_port_key(key: str, default: str = DEFAULT_BACKEND) -> tuple[str, str]:
    """``(backend, port name)`` for a key made by :func:`port_key` (an unprefixed key: ``default``)."""
    if key.startswith(JACK_PREFIX):
        return JACK_BACKEND, key[len(JACK_PREFIX):]
    return default, key


@cache
def jack_api_compiled() -> bool:
    """Whether this python-rtmidi can talk to JACK at all (Linux wheels can; others may not)."""
    try:
        import rtmidi

        return rtmidi.API_UNIX_JACK in rtmidi.get_compiled_api()
    except (ImportError, AttributeError):
        return False


def midi_systems() -> list[str]:
    """The backends whose ports the player chooses from: the platform's own, and JACK where rtmidi has it."""
    return [DEFAULT_BACKEND] + ([JACK_BACKEND] if jack_api_compiled() else [])


@cache
def mido_backend(name: str):
    """The mido backend ``name`` (e.g. ``mido.backends.rtmidi``), loaded once for MIDI in and MIDI out."""
    import mido

    return mido.Backend(name, load=True)


# -- JACK port listing through libjack (no GIL held) -------------------------------------------------------------
_JACK_NO_START_SERVER = 0x01
_JACK_PORT_IS_INPUT = 0x01
_JACK_PORT_IS_OUTPUT = 0x02
_JACK_MIDI_TYPE = b"8 bit raw midi"


#: libjack's file where find_library does not find it (JACK2's Windows installer: libjack64.dll).
_LIBJACK_FILE = {LINUX: "libjack.so.0", MACOS: "libjack.0.dylib", WINDOWS: "libjack64.dll"}


@cache
def _libjack():
    name = ctypes.util.find_library("jack") or _LIBJACK_FILE[current_system()]
    lib = ctypes.CDLL(name)  # OSError when libjack is not installed
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.jack_get_ports.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.jack_get_ports.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
    lib.jack_free.argtypes = [ctypes.c_void_p]
    lib.jack_client_close.argtypes = [ctypes.c_void_p]
    # libjack prints "Cannot connect to server socket…" on stderr for every look while no server runs (once a
    # second): the panel says it in words instead, and libjack's own lines go to the debug log (for every user
    # of libjack in this process; they are rare once a server runs). Kept referenced while libjack may call it.
    lib.jack_set_error_function.argtypes = [_JACK_MESSAGE]
    lib.jack_set_error_function(_quiet)
    return lib


_JACK_MESSAGE = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_quiet = _JACK_MESSAGE(lambda text: log.debug("libjack: %s", (text or b"").decode(errors="replace")))


def jack_midi_ports(direction: str) -> list[str]:
    """JACK MIDI ports rtmidi's JACK ``direction`` ("input": ports that send, "output": ports that receive)
    can open. Raises OSError when libjack is missing or no JACK server runs."""
    lib = _libjack()
    status = ctypes.c_int(0)
    client = lib.jack_client_open(b"ec-midi-lister", _JACK_NO_START_SERVER, ctypes.byref(status))
    if not client:
        raise OSError(f"JACK server not running? (jack_client_open status 0x{status.value:x})")
    flags = _JACK_PORT_IS_OUTPUT if direction == "input" else _JACK_PORT_IS_INPUT
    try:
        ports = lib.jack_get_ports(client, None, _JACK_MIDI_TYPE, flags)
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


# -- listing -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PortList:
    """One look at a MIDI system's ports: ``names``, or none and ``reason`` (words for the player);
    ``no_system`` when the system itself is missing (no ALSA sequencer, no JACK server), not just its ports."""

    names: tuple[str, ...] = ()
    reason: str | None = None
    no_system: bool = False


def list_ports(backend: str, direction: str, loaded=None) -> PortList:
    """The ``direction`` ("input" or "output") ports of ``backend`` (``loaded``: that mido backend, if at hand);
    a missing MIDI system is a reason, never an exception."""
    try:
        if is_jack(backend):
            if not jack_api_compiled():
                raise OSError("this python-rtmidi was built without JACK")
            names = jack_midi_ports(direction)
        else:
            loaded = loaded or mido_backend(backend)
            names = list(loaded.get_input_names() if direction == "input" else loaded.get_output_names())
    except MIDI_ERRORS as exc:
        return PortList((), no_system_reason(exc, backend, direction), True)
    if names:
        return PortList(tuple(names))
    if direction == "input":
        return PortList((), "no MIDI input ports: is a MIDI keyboard connected and switched on?")
    return PortList((), "no MIDI output ports")


def no_system_reason(exc: BaseException, backend: str, direction: str) -> str:
    """What is missing, in words a musician can act on, for rtmidi's error ``exc`` (its own text, such as
    "MidiOutAlsa::initialize: error creating ALSA sequencer client object", tells them nothing)."""
    text = str(exc).strip() or type(exc).__name__
    if is_jack(backend) or "Jack" in text:
        return f"no JACK MIDI {direction}: no JACK server is running; {jack_start_help()}"
    if any(word.lower() in text.lower() for word in _NATIVE_ERROR_WORDS[current_system()]):
        return f"no MIDI {direction}: {no_midi_system_help()}"
    return f"no MIDI {direction}: {text}"


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
    """One port of a mido backend, opened by name or as a virtual port, and followed through hot-plugging
    (closed when it vanishes, reopened when it is back). Shaped like mido's ports: a subclass writes the hooks
    ``_open(name, virtual, **kwargs)`` (returns the mido port) and ``_opened()`` (just after (re)opening);
    opening, closing and following are written here once. The caller holds the subclass's lock around the
    ``*_locked`` methods."""

    #: "input" or "output", for messages and listing.
    direction = "port"

    def __init__(self, backend: str, client_name: str, on_vanished: Callable[[str], None] | None,
                 auto_reopen: bool = True):
        self.backend_name = backend
        self.client_name = client_name
        self.on_vanished = on_vanished
        self.auto_reopen = auto_reopen
        self.reason: str | None = None  # why the last listing found no port (or no MIDI system)
        self.no_system = False  # the last listing found no MIDI system at all (not just no port)
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

    def list_names(self) -> tuple[list[str], str | None]:
        """``(port names, None)``, or ``([], reason)`` when there is no MIDI system; never raises for that."""
        found = list_ports(self.backend_name, self.direction, None if is_jack(self.backend_name)
                           else self._mido_backend())
        self.reason, self.no_system = found.reason, found.no_system
        return list(found.names), (found.reason if found.no_system else None)

    def _open_locked(self, name: str | None, virtual: bool) -> str:
        kwargs = {"client_name": self.client_name} if virtual else {}
        try:
            port = self._open(name, virtual, **kwargs)
        except MIDI_ERRORS as exc:
            log.info("opening MIDI %s %r failed: %s", self.direction, name, exc)
            raise UserError(f"cannot open MIDI {self.direction} {name!r}: "
                            f"{no_system_reason(exc, self.backend_name, self.direction)}") from exc
        self._port, self._port_name, self._virtual = port, name if virtual and name else port.name, virtual
        self.port_vanished = False
        self._opened()
        return self._port_name

    def _close_port_locked(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # closing a port whose device is gone may fail; it is gone either way
                log.debug("closing MIDI %s failed", self.direction, exc_info=True)

    def follow(self, names: list[str], lock, on_lost: Callable[[], None] | None = None) -> tuple[list[str], list[str]]:
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
                        self._open_locked(name, False)
                    except UserError as exc:
                        log.info("could not reopen MIDI %s %s: %s", self.direction, name, exc)
        if lost is not None and self.on_vanished is not None:
            self.on_vanished(lost)
        return appeared, vanished

    # -- hooks --------------------------------------------------------------------------------------------------
    def _open(self, name: str | None, virtual: bool, **kwargs):
        raise NotImplementedError

    def _opened(self) -> None:
        pass
