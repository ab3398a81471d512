"""A MIDI keyboard plays the real window like the tap keys; unplugging it is said in the window.

The "keyboard" is a JACK MIDI port of the engine team's rig (a child process) on a private JACK dummy server
(the session's ``jack_server`` fixture; skipped where jackd is not installed).
"""

from __future__ import annotations

from composer_app.bench.jack_rig import RigProcess
from composer_app.live.midi_in import JACK_BACKEND


def test_a_midi_keyboard_plays_and_unplugging_it_is_said(make_window, jack_server, qtbot, tap):
    with RigProcess(jack_server.name, sender_name="ec-gui-keys") as rig:
        window = make_window(midi=True, midi_backend=JACK_BACKEND)
        window.choices.watcher.interval_s = 0.1
        combo = window.midi_panel.combo
        qtbot.waitUntil(lambda: combo.findData(rig.port_name) > 0, timeout=10_000)  # listed in the panel
        window.choices.choose_midi_port(rig.port_name)
        qtbot.waitUntil(lambda: window.engine.status.text("midi").startswith("MIDI input:"), timeout=10_000)
        rig.note_on(64, 90)
        rig.note_off(64)
        rig.note_on(67, 30)
        rig.send([0x90, 67, 0])  # velocity-0 note-on ends it
        qtbot.waitUntil(lambda: len(window.roll.notes) == 2 and window.roll.notes[-1].end is not None,
                        timeout=5000)
        notes = window.engine.take.notes
        assert [(n.source, n.velocity) for n in notes] == [("midi:64", 90), ("midi:67", 30)]
        assert window.tap.last_note == (1, notes[1].pitch)  # the same feedback as a tap
        rig.close_sender()  # unplugged
        qtbot.waitUntil(lambda: window.banner.level == "warning" and "disappeared" in window.banner.message,
                        timeout=10_000)
        qtbot.waitUntil(lambda: "unplugged" in window.midi_panel.combo.currentText(), timeout=5000)
        tap(window, "z")  # the computer keyboard still plays
        assert len(window.engine.take) == 3


class _Daw:
    """A JACK MIDI input that keeps what arrives (what a DAW or a hardware synth would be)."""

    def __init__(self, name: str):
        import rtmidi

        self.port = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name="ec-gui-daw")
        self.port.open_virtual_port(name)
        self.messages = []

    def notes(self):
        import mido

        while (event := self.port.get_message()) is not None:
            self.messages.append(mido.Message.from_bytes(event[0]))
        return [m for m in self.messages if m.type in ("note_on", "note_off")]

    def close(self):
        self.port.close_port()
        self.port.delete()


def test_midi_out_sends_every_note_with_its_note_off_and_the_synth_can_be_muted(make_window, jack_server, qtbot,
                                                                               tap, store):
    daw = _Daw("ec-gui-daw-in")
    window = make_window(midi=True, midi_backend=JACK_BACKEND)
    try:
        window.choices.watcher.interval_s = 0.1
        out = window.midi_panel.out
        qtbot.waitUntil(lambda: any("ec-gui-daw-in" in (out.itemData(i) or "") for i in range(out.count())),
                        timeout=10_000)
        port = next(out.itemData(i) for i in range(out.count()) if "ec-gui-daw-in" in (out.itemData(i) or ""))
        window.choices.choose_midi_out(port, 2)
        qtbot.waitUntil(lambda: window.engine.status.text("midi out").startswith("MIDI out:"), timeout=10_000)
        assert store.get_str("midi/out", "") == port and store.get_int("midi/out_channel", 0) == 2
        tap(window, "z x z")
        window.stop()
        qtbot.waitUntil(lambda: len([m for m in daw.notes() if m.type == "note_off" or m.velocity == 0]) >= 3,
                        timeout=5000)
        notes = daw.notes()
        ons = [m.note for m in notes if m.type == "note_on" and m.velocity > 0]
        assert ons == [n.pitch for n in window.engine.take.notes] and {m.channel for m in notes} == {2}
        window.midi_panel.builtin.setChecked(False)  # an external synth plays: the built-in one is muted
        qtbot.waitUntil(lambda: window.engine.midi_out.builtin_synth is False, timeout=3000)
        assert store.get_bool("sound/builtin_synth", True) is False
        window.choices.choose_midi_out("", 0)
        qtbot.waitUntil(lambda: window.engine.status.text("midi out") == "MIDI out: off", timeout=5000)
    finally:
        window.close()
        daw.close()
