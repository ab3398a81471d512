"""What the player marked on the piano roll: a range of notes to compose again (drag across them; a click picks
one note, Shift+click extends to it) — the "keep what you like" selection that Recolour can be limited to.

:class:`RollSelection` is plain state: the roll turns mouse positions into times and asks it what they select;
Recolour asks it which notes. Notes are selected by their start: a note belongs to the range its onset falls in.
:class:`SelectingRoll` is the roll's part that turns mouse events into a selection and locks.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt

from composer_app.gui.roll_painter import KEY_W
from composer_app.take import TakeNote


@dataclass
class RollSelection:
    """A time range ``start``..``end`` (seconds, inclusive), or none (``start`` None)."""

    start: float | None = None
    end: float | None = None
    anchor: float | None = None  # where a drag began

    @property
    def active(self) -> bool:
        return self.start is not None

    def clear(self) -> None:
        self.start = self.end = self.anchor = None

    def begin(self, t: float, extend: bool = False) -> None:
        """A press at time ``t``: a new range from here, or (``extend``, with a range already) the range grown to
        reach ``t`` from its far end."""
        if extend and self.active:
            self.anchor = self.end if t < self.start else self.start
        else:
            self.anchor = t
        self.drag_to(t)

    def drag_to(self, t: float) -> None:
        self.start, self.end = min(self.anchor, t), max(self.anchor, t)

    def select_note(self, note, extend: bool = False) -> None:
        """A click on ``note``: that note alone, or (``extend``) the range grown to include it."""
        if extend and self.active:
            self.start, self.end = min(self.start, note.start), max(self.end, note.start)
        else:
            self.start = self.end = note.start
        self.anchor = self.start

    def notes(self, notes) -> list:
        """The notes whose start lies in the range (in the order given)."""
        if not self.active:
            return []
        return [n for n in notes if self.start - 1e-9 <= n.start <= self.end + 1e-9]

    def positions(self, notes) -> list[int]:
        """Positions in ``notes`` of the notes in the range."""
        if not self.active:
            return []
        return [i for i, n in enumerate(notes) if self.start - 1e-9 <= n.start <= self.end + 1e-9]


class SelectingRoll:
    """The piano roll's selection and locks (a mixin of :class:`~composer_app.gui.piano_roll.PianoRoll`, which
    provides the signals ``selectionChanged``/``locksChanged``, ``selection``, the notes and the geometry)."""

    def selected_notes(self) -> list[TakeNote]:
        return self.selection.notes(self.notes)

    def clear_selection(self) -> None:
        if self.selection.active:
            self.selection.clear()
            self.selectionChanged.emit()
            self.update()

    def select_range(self, start_s: float, end_s: float) -> None:
        """Select the notes starting between ``start_s`` and ``end_s`` (what a drag does)."""
        self.selection.begin(start_s)
        self.selection.drag_to(end_s)
        self.selectionChanged.emit()
        self.update()

    def toggle_locks(self, notes: list[TakeNote] | None = None) -> None:
        """Lock ``notes`` (default: the selected ones), or unlock them if all are locked already."""
        notes = self.selected_notes() if notes is None else notes
        if not notes:
            return
        lock = not all(n.locked for n in notes)
        for n in notes:
            n.locked = lock
        self.locksChanged.emit()
        self.update()

    def note_at(self, x: float, y: float) -> TakeNote | None:
        """The note drawn under the point ``x``, ``y`` (None: none)."""
        t = self.time_at(x)
        pitch = self.high - int(y // max(self.row_height(), 1e-9))
        for n in reversed(self.visible_notes()):
            end = n.end if n.end is not None else n.start + 0.05
            if n.pitch == pitch and n.start - 2 / self.px_per_s <= t <= end:
                return n
        return None

    def time_at(self, x: float) -> float:
        return max(0.0, self.view_start_s + (x - KEY_W) / self.px_per_s)

    def mousePressEvent(self, event) -> None:
        if not self._interactive or event.button() != Qt.MouseButton.LeftButton or event.position().x() < KEY_W:
            return super().mousePressEvent(event)
        self._press_x = event.position().x()
        self._dragging = False
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._press_x is None:
            return super().mouseMoveEvent(event)
        x = event.position().x()
        if not self._dragging and abs(x - self._press_x) >= 4:  # a drag: a range from where it began
            self._dragging = True
            self.selection.begin(self.time_at(self._press_x),
                                 bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        if self._dragging:
            self.selection.drag_to(self.time_at(x))
            self.update()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._press_x is None:
            return super().mouseReleaseEvent(event)
        x, y = event.position().x(), event.position().y()
        dragged = self._dragging
        self._press_x, self._dragging = None, False
        mods = event.modifiers()
        if not dragged:  # a click: a note, its lock, or nothing
            note = self.note_at(x, y)
            if note is None:
                self.selection.clear()
            elif mods & Qt.KeyboardModifier.ControlModifier:
                self.toggle_locks([note])
            else:
                self.selection.select_note(note, bool(mods & Qt.KeyboardModifier.ShiftModifier))
        else:
            self.selection.drag_to(self.time_at(x))
        self.selectionChanged.emit()
        self.update()
        event.accept()

