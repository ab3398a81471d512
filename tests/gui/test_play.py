"""Playing the real window: key taps become notes in the take and on the piano roll, at once."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from composer_app.gui.main_window import APP_TITLE
from composer_app.gui.piano_roll import KEY_W
from composer_app.pitches import note_name


def test_window_opens_titled_with_the_tap_area_holding_the_keyboard(window, qtbot):
    assert window.windowTitle() == APP_TITLE
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.tap)
    assert window.tap.height() >= 120 and window.roll.height() >= 160


def test_taps_make_notes_in_take_and_roll(window, tap):
    tap(window, "z x z space")
    take = window.engine.take
    assert len(take) == 4
    assert [n.source for n in take.notes] == ["key:z", "key:x", "key:z", "key:space"]
    assert [(n.index, n.pitch) for n in window.roll.notes] == [(n.index, n.pitch) for n in take.notes]
    assert all(n.end is not None and n.end > n.start for n in window.roll.notes)
    starts = [n.start for n in window.roll.notes]
    assert starts == sorted(starts) and starts[-1] - starts[0] >= 0.15  # 3 gaps of >= 70 ms
    last = take.notes[-1].pitch
    assert window.tap.note_text.startswith(note_name(last))  # feedback: the note that sounded
    assert window.tap.note_count == 4
    assert window.windowTitle().startswith(f"{APP_TITLE} — take-")  # the take's name follows


def test_a_held_key_grows_until_release_and_autorepeat_is_ignored(window, qtbot, wait_settled):
    qtbot.keyPress(window.tap, Qt.Key.Key_X)
    for _ in range(3):  # what a held key sends: auto-repeat presses
        QApplication.sendEvent(window.tap, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_X,
                                                     Qt.KeyboardModifier.NoModifier, "x", True))
    wait_settled(window)
    assert len(window.engine.take) == 1
    note = window.roll.notes[0]
    assert note.end is None and window.roll.animating  # growing, repainted by the timer
    assert window.engine.synth.sounding_notes == {note.pitch}
    qtbot.wait(120)
    qtbot.keyRelease(window.tap, Qt.Key.Key_X)
    wait_settled(window)
    assert note.end is not None and note.end - note.start >= 0.1
    assert not window.roll.animating  # nothing sounds: no repaint timer
    assert window.engine.synth.sounding_notes == frozenset()


def test_tap_keys_play_wherever_the_focus_is_but_text_fields_keep_letters(window, qtbot, tap, wait_settled):
    combo = window.model_panel.combo
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    tap(window, "z x", target=combo)
    assert len(window.engine.take) == 2
    hints = window.sampling_panel.hints
    hints.setFocus()
    qtbot.waitUntil(hints.hasFocus)
    qtbot.keyClicks(hints, "x")
    wait_settled(window)
    assert hints.text() == "x" and len(window.engine.take) == 2


def test_key_down_sounds_before_the_handler_returns(window, qtbot, tap):
    """The press runs on the GUI thread, inside the key handler: the note sounds before it returns. (What the
    handler costs is a figure, not a test: the status line shows it, ``bench live`` measures the whole path.)"""
    sounding_at_return = []
    # `tapped` is emitted on the GUI thread right after the press was handed over, before the handler returns
    window.tap.tapped.connect(lambda name: sounding_at_return.append(bool(window.engine.synth.sounding_notes)))
    tap(window, " ".join(["z", "x"] * 10), hold_ms=5, gap_ms=5)
    assert len(window.engine.take) == 20
    assert len(sounding_at_return) == 20 and all(sounding_at_return) and window.bridge.last_route == "direct"
    assert len(window.tap.handler_ns) >= 20  # each key-down's handler time is kept for the status line


def test_a_key_is_queued_not_kept_waiting_while_the_engine_thread_is_busy(window, qtbot, wait_settled):
    busy, free = threading.Event(), threading.Event()

    def slow_job():  # e.g. a model being primed, a sound device reopening: busy until the test frees it
        busy.set()
        free.wait(10)

    window.bridge.submit(slow_job)
    assert busy.wait(10)
    qtbot.keyPress(window.tap, Qt.Key.Key_Z)
    qtbot.keyRelease(window.tap, Qt.Key.Key_Z)
    # Back here while the engine thread is still held: the GUI thread did not wait for it.
    assert not free.is_set() and window.bridge.pending > 0
    assert window.bridge.last_route == "queued" and len(window.engine.take) == 0
    free.set()
    wait_settled(window)
    assert len(window.engine.take) == 1 and len(window.roll.notes) == 1


def test_undo_and_new_take_from_the_keyboard(window, qtbot, tap, wait_settled):
    tap(window, "z x z")
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_settled(window)
    assert len(window.engine.take) == 2 and len(window.roll.notes) == 2
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wait_settled(window)
    assert len(window.engine.take) == 0 and window.roll.notes == []
    tap(window, "x")
    assert len(window.engine.take) == 1 and window.roll.notes[0].index == 0


def test_stop_silences_a_held_note(window, qtbot, wait_settled):
    qtbot.keyPress(window.tap, Qt.Key.Key_Z)
    wait_settled(window)
    assert window.engine.synth.sounding_notes
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_settled(window)
    assert window.engine.synth.sounding_notes == frozenset()
    assert window.roll.notes[0].end is not None
    qtbot.keyRelease(window.tap, Qt.Key.Key_Z)


def test_roll_scrolls_and_zooms_after_playing(window, qtbot, tap):
    tap(window, "z x z x", hold_ms=30, gap_ms=150)
    roll = window.roll
    before = roll.px_per_s
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert roll.px_per_s > before
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    assert roll.px_per_s < before
    roll.fit()
    first, last = roll.notes[0], roll.notes[-1]
    assert KEY_W <= roll.x_of(first.start) and roll.x_of(last.end) <= roll.width()  # the whole take shows
    roll.zoom(4.0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert roll.view_start_s > 0 and not roll.follow
    start = roll.view_start_s
    window.roll_view.bar.setValue(0)
    assert roll.view_start_s == 0 < start
    assert roll.low <= min(n.pitch for n in roll.notes) and max(n.pitch for n in roll.notes) <= roll.high
    image = roll.grab().toImage()  # paints without error
    assert not image.isNull()


def _wheel(widget, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, dy), Qt.MouseButton.NoButton,
                        modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_and_ctrl_wheel_zooms_the_roll(window, tap):
    tap(window, "z x z x z", hold_ms=30, gap_ms=120)
    roll = window.roll
    roll.zoom(8.0)
    roll.go_home()
    _wheel(roll, -120)  # wheel down: later in time
    assert roll.view_start_s > 0 and not roll.follow
    zoom = roll.px_per_s
    _wheel(roll, 120, Qt.KeyboardModifier.ControlModifier)
    assert roll.px_per_s > zoom
    low = roll.low
    _wheel(roll, 240, Qt.KeyboardModifier.ShiftModifier)
    assert roll.low > low


def test_losing_focus_releases_held_keys(window, qtbot, wait_settled):
    qtbot.keyPress(window.tap, Qt.Key.Key_Z)
    wait_settled(window)
    assert window.tap.held and window.engine.synth.sounding_notes
    window.tap.release_all()
    wait_settled(window)
    assert window.tap.held == set() and window.engine.synth.sounding_notes == frozenset()


def test_replay_plays_the_take_through_the_synth_and_shows_it(window, qtbot, tap, wait_settled):
    tap(window, "z x z", hold_ms=60, gap_ms=60)
    heard = []
    window.engine.replayer.note.connect(lambda i, on: heard.append((i, on)))
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_settled(window)
    assert window.roll.animating  # the play-head moves
    qtbot.waitUntil(lambda: (2, False) in heard, timeout=5000)
    assert [i for i, on in heard if on] == [0, 1, 2]
    qtbot.waitUntil(lambda: not window.roll.animating, timeout=3000)
    assert window.engine.synth.sounding_notes == frozenset()


def test_replay_of_nothing_says_what_to_do(window):
    window.playing.replay()
    assert window.banner.level == "info" and "tap z, x or space" in window.banner.message


def _stamped(kind, key, stamp_ms):
    event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, "")
    event.setTimestamp(stamp_ms)
    return event


def test_an_x_autorepeat_pair_that_qt_did_not_flag_does_not_restart_the_note(window, qtbot, wait_settled):
    base = 5_000_000
    down, up = QEvent.Type.KeyPress, QEvent.Type.KeyRelease
    QApplication.sendEvent(window.tap, _stamped(down, Qt.Key.Key_Z, base))
    time.sleep(0.3)
    QApplication.sendEvent(window.tap, _stamped(up, Qt.Key.Key_Z, base + 300))  # auto-repeat: up and down
    QApplication.sendEvent(window.tap, _stamped(down, Qt.Key.Key_Z, base + 300))  # with one timestamp
    time.sleep(0.2)
    QApplication.sendEvent(window.tap, _stamped(up, Qt.Key.Key_Z, base + 500))  # the real key-up
    qtbot.wait(50)
    wait_settled(window)
    notes = window.engine.take.notes
    assert len(notes) == 1 and window.tap.note_count == 1
    assert (notes[0].end - notes[0].start) * 1e3 == pytest.approx(500, abs=2)  # the event times, exactly
    assert window.engine.synth.sounding_notes == frozenset()


def test_a_held_back_key_up_goes_first_when_another_key_goes_down(window, qtbot, wait_settled):
    base = 9_000_000
    down, up = QEvent.Type.KeyPress, QEvent.Type.KeyRelease
    QApplication.sendEvent(window.tap, _stamped(down, Qt.Key.Key_Z, base))
    time.sleep(0.1)
    QApplication.sendEvent(window.tap, _stamped(up, Qt.Key.Key_Z, base + 100))
    # Real time must pass at least as much as the stamps say: a stamp ahead of the clock is mapped to "now"
    # (the key clock never puts an event in the future), which would shorten the gap. The event loop does not
    # run during the sleep, so the key-up is still held back (RELEASE_GRACE_MS) when x goes down.
    time.sleep(0.006)
    QApplication.sendEvent(window.tap, _stamped(down, Qt.Key.Key_X, base + 104))
    wait_settled(window)
    a, b = window.engine.take.notes
    assert (a.end - a.start) * 1e3 == pytest.approx(100, abs=2)
    assert (b.start - a.end) * 1e3 == pytest.approx(4, abs=2) and b.rest_s > 0  # not legato: z was up
    QApplication.sendEvent(window.tap, _stamped(up, Qt.Key.Key_X, base + 150))
