"""What the window shows while playing: one banner message at a time, the take's own note count, the note
display following undo and Replay, a fresh zoom for a new take, where a left take is kept, a layout that fits."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from composer_app.gui import banner as banner_module
from composer_app.gui.piano_roll import DEFAULT_PX_PER_S, READABLE_GAP_PX
from composer_app.gui.recolour import CompareDialog
from composer_app.live.audio import AudioStatus
from composer_app.status import Status
from composer_app.take import Take, TakeNote


def test_a_new_message_replaces_the_old_one_and_the_banner_does_not_grow(window, qtbot, monkeypatch):
    banner = window.banner
    banner.show_message("MIDI export failed: the folder does not exist", "error")
    qtbot.wait(10)
    one_line = banner.height()
    monkeypatch.setitem(banner_module.EXPIRE_MS, "info", 150)
    banner.show_message("exported /tmp/x.mid", "info")
    assert banner.shown_messages == ["exported /tmp/x.mid"]
    assert "failed" not in banner.label.text()
    for i in range(4):
        banner.show_message(f"exported /tmp/{i}.mid", "info")
    qtbot.wait(10)
    assert banner.height() == one_line
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=2000)  # info expires ...
    assert banner.level is None and banner.shown_messages == []  # ... and the old failure does not come back
    assert any("failed" in m for _, _, m in banner.history)  # it stays in the history (the tooltip)


def test_a_problem_stays_until_replaced_or_dismissed(window, qtbot):
    window.banner.show_message("could not save: disk full", "error")
    qtbot.wait(50)
    assert window.banner.isVisible() and window.banner.level == "error"
    window.banner.dismiss()
    assert not window.banner.isVisible() and window.banner.shown_messages == []


def test_the_tap_counter_counts_the_take_not_the_session(window, qtbot, tap, wait_settled):
    tap(window, "z x z")
    assert window.tap.note_count == 3 and window.status_line.notes.text() == "3 notes"
    window.playing.new_take()
    wait_settled(window)
    assert window.tap.note_count == 0
    tap(window, "x z")
    assert window.tap.note_count == 2 and window.status_line.notes.text() == "2 notes"
    window.playing.undo()
    wait_settled(window)
    assert window.tap.note_count == 1 and window.status_line.notes.text() == "1 note"


def test_the_big_note_follows_undo(window, tap, wait_settled):
    tap(window, "z x z")
    notes = window.engine.take.notes
    first, second = (notes[0].index, notes[0].pitch), (notes[1].index, notes[1].pitch)
    assert window.tap.last_note == (notes[2].index, notes[2].pitch)
    window.playing.undo()
    wait_settled(window)
    assert window.tap.last_note == second and not window.tap.sounding
    window.playing.undo()
    wait_settled(window)
    assert window.tap.last_note == first
    window.playing.undo()
    wait_settled(window)
    assert window.tap.last_note is None and window.tap.note_text == ""


def test_the_big_note_follows_replay(window, qtbot, tap, wait_settled):
    tap(window, "z x z", hold_ms=80, gap_ms=80)
    notes = window.engine.take.notes
    assert window.tap.last_note == (2, notes[2].pitch)
    window.playing.replay()
    qtbot.waitUntil(lambda: window.tap.last_note == (0, notes[0].pitch), timeout=3000)
    qtbot.waitUntil(lambda: window.tap.last_note == (1, notes[1].pitch), timeout=3000)
    window.stop()
    wait_settled(window)


def test_new_take_starts_at_the_default_zoom(window, qtbot, tap, wait_settled):
    tap(window, "z x")
    window.roll.zoom(3.0)
    assert window.roll.px_per_s != DEFAULT_PX_PER_S
    window.playing.new_take()
    wait_settled(window)
    assert window.roll.px_per_s == DEFAULT_PX_PER_S and window.roll.view_start_s == 0.0


def _long_take(n: int = 400, gap_s: float = 0.25) -> Take:
    notes = [TakeNote(i, i * gap_s, 60 + i % 12, 100, i * gap_s + gap_s / 2, gap_s / 2, gap_s / 2, "key:z")
             for i in range(n)]
    return Take(notes=notes, closed=True)


def test_the_comparison_of_a_long_take_scrolls_instead_of_shrinking_to_dots(window, qtbot):
    played = _long_take()
    recoloured = played.copy()
    dialog = CompareDialog(window, played, recoloured)
    dialog.show()
    qtbot.waitExposed(dialog)
    top, bottom = dialog.played_view, dialog.recoloured_view
    assert top.roll.px_per_s * 0.25 >= READABLE_GAP_PX  # a note is still a bar, not a dot
    assert top.bar.maximum() > 0  # ... and the rest of the take is a scroll away
    top.roll.scroll_to(30.0)
    assert bottom.roll.view_start_s == pytest.approx(30.0)  # both rolls move together
    bottom.roll.zoom(1.5)
    assert top.roll.px_per_s == pytest.approx(bottom.roll.px_per_s)
    dialog.reject()


def test_a_short_take_is_compared_whole(window, qtbot):
    played = _long_take(8, 0.5)
    dialog = CompareDialog(window, played, played.copy())
    dialog.show()
    qtbot.waitExposed(dialog)
    roll = dialog.played_view.roll
    assert roll.x_of(roll.duration_s) <= roll.width()
    dialog.reject()


def test_new_take_says_where_the_last_one_is_kept(window, tap, wait_settled):
    tap(window, "z x")
    path = window.engine.take_path
    window.playing.new_take()
    wait_settled(window)
    assert window.banner.level == "info" and str(path) in window.banner.message and "2 notes" in window.banner.message
    assert path.exists()


def test_opening_a_take_says_where_the_played_one_is_kept(window, tap, wait_settled, tmp_path):
    tap(window, "z x z")
    window.files.save_take(tmp_path / "other")
    wait_settled(window)
    path = window.engine.take_path
    window.files.open_take(tmp_path / "other.ectake")
    wait_settled(window)
    assert "opened other.ectake" in window.banner.message and str(path) in window.banner.message


def test_quit_says_where_the_take_is_kept_and_asks(window, qtbot, tap, monkeypatch):
    asked = []
    monkeypatch.setattr(window, "ask_quit", lambda kept: asked.append(kept) or False)
    window.quit_app()
    assert asked == [] and not window.isVisible()  # nothing played: nothing to ask


def test_quit_with_a_take_asks_and_can_be_cancelled(window, qtbot, tap, monkeypatch):
    tap(window, "z x")
    asked = []
    answer = [False]
    monkeypatch.setattr(window, "ask_quit", lambda kept: asked.append(kept) or answer[0])
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1 and str(window.engine.take_path) in asked[0]
    assert window.isVisible()  # cancelled
    answer[0] = True
    window.quit_app()
    assert not window.isVisible()


def test_every_panel_fits_at_1280x720_without_scrolling(window, qtbot):
    window.resize(1280, 720)
    qtbot.wait(20)
    side = window.side_panel
    assert side.verticalScrollBar().maximum() == 0
    assert side.horizontalScrollBar().maximum() == 0
    midi = window.midi_panel
    bottom = midi.mapTo(side.viewport(), midi.rect().bottomLeft()).y()
    assert midi.isVisible() and bottom <= side.viewport().height()
    assert window.tempo_bar.isVisible() and window.tempo_bar.sizeHint().width() <= window.roll.width() + 72


class _FakeOutput:
    def __init__(self, status):
        self.status = status
        self.available = status.available


def test_the_status_bar_shows_the_sound_state_whole(window, qtbot):
    message = ("sound: HDA Intel PCH: ALC3246 Analog (hw:0,0) (ALSA), 48000 Hz, block 128, "
               "output latency 5.8 ms")
    window.engine.sound.output = _FakeOutput(AudioStatus(True, message, "HDA Intel PCH: ALC3246 Analog (hw:0,0)",
                                                         "ALSA", 48000, 128, 0.0058))
    window.engine.status_changed.emit(Status("sound", message))
    qtbot.waitUntil(lambda: window.status_line.sound.toolTip() == message)
    label = window.status_line.sound
    qtbot.wait(20)
    assert "5.8 ms" in label.text() and label.text().startswith("sound: HDA Intel")
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())  # nothing cut
    assert window.sound_panel.status.text() == message  # the whole message in the panel
    window.engine.sound.output = None


def test_the_banner_follows_the_level_of_a_status_not_its_words(window, qtbot):
    window.engine.status_changed.emit(Status("midi", "MIDI input 'Keys' disappeared", "info"))
    window.engine.status_changed.emit(Status("sound", "sound: all fine", "warning"))
    qtbot.waitUntil(lambda: window.banner.level == "warning")
    assert window.banner.message == "sound: all fine"
    assert window.banner.history[-1][2] == "sound: all fine" and len(window.banner.history) == 1
    window.engine.status_changed.emit(Status("take", "could not write the take journal: disk full", "error"))
    qtbot.waitUntil(lambda: window.banner.level == "error")
