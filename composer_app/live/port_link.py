"""The engine's hold on one MIDI port, through hot-plugging and the player's changes of MIDI system.

Why its own module: MIDI in (:class:`~composer_app.live.midi_connection.MidiConnection`) and MIDI out
(:class:`~composer_app.live.midi_out.MidiOutLink`) follow their port the same way — the port object is made
anew when the player picks a port of another MIDI system, opening reports the port or the reason it failed, a
poll about once a second notices the port going away (whatever it was sounding is silenced and the player told)
and coming back, and closing forgets it. :class:`PortLink` writes that once; each direction adds only what
differs (MIDI in: how notes reach the engine; MIDI out: the program, the channel and the note router).
"""

from __future__ import annotations

from collections.abc import Callable

from composer_app.errors import UserError
from composer_app.live.midi_ports import DEFAULT_BACKEND, PluggedPort


class PortLink:
    """One :class:`~composer_app.live.midi_ports.PluggedPort` as the engine uses it.

    ``silence()`` ends whatever sounds (called when the port goes away or closes, so no note is left hanging);
    ``report(text, level='info')`` says what happened ('warning' for a failure or an unplugged port).

    A subclass writes :meth:`_make` (a new port for a backend) and :meth:`_open_port` (open it, with whatever
    that direction needs), and may write :meth:`_detach` (let go of the port before it is replaced or closed).
    """

    #: "input" or "output": the words of the messages.
    direction = "port"
    #: How the reports name this part: "MIDI input: <port>".
    label = "MIDI port"
    #: Reported when a chosen port is closed (None: nothing said).
    closed_text: str | None = None

    def __init__(self, silence: Callable[[], None], report: Callable[..., None]):
        self._silence = silence
        self._report = report
        self._port: PluggedPort | None = None

    def port(self, backend: str | None = None) -> PluggedPort:
        """The port object for ``backend`` (None: whichever is there): made on first use, and made anew (the old
        one closed) when the player picks a port of another MIDI system. List ports with it."""
        current = self._port
        if current is not None and (backend is None or current.backend_name == backend):
            return current
        if current is not None:
            self._detach()
            current.close()
        self._port = self._make(backend or DEFAULT_BACKEND)
        return self._port

    @property
    def is_open(self) -> bool:
        """The port is open now (False before, after closing, and while it is unplugged)."""
        return self._port is not None and self._port.is_open

    @property
    def backend(self) -> str | None:
        """The backend of the port chosen (None: none chosen)."""
        port = self._port
        return port.backend_name if port is not None and port.port_name is not None else None

    def open(self, port: str | None = None, backend: str | None = None, *, virtual: bool = False,
             **options) -> str:
        """Open ``port`` of ``backend`` (None: the first; ``virtual``: a new port other software connects to);
        returns its name. Raises UserError, which is also reported."""
        link = self.port(backend)
        try:
            name = self._open_port(link, port, virtual, **options)
        except UserError as exc:
            self._detach()
            self._report(str(exc), "warning")
            raise
        self._report(self._opened_text(link, name))
        return name

    def poll(self, names: list[str] | None = None, backend: str | None = None) -> tuple[list[str], list[str]]:
        """Hot-plug check (about once a second): ``(appeared, vanished)`` port names since the last poll; the
        open port is reopened when it is back (and that said). ``names``: ports of ``backend`` just listed (a
        listing of another backend than the port's is ignored)."""
        port = self._port
        if port is None or (backend is not None and backend != port.backend_name):
            return [], []
        was_gone = port.port_vanished
        appeared, vanished = port.poll_ports(names)
        if was_gone and port.is_open:
            self._report(f"{self.label}: {port.port_name} (back)")
        return appeared, vanished

    def close(self) -> None:
        """Close the chosen port and forget it (no reopen); what it sounded ends. Nothing chosen: nothing done."""
        port = self._port
        if port is None or port.port_name is None:
            return
        self._detach()
        port.close()
        self._silence()
        if self.closed_text is not None:
            self._report(self.closed_text)

    def _vanished(self, name: str) -> None:
        """The port's ``on_vanished`` (on the polling thread)."""
        self._silence()
        self._report(f"MIDI {self.direction} {name!r} disappeared (unplugged?); it reopens when it is back", "warning")

    # -- hooks --------------------------------------------------------------------------------------------------
    def _make(self, backend: str) -> PluggedPort:
        """A new, closed port object of ``backend``, whose ``on_vanished`` is :meth:`_vanished`."""
        raise NotImplementedError

    def _open_port(self, port: PluggedPort, name: str | None, virtual: bool, **options) -> str:
        """Open ``port`` as asked; returns the opened port's name. Raises UserError."""
        raise NotImplementedError

    def _opened_text(self, port: PluggedPort, name: str) -> str:
        return f"{self.label}: {name}"

    def _detach(self) -> None:
        """Stop using the port (before it is replaced or closed, or when opening it failed)."""
