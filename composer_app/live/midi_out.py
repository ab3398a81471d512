"""MIDI out: the notes that sound also go to a MIDI output port (a DAW, a hardware synth), through mido and rtmidi.

A port is chosen by name, or a virtual port named "Everybody Compose" is made for a DAW to record from (where the
platform has virtual ports: ALSA, JACK, CoreMIDI). Notes go out on one channel after a program change. Stop, a
model or device change, closing and exit send a note-off for each sounding note and all-notes-off on the channel,
so nothing hangs. Like MIDI input, an unplugged port is noticed by :meth:`MidiOutput.poll_ports` and reopened
when it comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from composer_app.errors import UserError
from composer_app.live.midi_ports import DEFAULT_BACKEND, MIDI_ERRORS, PluggedPort, is_jack
from composer_app.live.note_sink import CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF, CC_SUSTAIN, NoteSink
from composer_app.live.port_link import PortLink

log = logging.getLogger(__name__)

VIRTUAL_PORT_NAME = "Everybody Compose"
#: How long a JACK MIDI output stays after its last messages before it is closed. rtmidi waits for its own JACK
#: cycle to take them, but the port connected to it reads them later in that cycle: closed at once, the note-offs
#: of a closing port were lost (2 times in 60 on a busy machine) and a DAW's note hung. A few cycles of the largest
#: usual period (2048 frames at 44.1 kHz is 46 ms); only closing or switching ports waits.
JACK_DRAIN_S = 0.1


class MidiOutput(NoteSink, PluggedPort):
    """One MIDI output port (see the module docstring).

    Parameters
    ----------
    backend : str
        A mido backend name (:data:`~composer_app.live.midi_in.DEFAULT_BACKEND`, or the JACK one).
    channel : int
        MIDI channel 0-15 (shown as 1-16 in most software).
    program : int or None
        General MIDI program sent when the port opens (None: none sent).
    on_vanished : callable, optional
        ``on_vanished(port_name)`` when :meth:`poll_ports` finds the open port gone.
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, channel: int = 0, program: int | None = 0,
                 client_name: str = "everybody-compose", on_vanished: Callable[[str], None] | None = None):
        NoteSink.__init__(self)
        PluggedPort.__init__(self, backend, client_name, on_vanished)
        self.channel = _check_channel(channel)
        self.program = program
        #: The program change sent on opening is sent again before the first note: a JACK route made a moment ago
        #: joins the server's graph at a later cycle, and what is sent before then is lost (measured on a busy
        #: machine), which would leave a synth on another instrument. A second program change costs nothing.
        self._program_owed = False

    direction = "output"

    # -- ports --------------------------------------------------------------------------------------------------
    def list_output_ports(self) -> tuple[list[str], str | None]:
        """``(port names, None)``, or ``([], reason)`` when there is no MIDI system; never raises for that."""
        return self.list_names()

    def open(self, name: str | None = None, *, virtual: bool = False) -> str:
        """Open output ``name`` (None: the first port; with ``virtual``, a new port named ``name`` or
        "Everybody Compose"). The port open before gets all-notes-off and is closed. Raises UserError."""
        if virtual and name is None:
            name = VIRTUAL_PORT_NAME
        with self._sink_lock:
            self._release_all_locked()
            self._close_drained_locked()
            self.closed = False
            return self._open_locked(name, virtual)

    def _open(self, name, virtual, **kwargs):
        return self._mido_backend().open_output(name, virtual=virtual, **kwargs)

    def _opened(self) -> None:
        if self.program is not None:
            self._send("program_change", program=int(self.program))
            self._program_owed = True

    def set_program(self, program: int) -> None:
        """Send a program change now (and on every reopen)."""
        with self._sink_lock:
            self.program = int(program)
            self._send("program_change", program=self.program)

    def set_channel(self, channel: int) -> None:
        """Play on another channel; notes sounding on the old one are released there first."""
        channel = _check_channel(channel)
        with self._sink_lock:
            self._release_all_locked()
            self.channel = channel
            if self.program is not None:
                self._send("program_change", program=int(self.program))

    def poll_ports(self, names: list[str] | None = None) -> tuple[list[str], list[str]]:
        """``(appeared, vanished)`` since the last poll (``names``: a listing just made, else one is made);
        closes the open port if it vanished (``on_vanished``) and reopens it, with its program, when it is
        back."""
        if names is None:
            names, _ = self.list_output_ports()
        return self.follow(names, self._sink_lock, on_lost=self._forget_all_locked)  # the device took its notes

    # -- NoteSink hooks -------------------------------------------------------------------------------------------
    def _note_on(self, pitch: int, velocity: int) -> None:
        if self._program_owed:
            self._program_owed = False
            if self.program is not None:
                self._send("program_change", program=int(self.program))
        self._send("note_on", note=pitch, velocity=velocity)

    def _note_off(self, pitch: int) -> None:
        self._send("note_off", note=pitch, velocity=0)

    def _panic(self, immediate: bool) -> None:
        self._send("control_change", control=CC_SUSTAIN, value=0)
        self._send("control_change", control=CC_ALL_NOTES_OFF, value=0)
        if immediate:
            self._send("control_change", control=CC_ALL_SOUND_OFF, value=0)

    def _close(self) -> None:
        self._close_drained_locked()
        self._port_name = None

    # -- helpers ------------------------------------------------------------------------------------------------
    def _close_drained_locked(self) -> None:
        """Close the port once what was sent to it has reached the other end (see :data:`JACK_DRAIN_S`)."""
        if self._port is not None and is_jack(self.backend_name):
            time.sleep(JACK_DRAIN_S)  # (the GIL is free meanwhile: JACK's cycle may need it)
        self._close_port_locked()

    def _release_all_locked(self, immediate: bool = False) -> None:
        if self._port is not None:
            super()._release_all_locked(immediate)
        else:  # nothing to tell a port that is not there
            self._forget_all_locked()

    def _send(self, kind: str, **fields) -> None:
        port = self._port
        if port is None:
            return
        import mido

        try:
            port.send(mido.Message(kind, channel=self.channel, **fields))
        except MIDI_ERRORS as exc:  # a device pulled out mid-note: poll_ports says so
            log.info("MIDI output %s refused a message: %s", self._port_name, exc)


def _check_channel(channel: int) -> int:
    channel = int(channel)
    if not 0 <= channel <= 15:
        raise UserError(f"MIDI channel must be 1-16 (0-15 counted from 0), not {channel}")
    return channel


class MidiOutLink(PortLink):
    """The engine's MIDI out part: which port the notes also go to, on which channel, and whether the built-in
    synth plays too (the following of the port itself is :class:`~composer_app.live.port_link.PortLink`'s).

    ``router`` is the engine's :class:`~composer_app.live.note_sink.NoteRouter`; ``silence()`` ends whatever
    sounds (called before any switch, so no note is left hanging on either side); ``report(message, level)``
    shows a status line to the player ('info', or 'warning' for a failure); ``program()`` is the instrument
    being played (sent as a program change).

    :meth:`open` takes ``channel`` (0-15, None: the one set before) besides the port: the notes that sound go to
    that port too, after a program change to the instrument; ``virtual`` makes a new port, "Everybody Compose"
    unless named.
    """

    direction = "output"
    label = "MIDI out"
    closed_text = "MIDI out: off"

    def __init__(self, router, silence: Callable[[], None], report: Callable[..., None],
                 program: Callable[[], int]):
        super().__init__(silence, report)
        self._router = router
        self._program = program

    def output(self, backend: str | None = None) -> MidiOutput:
        """The :class:`MidiOutput` (made on first use, or anew for another backend); list ports with it."""
        return self.port(backend)

    def _make(self, backend: str) -> MidiOutput:
        return MidiOutput(backend, program=self._program(), on_vanished=self._vanished)

    def _open_port(self, out: MidiOutput, name: str | None, virtual: bool, channel: int | None = None) -> str:
        self._silence()
        if channel is not None:
            out.set_channel(channel)
        out.program = self._program()
        name = out.open(name, virtual=virtual)
        self._router.midi_out = out
        return name

    def _opened_text(self, out: MidiOutput, name: str) -> str:
        return f"{self.label}: {name} (channel {out.channel + 1})"

    def _detach(self) -> None:
        self._router.midi_out = None

    def set_program(self, program: int) -> None:
        if self._port is not None:
            self._port.set_program(program)

    @property
    def builtin_synth(self) -> bool:
        """Whether the built-in synth plays the notes too."""
        return self._router.synth_enabled

    def set_builtin_synth(self, on: bool) -> None:
        """Play through the built-in synth (True) or only to MIDI out (False: an external synth plays). The
        metronome still clicks on the built-in synth, for the player alone."""
        self._silence()
        self._router.synth_enabled = bool(on)
