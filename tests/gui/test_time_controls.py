"""The time controls (tempo, tap tempo, metre, click, count-in, steer, quantize), bars and beats on the piano
roll, and the home-row steer keys with the direction each asked for."""

from __future__ import annotations

import pretty_midi
import pytest

from composer_app.gui.beat_grid import BeatGrid
from composer_app.gui.main_window import MainWindow
from composer_app.gui.steer_keys import steer_direction
from composer_app.gui.tempo_bar import QUANTIZE, TapTempo, TimeSettings
from composer_app.live.engine import LiveEngine

from .conftest import tiny_model


def test_tap_tempo_averages_the_last_taps_and_starts_afresh_after_a_pause():
    tapper = TapTempo()
    assert tapper.tap(0.0) is None  # one tap says nothing yet
    assert [tapper.tap(t) for t in (0.5, 1.0, 1.5)] == [120, 120, 120]
    assert tapper.tap(5.0) is None  # a long pause: a new count
    assert tapper.tap(5.6) == 100


def test_the_tap_button_sets_the_tempo_and_the_roll_draws_its_bars(window):
    bar = window.tempo_bar
    for t in (10.0, 10.4, 10.8, 11.2):
        bar.tap_tempo(t)
    assert bar.bpm.value() == 150
    grid = window.roll.grid
    assert grid.bpm == 150 and grid.beat_s == pytest.approx(0.4) and grid.bar_s == pytest.approx(1.6)
    bar.metre.setCurrentText("6/8")
    assert window.roll.grid.beats_per_bar == 6 and window.roll.grid.beat_s == pytest.approx(0.2)


def test_beat_grid_lines_number_bars_and_beats():
    grid = BeatGrid.of(120, "3/4")
    lines = list(grid.lines(0.0, 3.0))
    assert [(bar, beat) for _, bar, beat in lines] == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (3, 0)]
    assert [t for t, _, _ in lines] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    with pytest.raises(ValueError, match="time signature"):
        BeatGrid.of(120, "5/4")


def test_time_settings_refuse_nonsense():
    with pytest.raises(ValueError, match="tempo"):
        TimeSettings(bpm=1000)
    with pytest.raises(ValueError, match="steer"):
        TimeSettings(steer=1.5)


def test_the_controls_are_there_and_remembered(window, store, source, data_dir, qtbot):
    bar = window.tempo_bar
    assert [bar.metre.itemText(i) for i in range(bar.metre.count())] == ["4/4", "3/4", "6/8"]
    assert [bar.quantize.itemText(i) for i in range(bar.quantize.count())] == list(QUANTIZE)
    bar.bpm.setValue(96)
    bar.metre.setCurrentText("3/4")
    bar.click.setChecked(True)
    bar.count_in.setChecked(True)
    bar.steer.setValue(70)
    bar.quantize.setCurrentText("1/16")
    assert bar.steer_value.text() == "0.70"
    assert window.time_settings == TimeSettings(96, "3/4", True, True, 0.7, "1/16")
    window.close()
    engine = LiveEngine(tiny_model(), take_dir=data_dir / "takes", audio=False)
    again = MainWindow(engine, store, data_dir, source, midi=False, audio=False)
    qtbot.addWidget(again)
    try:
        assert again.tempo_bar.settings() == TimeSettings(96, "3/4", True, True, 0.7, "1/16")
        assert again.roll.grid.bpm == 96 and again.roll.grid.beats_per_bar == 3
    finally:
        again.close()


def test_a_nonsense_stored_tempo_falls_back_to_the_defaults(store, source, data_dir, qtbot):
    store.set("time/bpm", 5000)
    store.set("time/metre", "11/7")
    engine = LiveEngine(tiny_model(), take_dir=data_dir / "takes", audio=False)
    win = MainWindow(engine, store, data_dir, source, midi=False, audio=False)
    qtbot.addWidget(win)
    try:
        assert win.tempo_bar.settings() == TimeSettings()
    finally:
        win.close()


def test_export_writes_the_chosen_tempo(window, tap, wait_settled, tmp_path):
    window.tempo_bar.bpm.setValue(100)
    tap(window, "z x z")
    window.export_midi(tmp_path / "t.mid")
    wait_settled(window)
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "t.mid"))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(100)
    assert pm.instruments[0].notes[0].start == pytest.approx(window.engine.take.notes[0].start_s, abs=2e-3)


def test_steer_direction_of_keys():
    assert steer_direction("key:a", "key:;") == 1
    assert steer_direction("key:k", "key:d") == -1
    assert steer_direction("key:f", "key:f") == 0
    assert steer_direction("key:z", "key:a") is None  # a plain tap key asks nothing
    assert steer_direction("midi:60", "midi:64") == 1
    assert steer_direction("key:a", "midi:64") is None


def test_the_home_row_plays_and_shows_the_direction_each_key_asked(window, tap):
    tap(window, "a d s s z ;")
    take = window.engine.take
    assert [n.source for n in take.notes] == ["key:a", "key:d", "key:s", "key:s", "key:z", "key:;"]
    assert [n.direction for n in window.roll.notes] == [None, 1, -1, 0, None, None]
    assert window.tap.direction is None
    tap(window, "l")
    assert window.roll.notes[-1].direction == -1 and window.tap.note_text.startswith("↓")


def test_the_steer_keys_still_type_into_a_text_field(window, qtbot, wait_settled):
    hints = window.sampling_panel.hints
    hints.setFocus()
    qtbot.waitUntil(hints.hasFocus)
    qtbot.keyClicks(hints, "as")
    wait_settled(window)
    assert hints.text() == "as" and len(window.engine.take) == 0
