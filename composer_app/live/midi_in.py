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

The port itself (opening, hot-plug, the two MIDI systems) is :mod:`composer_app.live.midi_ports`'s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from composer_app.live.midi_ports import (  # noqa: F401 - the backends are part of this module's interface
    ALSA_BACKEND,
    DEFAULT_BACKEND,
    JACK_BACKEND,
    PluggedPort,
    jack_midi_ports,
    mido_backend,
)

log = logging.getLogger(__name__)

NoteCallback = Callable[[str, int, int, int], None]


def note_event(msg) -> tuple[str, int, int] | None:
    """``(kind, note, velocity)`` for a mido note message, None for anything else."""
    if msg.type == "note_on" and msg.velocity > 0:
        return "on", msg.note, msg.velocity
    if msg.type == "note_off" or msg.type == "note_on":  # note_on with velocity 0 is a note-off
        return "off", msg.note, msg.velocity if msg.type == "note_off" else 0
    return None


def jack_midi_sources() -> list[str]:
    """Names of JACK MIDI ports a JACK MIDI input can listen to (OSError without a JACK server)."""
    return jack_midi_ports("input")


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

    direction = "input"

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        client_name: str = "everybody-compose",
        on_vanished: Callable[[str], None] | None = None,
        auto_reopen: bool = True,
    ):
        super().__init__(backend, client_name, on_vanished, auto_reopen)
        self._callback: NoteCallback | None = None
        self._lock = threading.Lock()  # open/close vs. poll from different threads; never in the rtmidi callback

    # -- listing ----------------------------------------------------------------------------------------------
    def list_input_ports(self) -> tuple[list[str], str | None]:
        """``(port names, None)``, or ``([], reason)`` when there is no MIDI system; never raises for that."""
        return self.list_names()

    def poll_ports(self, names: list[str] | None = None) -> tuple[list[str], list[str]]:
        """``(appeared, vanished)`` port names since the previous poll (the first poll reports all as appeared);
        ``names``: a listing just made (else one is made).

        Also notices the opened port vanishing: closes it, sets :attr:`port_vanished` and calls ``on_vanished``;
        with ``auto_reopen`` a later poll that sees it again reopens it.
        """
        if names is None:
            names, _ = self.list_input_ports()
        return self.follow(names, self._lock)

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
            self._callback = callback
            return self._open_locked(name, virtual)

    def _open(self, name, virtual, **kwargs):
        return self._mido_backend().open_input(name, virtual=virtual, callback=self._make_handler(self._callback),
                                               **kwargs)

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

    def __enter__(self) -> MidiInput:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
