"""A MIDI keyboard plays the real window like the tap keys; unplugging it is said in the window; MIDI out.

The "keyboard" is a JACK MIDI port of the engine team's rig (a child process) on a private JACK dummy server
(the session's ``jack_server`` fixture; skipped where jackd is not installed). The window runs as the app does
(every MIDI system; this machine has no ALSA sequencer), so the JACK ports are the ones listed "JACK: …".
"""

from __future__ import annotations

from composer_app.bench.jack_rig import RigProcess
from composer_app.live.midi_ports import JACK_PREFIX


def test_a_midi_keyboard_plays_and_unplugging_it_is_said(make_window, jack_server, qtbot, tap, store):
    with RigProcess(jack_server.name, sender_name="ec-gui-keys") as rig:
        window = make_window(midi=True)
        window.choices.watcher.interval_s = 0.1
        combo = window.midi_panel.combo
        key = JACK_PREFIX + rig.port_name
        qtbot.waitUntil(lambda: combo.findData(key) > 0, timeout=10_000)  # listed in the panel, as JACK
        assert combo.itemText(combo.findData(key)) == key
        window.choices.choose_midi_port(key)
        qtbot.waitUntil(lambda: window.engine.status.text("midi").startswith("MIDI input:"), timeout=10_000)
        assert store.get_str("midi/port", "") == key  # remembered, with its MIDI system
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


def _wait_listed(qtbot, combo, part: str) -> str:
    """The key of the first entry of ``combo`` whose port name holds ``part``, once it is listed."""

    def keys():
        return [combo.itemData(i) or "" for i in range(combo.count())]

    qtbot.waitUntil(lambda: any(part in k for k in keys()), timeout=10_000)
    return next(k for k in keys() if part in k)


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
    window = make_window(midi=True)
    try:
        window.choices.watcher.interval_s = 0.1
        out = window.midi_panel.out
        port = _wait_listed(qtbot, out, "ec-gui-daw-in")
        assert port.startswith(JACK_PREFIX)
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


def _keys(combo) -> list[str]:
    return [combo.itemData(i) or "" for i in range(combo.count())]


def test_without_a_jack_server_the_panel_says_how_to_get_one(make_window, qtbot, monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "ec-no-such-server")  # libjack finds no server of that name
    window = make_window(midi=True)
    window.choices.watcher.interval_s = 0.1
    status = window.midi_panel.status
    qtbot.waitUntil(lambda: "JACK" in status.toolTip(), timeout=10_000)
    qtbot.waitUntil(lambda: window.choices.watcher.outputs is not None, timeout=10_000)
    text = status.toolTip()  # the whole line (the label itself may be cut with "…")
    assert "no JACK server is running" in text and "jackd" in text and "pw-jack" in text
    assert "computer keyboard plays" in text
    # no dead entries: nothing JACK to choose while no JACK server runs
    assert not [k for k in _keys(window.midi_panel.combo) + _keys(window.midi_panel.out) if k.startswith(JACK_PREFIX)]


def test_remembered_jack_ports_without_jack_are_said_calmly_once(make_window, qtbot, store, monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "ec-no-such-server")
    store.set("midi/port", JACK_PREFIX + "keys:midi_out")  # chosen last time, when JACK ran
    store.set("midi/out", JACK_PREFIX + "synth:midi_in")
    window = make_window(midi=True)
    qtbot.waitUntil(lambda: "MIDI out is off this time" in window.banner.message, timeout=10_000)
    assert window.banner.level == "info" and "no JACK server is running" in window.banner.message
    assert "MidiOutJack" not in window.banner.message
    assert store.get_str("midi/out", "") == "" and window.midi_panel.out.currentData() == ""  # fell back
    status = window.midi_panel.status
    qtbot.waitUntil(lambda: "plays as soon as it is there" in status.toolTip(), timeout=10_000)
    assert "keys:midi_out" in status.toolTip() and "jackd" in status.toolTip()
    assert store.get_str("midi/port", "") == JACK_PREFIX + "keys:midi_out"  # still wished for, calmly
    assert window.banner.level == "info"  # no red error at start


def test_no_midi_leaves_midi_out_working(make_window, jack_server, qtbot, tap):
    """``--no-midi`` turns off MIDI input only: MIDI out is listed (from when its list is opened) and plays."""
    daw = _Daw("ec-nomidi-daw")
    window = make_window(midi=False)
    try:
        panel = window.midi_panel
        assert not panel.combo.isEnabled() and panel.out.isEnabled() and panel.channel.isEnabled()
        assert "--no-midi" in panel.status.text() and "MIDI out still works" in panel.status.text()
        assert window.choices.watcher is None  # no MIDI thread until MIDI out is asked for
        panel.out.showPopup()  # the player opens the MIDI out list
        qtbot.waitUntil(lambda: window.choices.watcher is not None, timeout=5000)
        port = _wait_listed(qtbot, panel.out, "ec-nomidi-daw")
        panel.out.hidePopup()
        assert port.startswith(JACK_PREFIX) and JACK_PREFIX + "<virtual>" in _keys(panel.out)
        panel.out.setCurrentIndex(panel.out.findData(port))
        panel.out.activated.emit(panel.out.currentIndex())  # chosen as a click would
        qtbot.waitUntil(lambda: window.engine.status.text("midi out").startswith("MIDI out:"), timeout=10_000)
        tap(window, "z x")
        window.stop()
        qtbot.waitUntil(lambda: len([m for m in daw.notes() if m.type == "note_off" or m.velocity == 0]) >= 2,
                        timeout=5000)
        ons = [m.note for m in daw.notes() if m.type == "note_on" and m.velocity > 0]
        assert ons == [n.pitch for n in window.engine.take.notes]
        assert not window.engine.midi_in.is_open and window.choices.watcher.ports == []  # inputs never looked at
    finally:
        window.close()
        daw.close()


def test_a_remembered_keyboard_that_fails_to_open_is_said_calmly_and_forgotten(make_window, jack_server, qtbot,
                                                                              store, monkeypatch):
    from composer_app.errors import UserError
    from composer_app.live.midi_connection import MidiConnection

    def refuse(self, port=None, backend=None, *, virtual=False):
        raise UserError(f"cannot open MIDI input {port!r}: it is busy")

    with RigProcess(jack_server.name, sender_name="ec-gui-busy") as rig:
        key = JACK_PREFIX + rig.port_name
        store.set("midi/port", key)  # chosen last time
        monkeypatch.setattr(MidiConnection, "open", refuse)
        window = make_window(midi=True)
        qtbot.waitUntil(lambda: "MIDI input is off this time" in window.banner.message, timeout=10_000)
        assert window.banner.level == "info" and "busy" in window.banner.message
        assert store.get_str("midi/port", "") == "" and window.midi_panel.combo.currentData() == ""
        window.choices.choose_midi_port(key)  # chosen now, and it fails: that is said as an error
        qtbot.waitUntil(lambda: window.banner.level == "error", timeout=10_000)
        assert "busy" in window.banner.message
