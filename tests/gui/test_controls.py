"""Choosing from the real window: model, sampling, instrument, soundfont, sound output, MIDI; kept between runs."""

from __future__ import annotations

from PySide6.QtCore import Qt

from composer_app.errors import UserError
from composer_app.gui.app import create_engine
from composer_app.gui.controls import settings_from_store
from composer_app.gui.midi_panel import MidiWatcher
from composer_app.gui.settings_store import SettingsStore
from composer_app.live.engine import LiveEngine
from composer_app.live.midi_ports import PortList
from composer_app.pitches import MAJOR
from composer_app.status import Status


def test_model_switch_takes_effect_and_is_remembered(window, qtbot, tap, wait_settled, store, source):
    tap(window, "z x")
    window.choices.choose_model("attention_rnn")
    qtbot.waitUntil(lambda: window.engine.model.architecture == "attention_rnn")
    wait_settled(window)
    assert window.model_panel.architecture == "attention_rnn"
    assert ("live", "attention_rnn") in source.asked
    assert store.get_str("model/architecture") == "attention_rnn"
    tap(window, "z")
    assert len(window.engine.take) == 3  # the new model plays on in the same take
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+1: vanilla_rnn
    qtbot.waitUntil(lambda: window.engine.model.architecture == "vanilla_rnn")


def test_model_list_has_original_names_and_labels(window):
    combo = window.model_panel.combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts == ["vanilla_rnn — Decoder-only Vanilla RNN", "lstm_attn — LSTM with Local Attention",
                     "attention_rnn — LSTM with Full Attention"]


def test_a_bad_checkpoint_file_is_reported(window, qtbot, tmp_path, wait_settled):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a checkpoint")
    window.choices.choose_model_file(bad)
    wait_settled(window)
    assert window.banner.level == "error" and "model.pt" in window.banner.message
    assert "checkpoint" in window.banner.message
    assert window.engine.model.architecture == "vanilla_rnn"


def test_scale_lock_reaches_the_next_beat_and_persists(window, qtbot, tap, wait_settled, store):
    panel = window.sampling_panel
    panel.key.setCurrentText("D")
    panel.mode.setCurrentIndex(panel.mode.findData("major"))
    wait_settled(window)
    assert window.engine.settings.scale == "D major"
    tap(window, " ".join(["z", "x"] * 5), hold_ms=5, gap_ms=5)
    assert {(n.pitch - 2) % 12 for n in window.engine.take.notes} <= set(MAJOR)
    panel.temperature.setValue(0.7)
    panel.hints.setText("1 3 5")
    panel.hints.editingFinished.emit()
    wait_settled(window)
    assert window.engine.settings.temperature == 0.7 and window.engine.settings.hints == (60, 64, 67)
    again = settings_from_store(SettingsStore(store.file_name))
    assert again.scale == "D major" and again.temperature == 0.7 and again.hints == (60, 64, 67)


def test_impossible_settings_are_said_in_the_panel_not_sent(window, wait_settled):
    panel = window.sampling_panel
    panel.low.setValue(61)
    panel.high.setValue(61)
    panel.key.setCurrentText("C")
    panel.mode.setCurrentIndex(panel.mode.findData("major"))  # C# is not in C major: nothing left to play
    wait_settled(window)
    assert panel.error.isVisibleTo(panel) and "no pitch" in panel.error.text()
    assert window.engine.settings.scale != "C major"
    panel.hints.setText("H7")
    panel.hints.editingFinished.emit()
    assert "not a hint note" in panel.error.text()


def test_instrument_list_comes_from_the_soundfont(window, wait_settled, store):
    box = window.sound_panel.instrument
    assert box.count() >= 100  # the bundled GM soundfont
    i = box.findData(40)
    assert "Violin" in box.itemText(i) or "violin" in box.itemText(i).lower()
    window.choices.choose_program(40)
    wait_settled(window)
    assert window.engine.synth.program == 40 and store.get_int("sound/program", 0) == 40


def test_an_instrument_the_engine_refuses_is_said_and_the_list_shows_the_one_playing(window, wait_settled, qtbot,
                                                                                      monkeypatch):
    """The failed call hands back its own follow-up: the list goes back to the instrument still playing."""
    box = window.sound_panel.instrument
    playing = int(window.engine.synth.program)

    def refuse(program):
        raise UserError(f"preset {program} is missing")

    monkeypatch.setattr(window.engine, "set_instrument", refuse)
    box.setCurrentIndex(box.findData(40))  # the player picks Violin...
    window.choices.choose_program(40)
    wait_settled(window)
    qtbot.waitUntil(lambda: int(box.currentData()) == playing)  # ...and the list shows what still plays
    assert window.banner.level == "error"
    assert window.banner.message == "could not change the instrument: preset 40 is missing"


def test_a_corrupt_soundfont_is_reported_and_the_old_one_keeps_playing(window, tap, wait_settled, tmp_path):
    before = window.engine.synth.soundfont
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00sfbk garbage")
    window.choices.choose_soundfont(bad)
    wait_settled(window)
    assert window.banner.level == "error" and "not a SoundFont file" in window.banner.message
    assert window.engine.synth.soundfont == before
    tap(window, "z")
    assert len(window.engine.take) == 1


def test_no_sound_card_is_said_and_play_goes_on(make_window, tap, qtbot):
    window = make_window(audio=True, device="no such sound card 123")
    window.engine.start()
    qtbot.waitUntil(lambda: window.banner.level == "warning")
    assert "no sound" in window.banner.message and "no sound" in window.status_line.sound.text()
    assert window.engine.status.latest["sound"].level == "warning"
    tap(window, "z x")
    assert len(window.engine.take) == 2


def test_an_unplugged_midi_keyboard_is_said_in_the_window(window, qtbot):
    window.engine.status_changed.emit(Status("midi", "MIDI input 'Keys' disappeared (unplugged?); it reopens "
                                             "when it is back", "warning"))
    qtbot.waitUntil(lambda: window.banner.level == "warning")
    assert "unplugged" in window.banner.message and "Keys" in window.status_line.midi.toolTip()


class _ScriptedPorts:
    """A port lister playing back input listings, ``(names, reason)`` one per look (the last one repeats);
    there is always one output, "Synth A"."""

    def __init__(self, looks):
        self.looks = list(looks)
        self.last = PortList()

    def __call__(self, backend, direction):
        if direction == "output":
            return PortList(("Synth A",))
        if self.looks:
            names, reason = self.looks.pop(0)
            self.last = PortList(tuple(names), reason)
        return self.last


class _FakeMidiIn:
    """The MIDI input part as the watcher uses it."""

    def __init__(self):
        self.opened = []
        self.is_open = False

    def poll(self, names=None, backend=None):
        return [], []

    def open(self, name, backend=None):
        self.opened.append(name)
        return name

    def close(self):
        pass


class _FakeMidiOut:
    backend = None

    def poll(self, names=None, backend=None):
        pass


class _FakeMidiEngine:
    """The engine's MIDI parts, as the watcher uses them."""

    def __init__(self):
        self.midi_in = _FakeMidiIn()
        self.midi_out = _FakeMidiOut()


def test_midi_port_list_follows_hot_plug(window, qtbot):
    engine = _FakeMidiEngine()
    lister = _ScriptedPorts([([], "no MIDI input ports: is a MIDI keyboard connected and switched on?"),
                             (["Keys 1"], None), (["Keys 1", "Pads"], None), (["Pads"], None)])
    watcher = MidiWatcher(engine, "fake", interval_s=0.02, lister=lister)
    seen = []
    watcher.portsChanged.connect(lambda names, reason: (seen.append(list(names)),
                                                        window.midi_panel.set_ports(names, reason)))
    watcher.start()
    try:
        qtbot.waitUntil(lambda: bool(seen) and seen[-1] == ["Pads"])
        assert seen[0] == [] and ["Keys 1"] in seen and ["Keys 1", "Pads"] in seen
        combo = window.midi_panel.combo
        assert [combo.itemData(i) for i in range(combo.count())] == ["", "Pads"]
        watcher.request_open("Pads")
        qtbot.waitUntil(lambda: engine.midi_in.opened == ["Pads"])
    finally:
        watcher.stop()


def test_a_chosen_keyboard_that_is_not_plugged_in_is_opened_when_it_appears(qtbot):
    engine = _FakeMidiEngine()
    lister = _ScriptedPorts([([], None), ([], None), (["Keys"], None)])
    watcher = MidiWatcher(engine, "fake", interval_s=0.05, lister=lister)
    waiting = []
    watcher.waiting.connect(lambda name, missing: waiting.append((name, missing)))
    watcher.request_open("Keys")  # saved from the last run; not plugged in yet
    watcher.start()
    try:
        qtbot.waitUntil(lambda: engine.midi_in.opened == ["Keys"], timeout=5000)
        assert waiting == [("Keys", "")]  # said once, not an error
    finally:
        watcher.stop()


def test_no_midi_system_is_a_plain_message_in_the_panel(window):
    window.midi_panel.set_ports([], "no MIDI input: the ALSA sequencer is not available")
    assert "ALSA sequencer is not available" in window.midi_panel.status.text()
    assert "computer keyboard plays" in window.midi_panel.status.text()


def test_choices_are_restored_on_the_next_start(window, qtbot, wait_settled, store, source, data_dir):
    window.choices.choose_model("lstm_attn")
    qtbot.waitUntil(lambda: window.engine.model.architecture == "lstm_attn")
    window.choices.choose_program(24)
    window.sampling_panel.top_k.setValue(7)
    wait_settled(window)
    window.close()
    reopened = SettingsStore(store.file_name)
    engine, warning, problems = create_engine(reopened, source, data_dir, audio=False)
    try:
        assert engine.model.architecture == "lstm_attn"
        assert engine.synth.program == 24 and engine.settings.top_k == 7
        assert problems == [] and warning is None
    finally:
        engine.close()


def test_a_saved_soundfont_that_no_longer_loads_falls_back(store, source, data_dir, tmp_path):
    store.set("sound/soundfont", str(tmp_path / "gone.sf2"))
    engine, _, problems = create_engine(store, source, data_dir, audio=False)
    try:
        assert problems and "gone.sf2" in problems[0] and "bundled" in problems[0]
        assert engine.synth.soundfont.name == "TimGM6mb.sf2"
    finally:
        engine.close()


def test_shortcuts_dialog_lists_every_action(window, qtbot):
    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    table = dialog.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["z, x, space"].startswith("Play")
    for keys in ("Ctrl+N", "Esc", "Ctrl+Z", "Ctrl+R", "Ctrl+E", "Ctrl+Shift+E", "Ctrl+S", "Ctrl+O", "Ctrl+G", "F1"):
        assert keys in rows, keys
    assert table.rowCount() == len(window.shortcut_actions) + 4  # + the playing, steering and MIDI keys, the wheel


def test_window_is_usable_at_1280x720(window, qtbot):
    window.resize(1280, 720)
    qtbot.wait(20)
    assert window.width() <= 1280 and window.height() <= 720
    assert window.tap.height() >= 120 and window.roll.width() >= 700 and window.roll.height() >= 200
    assert window.side_panel.isVisible() and window.side_panel.width() >= 300


def test_engine_from_a_checkpoint_file(store, source, data_dir, tiny_checkpoint):
    path = tiny_checkpoint("lstm_attn", "live")
    store.set("model/file", str(path))
    engine, _, problems = create_engine(store, source, data_dir, audio=False)
    try:
        assert engine.model.architecture == "lstm_attn" and problems == []
    finally:
        engine.close()
    assert isinstance(engine, LiveEngine)


def test_a_missing_or_damaged_shipped_model_is_replaced_by_a_stand_in(tmp_path, monkeypatch):
    from composer_app.gui import model_source

    monkeypatch.setattr(model_source, "default_checkpoint", lambda arch, kind: tmp_path / f"{arch}_{kind}.pt")
    missing = model_source.ModelSource().offline("vanilla_rnn")
    assert "vanilla_rnn_offline.pt is missing" in missing.warning and missing.loaded.kind == "offline"
    (tmp_path / "vanilla_rnn_live.pt").write_bytes(b"damaged")
    damaged = model_source.ModelSource().live("vanilla_rnn")
    assert "untrained one stands in" in damaged.warning and "vanilla_rnn_live.pt" in damaged.warning
    assert damaged.loaded.kind == "live" and damaged.loaded.architecture == "vanilla_rnn"


def test_the_panel_names_the_profile_it_plays_and_the_loop_guard_reaches_the_engine(window, wait_settled, store):
    panel = window.sampling_panel
    assert panel.profile.currentText() == "default"  # at first start: the default profile, not "(custom)"
    assert panel.loop_guard.isChecked() and window.engine.settings.loop_guard > 0
    panel.temperature.setValue(1.3)
    wait_settled(window)
    assert panel.profile.currentText() == "(custom)"
    panel.profile.setCurrentIndex(panel.profile.findText("wilder"))
    panel.profile.activated.emit(panel.profile.currentIndex())
    wait_settled(window)
    assert window.engine.settings.temperature == 1.1 and panel.profile.currentText() == "wilder"
    assert panel.profile.findText("beam") == -1 and "Recolour" in panel.profile.toolTip()  # said, not hidden
    panel.loop_guard.setChecked(False)
    wait_settled(window)
    assert window.engine.settings.loop_guard == 0 and window.engine.settings.max_run == 0
    assert not settings_from_store(SettingsStore(store.file_name)).loop_guard  # and it is remembered
