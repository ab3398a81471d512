"""MIDI out through a JACK MIDI loopback: every note that sounds arrives with its note-off, nothing hangs after
Stop, the built-in synth can be switched off, and an unplugged port is reported and reopened."""

from __future__ import annotations

import threading
import time

import mido
import pytest

from composer_app.errors import UserError
from composer_app.live.engine import LiveEngine
from composer_app.live.midi_in import JACK_BACKEND
from composer_app.live.midi_out import VIRTUAL_PORT_NAME, MidiOutput
from composer_app.live.note_sink import CC_ALL_NOTES_OFF, NoteSink

MS = 1_000_000





class Receiver:
    """A JACK MIDI input (what a DAW would be) that keeps every message.

    python-rtmidi polled, without mido's callback: Python code inside JACK's cycle needs the GIL, which rtmidi
    holds while it closes a port, so the engine closing its output would stall until JACK's timeout."""

    def __init__(self, name: str):
        import rtmidi

        self.name = name
        self.messages: list[mido.Message] = []
        self.port = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="ec-test-daw")
        self.port.open_virtual_port(name)

    def _drain(self) -> None:
        while (event := self.port.get_message()) is not None:
            self.messages.append(mido.Message.from_bytes(event[0]))

    def notes(self) -> list[mido.Message]:
        self._drain()
        return [m for m in self.messages if m.type in ("note_on", "note_off")]

    def route_is_live(self) -> bool:
        """Whether the program change sent on opening arrived: a JACK client made anew joins the server's graph at
        a later cycle, and on a busy machine what is sent before that is lost."""
        return self.wait(lambda ms: any(m.type == "program_change" for m in ms))

    def wait(self, cond, timeout=3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain()
            if cond(list(self.messages)):
                return True
            time.sleep(0.01)
        return False

    def close(self):
        self.port.close_port()
        self.port.delete()  # the JACK client goes too, so a new one gets the same name


def hanging(messages) -> set[int]:
    """Notes switched on and never off."""
    on: set[int] = set()
    for m in messages:
        if m.type == "note_on" and m.velocity > 0:
            on.add(m.note)
        elif m.type in ("note_off", "note_on"):
            on.discard(m.note)
    return on


def output_named(eng, part: str) -> str:
    names, reason = eng.midi_out.output(JACK_BACKEND).list_output_ports()
    matching = [n for n in names if part in n]
    assert matching, (names, reason)
    return matching[0]


def test_played_replayed_and_stopped_notes_reach_the_port_with_their_note_offs(jack_server, tmp_path, tiny_model):
    rx = Receiver("ec-daw-in")
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    try:
        eng.set_instrument(40)
        name = eng.midi_out.open(output_named(eng, "ec-daw-in"), JACK_BACKEND, channel=2)
        assert eng.status.text("midi out").startswith("MIDI out:")
        assert rx.route_is_live()
        t = time.perf_counter_ns()
        for k in range(6):  # legato on alternate keys, like the tap keys
            eng.press("key:z" if k % 2 else "key:x", t + k * 80 * MS)
            if k:
                eng.release("key:x" if k % 2 else "key:z", t + k * 80 * MS + 10 * MS)
        eng.release("key:z", t + 6 * 80 * MS)
        eng.press("key:space", t + 600 * MS)  # held ...
        eng.stop()  # ... when Stop is pressed
        assert rx.wait(lambda ms: len([m for m in ms if m.type == "note_on" and m.velocity]) >= 7), rx.messages
        assert rx.wait(lambda ms: not hanging(ms) and any(m.type == "control_change" for m in ms))
        played = [n.pitch for n in eng.take.notes]
        assert [m.note for m in rx.notes() if m.type == "note_on" and m.velocity] == played
        program = [m for m in rx.messages if m.type == "program_change"]  # drained by rx.wait above
        assert program[0].program == 40 and program[0].channel == 2 and {m.channel for m in rx.notes()} == {2}
        assert any(m.type == "control_change" and m.control == CC_ALL_NOTES_OFF for m in rx.messages)
        # Replay (and the Recolour preview, which replays a take) goes out too
        before = len(rx.notes())
        done = threading.Event()
        eng.replayer.finished.connect(done.set)
        eng.replay(speed=4.0)
        assert done.wait(5)
        assert rx.wait(lambda ms: len([m for m in ms if m.type in ("note_on", "note_off")]) >= before + 14)
        assert not hanging(rx.notes()) and name
    finally:
        eng.close()
        rx.close()


def test_the_builtin_synth_can_be_switched_off(jack_server, tmp_path, tiny_model):
    rx = Receiver("ec-ext-synth")
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    try:
        eng.midi_out.open(output_named(eng, "ec-ext-synth"), JACK_BACKEND)
        assert rx.route_is_live()
        eng.midi_out.set_builtin_synth(False)
        ev = eng.press("key:z")
        assert eng.synth.sounding_notes == frozenset()  # the built-in synth is quiet
        assert rx.wait(lambda ms: any(m.type == "note_on" and m.note == ev.pitch for m in ms))
        eng.midi_out.set_builtin_synth(True)
        assert rx.wait(lambda ms: not hanging(ms))  # switching ends the sounding note everywhere
    finally:
        eng.close()
        rx.close()


def test_exit_leaves_nothing_hanging(jack_server, tmp_path, tiny_model):
    rx = Receiver("ec-exit")
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    eng.midi_out.open(output_named(eng, "ec-exit"), JACK_BACKEND)
    assert rx.route_is_live()
    eng.press("key:z")
    eng.close()
    try:
        assert rx.wait(lambda ms: len(ms) >= 3 and not hanging(ms)), rx.messages
    finally:
        rx.close()


def test_a_virtual_port_for_a_daw(jack_server, tmp_path, tiny_model):
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    try:
        assert eng.midi_out.open(backend=JACK_BACKEND, virtual=True) == VIRTUAL_PORT_NAME
        client = jack_server.client("ec-look")
        try:
            ports = [p.name for p in client.get_ports(is_midi=True, is_output=True)]
        finally:
            client.close()
        assert any(p.endswith(":" + VIRTUAL_PORT_NAME) for p in ports), ports
    finally:
        eng.close()


def test_an_unplugged_port_is_reported_and_reopened(jack_server, tmp_path, tiny_model):
    rx = Receiver("ec-unplug")
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    try:
        port = output_named(eng, "ec-unplug")
        eng.midi_out.open(port, JACK_BACKEND)
        eng.midi_out.poll()
        rx.close()  # unplugged
        time.sleep(0.1)
        eng.midi_out.poll()
        assert "disappeared" in eng.status.text("midi out")
        assert eng.press("key:z") is not None  # playing goes on
        eng.stop()
        rx = Receiver("ec-unplug")  # plugged back in
        time.sleep(0.1)
        eng.midi_out.poll()
        assert eng.status.text("midi out").endswith("(back)")
        assert rx.route_is_live()  # reopened
        t = time.perf_counter_ns()
        ev = eng.press("key:x", t + 100 * MS)
        eng.release("key:x", t + 200 * MS)
        assert rx.wait(lambda ms: any(m.type == "note_on" and m.note == ev.pitch for m in ms) and not hanging(ms))
    finally:
        eng.close()
        rx.close()


def test_midi_out_needs_a_real_port_and_channel():
    with pytest.raises(UserError, match="channel"):
        MidiOutput(channel=16)
    assert issubclass(MidiOutput, NoteSink)


class _Recording(NoteSink):
    def __init__(self):
        super().__init__()
        self.calls = []

    def _note_on(self, pitch, velocity):
        self.calls.append(("on", pitch))

    def _note_off(self, pitch):
        self.calls.append(("off", pitch))

    def _panic(self, immediate):
        self.calls.append(("panic", immediate))


def test_reset_is_all_notes_off_and_panic_all_sound_off():
    """mido's words: ``reset`` ends every sounding note, ``panic`` also cuts what still rings."""
    sink = _Recording()
    sink.note_on(64)
    sink.note_on(60)
    sink.reset()
    assert sink.calls[2:] == [("off", 60), ("off", 64), ("panic", False)] and sink.sounding_notes == frozenset()
    sink.note_on(67)
    sink.calls.clear()
    sink.panic()
    assert sink.calls == [("off", 67), ("panic", True)]


def test_the_program_change_is_sent_again_before_the_first_note(monkeypatch):
    """A route made a moment ago can lose what is sent at once (JACK joins a new client at a later cycle): the
    instrument is said again with the first note, and only then."""
    sent = []

    class Port:
        name = "synth"

        def send(self, message):
            sent.append((message.type, getattr(message, "program", getattr(message, "note", None))))

    out = MidiOutput(program=40)
    monkeypatch.setattr(out, "_open", lambda name, virtual, **kwargs: Port())
    out.open("synth")
    out.note_on(60)
    out.note_off(60)
    out.note_on(62)
    assert sent == [("program_change", 40), ("program_change", 40), ("note_on", 60), ("note_off", 60),
                    ("note_on", 62)]


@pytest.mark.parametrize("backend", [JACK_BACKEND, "mido.backends.rtmidi/LINUX_ALSA"])
def test_a_jack_output_closes_only_after_its_last_messages_had_time_to_arrive(monkeypatch, backend):
    """JACK: the port connected to ours reads what we sent later in the cycle rtmidi waits for, so the port
    stays a little after its note-offs (ALSA hands messages over at once: it closes at once)."""
    from composer_app.live import midi_out

    events = []

    class Port:
        name = "daw"

        def send(self, message):
            events.append(message.type)

        def close(self):
            events.append("closed")

    monkeypatch.setattr(midi_out.time, "sleep", lambda s: events.append(("waited", s)))
    out = MidiOutput(backend)
    monkeypatch.setattr(out, "_open", lambda name, virtual, **kwargs: Port())
    out.open("daw")
    out.note_on(60)
    out.close()
    waited = [("waited", midi_out.JACK_DRAIN_S)] if backend == JACK_BACKEND else []
    assert events == ["program_change", "program_change", "note_on", "note_off", "control_change",
                      "control_change", *waited, "closed"]


def test_a_port_of_another_midi_system_replaces_the_open_one(jack_server, tmp_path, tiny_model):
    from composer_app.live.midi_ports import DEFAULT_BACKEND

    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    try:
        eng.midi_out.open(backend=JACK_BACKEND, virtual=True)
        first = eng.midi_out.output()
        assert eng.midi_out.output(JACK_BACKEND) is first and eng.midi_out.is_open  # same system: kept
        other = eng.midi_out.output(DEFAULT_BACKEND)  # the player picked a port of the other system
        assert other is not first and other.backend_name == DEFAULT_BACKEND
        assert first.port_name is None and not first.is_open and not eng.midi_out.is_open  # the old one closed
    finally:
        eng.close()
