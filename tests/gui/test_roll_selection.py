"""Selecting and locking notes on the piano roll (what Recolour can then be limited to)."""

from PySide6.QtCore import QPoint, Qt

from composer_app.gui.piano_roll import RollView
from composer_app.gui.roll_selection import RollSelection
from composer_app.take import Take, TakeNote


def _take(n: int = 16) -> Take:
    return Take(notes=[TakeNote(i, 0.5 * i, 60 + i % 5, 100, 0.5 * i + 0.4) for i in range(n)], closed=True)


def test_ranges_clicks_and_extension_select_notes_by_their_start():
    notes = _take().notes
    sel = RollSelection()
    assert sel.notes(notes) == [] and not sel.active
    sel.begin(1.2)
    sel.drag_to(2.6)
    assert [n.index for n in sel.notes(notes)] == [3, 4, 5]
    sel.select_note(notes[8])
    assert sel.positions(notes) == [8]
    sel.select_note(notes[11], extend=True)
    assert sel.positions(notes) == [8, 9, 10, 11]
    sel.begin(2.0, extend=True)  # Shift+press before the range: it grows back to 2.0 from its far end
    assert sel.positions(notes) == list(range(4, 12))
    sel.clear()
    assert sel.positions(notes) == []


def _x(roll, t):
    return int(roll.x_of(t))


def _y(roll, pitch):
    return int(roll.y_of(pitch) + roll.row_height() / 2)


def test_dragging_selects_ctrl_click_locks_and_a_click_on_nothing_clears(qtbot):
    view = RollView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    roll = view.roll
    roll.set_notes(_take().notes, live=False)
    roll.set_view(120.0, 0.0)
    with qtbot.waitSignal(roll.selectionChanged):
        qtbot.mousePress(roll, Qt.MouseButton.LeftButton, pos=QPoint(_x(roll, 0.9), 30))
        qtbot.mouseMove(roll, QPoint(_x(roll, 2.1), 40))
        qtbot.mouseRelease(roll, Qt.MouseButton.LeftButton, pos=QPoint(_x(roll, 2.1), 40))
    assert [n.index for n in roll.selected_notes()] == [2, 3, 4]
    roll.grab()  # the band and the notes paint
    target = roll.notes[6]
    with qtbot.waitSignal(roll.locksChanged):
        qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         QPoint(_x(roll, target.start + 0.2), _y(roll, target.pitch)))
    assert target.locked and sum(n.locked for n in roll.notes) == 1
    roll.toggle_locks()  # the selected notes 2-4: none locked, so all three lock
    assert [n.index for n in roll.notes if n.locked] == [2, 3, 4, 6]
    roll.toggle_locks()  # all locked: unlock them
    assert [n.index for n in roll.notes if n.locked] == [6]
    roll.grab()
    qtbot.mouseClick(roll, Qt.MouseButton.LeftButton, pos=QPoint(_x(roll, 7.9), 5))  # empty space, high up
    assert roll.selected_notes() == []


def test_locks_travel_with_the_take_and_a_recolour_keeps_them(tmp_path):
    from composer_app.live.recovery import load_take
    from composer_app.take import save_take

    take = _take(6)
    take.notes[2].locked = True
    assert take.kept_pitches([1, 2, 3]).tolist() == [60, -1, 62, -1, 64, 60]
    assert take.kept_pitches().tolist() == [-1, -1, 62, -1, -1, -1]
    new = take.recoloured([70] * 6, {})
    assert [n.pitch for n in new.notes] == [70, 70, 62, 70, 70, 70] and new.notes[2].locked
    path = save_take(new, tmp_path / "t.ectake")
    assert [n.locked for n in load_take(path).notes] == [False, False, True, False, False, False]


def test_the_recolour_dialog_offers_the_selection_only_when_there_is_one(qtbot):
    from composer_app.gui.recolour import RecolourDialog
    from composer_app.gui.recolour_flow import selection_words

    notes = _take().notes
    with_selection = RecolourDialog(None, ["default"], "lstm_attn", "default", 0, True,
                                    selection=selection_words(notes[6:14]))
    qtbot.addWidget(with_selection)
    assert with_selection.only_selection.isChecked() and "notes 7-14" in with_selection.only_selection.text()
    without = RecolourDialog(None, ["default"], "lstm_attn", "default", 0, True)
    qtbot.addWidget(without)
    assert not without.only_selection.isChecked() and not without.only_selection.isEnabled()
    assert selection_words(notes[3:4]) == "note 4" and selection_words([]) == ""
