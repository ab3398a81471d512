"""A MIDI keyboard plays the real window like the tap keys; unplugging it is said in the window.

The "keyboard" is a JACK MIDI port of the engine team's rig (a child process) on a private JACK dummy server
(the session's ``jack_server`` fixture; skipped where jackd is not installed).
"""

from __future__ import annotations

from composer_app.live.jack_rig import RigProcess
from composer_app.live.midi_in import JACK_BACKEND


def test_a_midi_keyboard_plays_and_unplugging_it_is_said(make_window, jack_server, qtbot, tap):
    with RigProcess(jack_server.name, sender_name="ec-gui-keys") as rig:
        window = make_window(midi=True, midi_backend=JACK_BACKEND)
        window.choices.watcher.interval_s = 0.1
        combo = window.midi_panel.combo
        qtbot.waitUntil(lambda: combo.findData(rig.port_name) > 0, timeout=10_000)  # listed in the panel
        window.choices.choose_midi_port(rig.port_name)
        qtbot.waitUntil(lambda: window.engine.status.get("midi", "").startswith("MIDI input:"), timeout=10_000)
        rig.note_on(64, 90)
        rig.note_off(64)
        rig.note_on(67, 30)
        rig.send([0x90, 67, 0])  # velocity-0 note-on ends it
        qtbot.waitUntil(lambda: len(window.roll.notes) == 2 and window.roll.notes[-1].end_s is not None,
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
