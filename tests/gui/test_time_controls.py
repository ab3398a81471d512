"""The time controls (tempo, tap tempo, metre, click, count-in, steer, quantize), bars and beats on the piano
roll, and the home-row steer keys with the direction each asked for."""

from __future__ import annotations

import pretty_midi
import pytest

from composer_app.errors import UserError
from composer_app.gui.beat_grid import BeatGrid
from composer_app.gui.main_window import MainWindow
from composer_app.gui.tempo_bar import QUANTIZE, TimeSettings
from composer_app.live.engine import LiveEngine
from composer_app.take import ORIGIN_DOWNBEAT, ORIGIN_FIRST_NOTE


def test_tap_tempo_follows_the_taps_and_starts_afresh_after_a_pause(window):
    bar = window.tempo_bar
    assert bar.tap_tempo(0) is None  # one tap says nothing yet
    assert [bar.tap_tempo(int(t * 1e9)) for t in (0.5, 1.0, 1.5)] == [120, 120, 120]
    assert bar.tap_tempo(int(5e9)) is None  # a long pause: a new count
    assert bar.tap_tempo(int(5.6e9)) == 100 and bar.bpm.value() == 100


def test_the_tap_button_sets_the_tempo_and_the_roll_draws_its_bars(window):
    bar = window.tempo_bar
    for t in (10.0, 10.4, 10.8, 11.2):
        bar.tap_tempo(int(t * 1e9))
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
    with pytest.raises(UserError, match="time signature"):
        BeatGrid.of(120, "5/3")


def test_time_settings_refuse_nonsense():
    with pytest.raises(ValueError, match="tempo"):
        TimeSettings(bpm=1000)
    with pytest.raises(ValueError, match="steer"):
        TimeSettings(steer=1.5)


def test_the_controls_reach_the_engine_and_are_remembered(window, store, source, data_dir, qtbot, wait_settled, tiny_model):
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
    assert window.tempo_bar.settings() == TimeSettings(96, "3/4", True, True, 0.7, "1/16")
    wait_settled(window)
    engine = window.engine
    assert engine.tempo_bpm == 96 and str(engine.time_signature) == "3/4" and engine.metronome.on
    assert engine.settings.steer == pytest.approx(0.7)
    assert engine.take.header["tempo_bpm"] == 96 and engine.take.header["time_signature"] == "3/4"
    window.sampling_panel.temperature.setValue(0.8)  # the sampling panel keeps the steer strength
    wait_settled(window)
    assert engine.settings.temperature == pytest.approx(0.8) and engine.settings.steer == pytest.approx(0.7)
    bar.click.setChecked(False)
    wait_settled(window)
    assert not engine.metronome.on
    window.close()
    engine = LiveEngine(tiny_model(), take_dir=data_dir / "takes", audio=False)
    again = MainWindow(engine, store, data_dir, source, midi=False, audio=False)
    qtbot.addWidget(again)
    try:
        assert again.tempo_bar.settings() == TimeSettings(96, "3/4", False, True, 0.7, "1/16")
        assert again.roll.grid.bpm == 96 and again.roll.grid.beats_per_bar == 3
    finally:
        again.close()


def test_a_nonsense_stored_tempo_falls_back_to_the_defaults(store, source, data_dir, qtbot, tiny_model):
    store.set("time/bpm", 5000)
    store.set("time/metre", "11/7")
    engine = LiveEngine(tiny_model(), take_dir=data_dir / "takes", audio=False)
    win = MainWindow(engine, store, data_dir, source, midi=False, audio=False)
    qtbot.addWidget(win)
    try:
        assert win.tempo_bar.settings() == TimeSettings()
    finally:
        win.close()


def test_export_writes_the_takes_tempo_and_quantizes_the_file_only(window, tap, wait_settled, tmp_path):
    window.tempo_bar.bpm.setValue(100)
    window.tempo_bar.metre.setCurrentText("3/4")
    tap(window, "z x z x", hold_ms=50, gap_ms=70)
    window.files.export_midi(tmp_path / "free.mid")
    wait_settled(window)
    free = pretty_midi.PrettyMIDI(str(tmp_path / "free.mid"))
    assert free.get_tempo_changes()[1][0] == pytest.approx(100)
    ts = free.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    played = [n.start for n in window.engine.take.notes]
    assert [n.start for n in free.instruments[0].notes] == pytest.approx(played, abs=2e-3)
    window.tempo_bar.quantize.setCurrentText("1/16")
    window.files.export_midi(tmp_path / "grid.mid")
    wait_settled(window)
    step = 60 / 100 / 4
    starts = [n.start for n in pretty_midi.PrettyMIDI(str(tmp_path / "grid.mid")).instruments[0].notes]
    assert all(abs(s / step - round(s / step)) < 0.01 for s in starts)
    assert [n.start for n in window.engine.take.notes] == played  # the take keeps its timing


def test_new_take_with_count_in_starts_on_the_downbeat(window, tap, wait_settled):
    window.playing.new_take()
    wait_settled(window)
    assert window.engine.take.header["origin"] == ORIGIN_FIRST_NOTE
    window.tempo_bar.count_in.setChecked(True)
    window.playing.new_take()
    wait_settled(window)
    assert window.engine.take.header["origin"] == ORIGIN_DOWNBEAT
    assert window.engine.metronome.running  # the count-in bar clicks


def test_the_home_row_plays_and_shows_the_direction_each_key_asked(window, tap, wait_settled):
    tap(window, "a d s s z ;")
    take = window.engine.take
    assert [n.source for n in take.notes] == ["key:a", "key:d", "key:s", "key:s", "key:z", "key:;"]
    # the engine judges each steer key against the previous one (z asks nothing and is skipped)
    assert [n.direction for n in take.notes] == [None, 1, -1, 0, None, 1]
    assert [n.direction for n in window.roll.notes] == [None, 1, -1, 0, None, 1]
    assert window.tap.direction == 1 and window.tap.note_text.startswith("↑")
    tap(window, "l")
    assert window.roll.notes[-1].direction == -1 and window.tap.note_text.startswith("↓")
    window.playing.undo()
    wait_settled(window)
    assert [n.direction for n in window.roll.notes] == [None, 1, -1, 0, None, 1]  # the arrows stay after undo


def test_the_steer_keys_still_type_into_a_text_field(window, qtbot, wait_settled):
    hints = window.sampling_panel.hints
    hints.setFocus()
    qtbot.waitUntil(hints.hasFocus)
    qtbot.keyClicks(hints, "as")
    wait_settled(window)
    assert hints.text() == "as" and len(window.engine.take) == 0


def test_the_beat_light_follows_the_metronome(window, qtbot, wait_settled):
    window.tempo_bar.bpm.setValue(300)
    window.tempo_bar.click.setChecked(True)
    qtbot.waitUntil(lambda: window.tempo_bar.last_beat is not None, timeout=3000)
    beats = set()
    qtbot.waitUntil(lambda: beats.add(window.tempo_bar.last_beat) or beats >= {0, 1}, timeout=3000)
    assert window.tempo_bar.beat_light.text().startswith("●")
    window.tempo_bar.click.setChecked(False)
    wait_settled(window)
    assert not window.engine.metronome.on
