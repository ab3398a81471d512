"""The MIDI input the engine listens to: which port, its hot-plugging, and how its notes reach the engine.

Notes are **handed from the MIDI input thread to the engine's worker thread** (``handoff``, the default), stamped
on arrival so the hand-over costs no timing. With JACK MIDI, rtmidi calls us inside JACK's process cycle, and a
model step there would stall the whole audio graph.
"""

from __future__ import annotations

from composer_app.live.midi_in import MidiInput
from composer_app.live.port_link import PortLink


class MidiConnection(PortLink):
    """Opens, polls and closes the engine's :class:`~composer_app.live.midi_in.MidiInput` (the following itself is
    :class:`~composer_app.live.port_link.PortLink`'s).

    ``play(kind, note, velocity, t_ns)`` plays a note event; ``submit(fn, *args)`` runs it on the engine's
    worker thread; ``silence()`` ends the sounding note (the port went away or closed); ``report(text, level)``
    says what happened (status topic 'midi').

    On the JACK backend, open (and close) MIDI while no sound stream runs if you can: python-rtmidi holds Python's
    GIL while JACK waits for a cycle in which our sound callback needs that GIL, so the call can stall until
    JACK's client timeout.
    """

    direction = "input"
    label = "MIDI input"

    def __init__(self, play, submit, silence, report):
        super().__init__(silence, report)
        self._play = play
        self._submit = submit
        #: MIDI events go through the worker thread (True) or are played on the MIDI input thread (False).
        self.handoff = True

    def input(self, backend: str | None = None) -> MidiInput:
        """The :class:`~composer_app.live.midi_in.MidiInput` (made on first use, or anew for another backend);
        list ports with it."""
        return self.port(backend)

    def _make(self, backend: str) -> MidiInput:
        return MidiInput(backend, on_vanished=self._vanished)

    def _open_port(self, port: MidiInput, name: str | None, virtual: bool) -> str:
        return port.open(name, self._received, virtual=virtual)

    def _received(self, kind: str, note: int, velocity: int, timestamp_ns: int) -> None:
        """What ``MidiInput`` calls, on its own thread."""
        if self.handoff:
            self._submit(self._play, kind, note, velocity, timestamp_ns)
        else:
            self._play(kind, note, velocity, timestamp_ns)
