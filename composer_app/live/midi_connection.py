"""The MIDI input the engine listens to: which port, its hot-plugging, and how its notes reach the engine.

Notes are **handed from the MIDI input thread to the engine's worker thread** (``handoff``, the default), stamped
on arrival so the hand-over costs no timing. With JACK MIDI, rtmidi calls us inside JACK's process cycle, and a
model step there would stall the whole audio graph.
"""

from __future__ import annotations

from composer_app.errors import UserError
from composer_app.live.midi_ports import port_for, vanished_message


class MidiConnection:
    """Opens, polls and closes the engine's :class:`~composer_app.live.midi_in.MidiInput`.

    ``play(kind, note, velocity, t_ns)`` plays a note event; ``submit(fn, *args)`` runs it on the engine's
    worker thread; ``silence()`` ends the sounding note (the port went away or closed); ``report(text, level)``
    says what happened (status topic 'midi').
    """

    def __init__(self, play, submit, silence, report):
        self._play = play
        self._submit = submit
        self._silence = silence
        self._report = report
        self._input = None
        #: MIDI events go through the worker thread (True) or are played on the MIDI input thread (False).
        self.handoff = True

    def input(self, backend: str | None = None):
        """The :class:`~composer_app.live.midi_in.MidiInput` (made on first use, or anew for another backend);
        list ports with it."""
        from composer_app.live.midi_in import MidiInput

        self._input = port_for(self._input, backend, lambda b: MidiInput(b, on_vanished=self._vanished))
        return self._input

    @property
    def is_open(self) -> bool:
        return self._input is not None and self._input.is_open

    def open(self, port: str | None = None, backend: str | None = None, *, virtual: bool = False) -> str:
        """Listen to ``port`` (None: the first; ``virtual``: a new port other software connects to); returns its
        name. Raises UserError, which is also reported.

        On the JACK backend, open (and close) MIDI while no sound stream runs if you can: python-rtmidi holds
        Python's GIL while JACK waits for a cycle in which our sound callback needs that GIL, so the call can
        stall until JACK's client timeout.
        """
        midi = self.input(backend)
        try:
            name = midi.open(port, self._received, virtual=virtual)
        except UserError as exc:
            self._report(str(exc), "warning")
            raise
        self._report(f"MIDI input: {name}")
        return name

    def poll(self, names: list[str] | None = None, backend: str | None = None) -> tuple[list[str], list[str]]:
        """Hot-plug check (about once a second): ``(appeared, vanished)`` input port names; the open port is
        reopened when it is back. ``names``: ports of ``backend`` just listed (a listing of another backend
        than the open port's is ignored)."""
        if self._input is None or (backend is not None and backend != self._input.backend_name):
            return [], []
        appeared, vanished = self._input.poll_ports(names)
        if self._input.is_open and self._input.port_name in appeared:
            self._report(f"MIDI input: {self._input.port_name} (back)")
        return appeared, vanished

    def close(self) -> None:
        """Stop listening (the sounding note ends)."""
        if self._input is not None:
            self._input.close()
            self._silence()

    def _received(self, kind: str, note: int, velocity: int, timestamp_ns: int) -> None:
        """What ``MidiInput`` calls, on its own thread."""
        if self.handoff:
            self._submit(self._play, kind, note, velocity, timestamp_ns)
        else:
            self._play(kind, note, velocity, timestamp_ns)

    def _vanished(self, name: str) -> None:
        self._silence()
        self._report(vanished_message("input", name), "warning")
