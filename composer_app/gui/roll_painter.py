"""Painting the piano roll: pitch rows, bars and beats (or seconds), notes with the direction their key asked,
the play-head, and the keyboard at the left. Functions of a :class:`~composer_app.gui.piano_roll.PianoRoll`
and a QPainter; only the visible notes are drawn."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF

from composer_app.gui.steer_keys import arrow
from composer_app.pitches import note_name

KEY_W = 72  # pitch axis width: note names, then a keyboard
LABEL_W = 44
TIME_H = 20  # time axis height
MIN_BEAT_PX = 6.0  # beat lines closer than this are left out (bar lines stay)
BLACK = {1, 3, 6, 8, 10}
LOCK_COLOR = QColor(240, 200, 80)


def paint_roll(roll, p: QPainter) -> None:
    w, h = roll.width(), roll.height()
    grid_h = h - TIME_H
    p.fillRect(roll.rect(), QColor(26, 29, 36))
    small = QFont(roll.font())
    small.setPointSizeF(8)
    p.setFont(small)
    _paint_rows(roll, p, w)
    if roll.grid is not None:  # bars and beats when a tempo is set, else seconds
        _paint_bars(roll, p, grid_h)
    else:
        _paint_seconds(roll, p, grid_h)
    _paint_selection(roll, p, grid_h)
    _paint_notes(roll, p)
    _paint_head(roll, p, w, grid_h)
    _paint_keyboard(roll, p, w, grid_h)


def _paint_rows(roll, p: QPainter, w: float) -> None:
    """Pitch rows: black-key rows darker, a line at each C."""
    row = roll.row_height()
    for pitch in range(roll.low, roll.high + 1):
        y = roll.y_of(pitch)
        if pitch % 12 in BLACK:
            p.fillRect(QRectF(KEY_W, y, w - KEY_W, row), QColor(22, 24, 30))
        else:
            p.fillRect(QRectF(KEY_W, y, w - KEY_W, row), QColor(31, 35, 43))
        if pitch % 12 == 0:
            p.setPen(QPen(QColor(70, 76, 90), 1))
            p.drawLine(QPointF(KEY_W, y + row), QPointF(w, y + row))


def _paint_selection(roll, p: QPainter, grid_h: float) -> None:
    """The selected range: a band from its first note's start to its last note's end."""
    chosen = roll.selected_notes()
    if not chosen:
        return
    x0 = roll.x_of(chosen[0].start)
    x1 = roll.x_of(max((n.end if n.end is not None else n.start) for n in chosen))
    x0 = max(x0 - 3, KEY_W)
    if x1 + 3 > x0:
        p.fillRect(QRectF(x0, 0, x1 + 3 - x0, grid_h), QColor(120, 160, 255, 45))


def _paint_notes(roll, p: QPainter) -> None:
    row = roll.row_height()
    now = roll.now_s()
    selected = {n.start for n in roll.selected_notes()}
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for n in roll.visible_notes():
        end = n.end if n.end is not None else max(now, n.start + 0.02)
        x0, x1 = roll.x_of(n.start), roll.x_of(end)
        if x1 < KEY_W or n.pitch < roll.low or n.pitch > roll.high:
            continue
        x0 = max(x0, KEY_W)
        rect = QRectF(x0, roll.y_of(n.pitch) + 1, max(3.0, x1 - x0), max(2.0, row - 2))
        sounding = n.end is None or n.index in roll.replay_playing
        shade = 0.55 + 0.45 * (n.velocity / 127)
        color = QColor(255, 190, 80) if sounding else QColor(int(90 * shade), int(170 * shade), int(255 * shade))
        p.setBrush(color)
        if n.locked:  # kept by the player: a gold frame and a corner mark, whatever the recolour
            p.setPen(QPen(LOCK_COLOR, 2))
        else:
            p.setPen(QPen(QColor(255, 240, 200) if sounding or n.start in selected else QColor(30, 60, 100), 1))
        p.drawRoundedRect(rect, 3, 3)
        if n.locked:
            corner = QPolygonF([rect.topLeft(), rect.topLeft() + QPointF(7, 0), rect.topLeft() + QPointF(0, 7)])
            p.setBrush(LOCK_COLOR)
            p.drawPolygon(corner)
        if row >= 11 and rect.width() > 26:
            p.setPen(QColor(15, 20, 30))
            p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, note_name(n.pitch))
        if n.direction is not None:  # what the steer key asked, just above the note
            p.setPen(QColor(120, 230, 160))
            p.drawText(QRectF(x0 - 2, rect.top() - 14, 14, 14), Qt.AlignmentFlag.AlignCenter,
                       arrow(n.direction))
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _paint_head(roll, p: QPainter, w: float, grid_h: float) -> None:
    """The now line (while a note sounds) or the replay play-head."""
    head = roll.play_head_s()
    if head is not None:
        x = roll.x_of(head)
        if KEY_W <= x <= w:
            p.setPen(QPen(QColor(255, 120, 80), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, grid_h))


def _paint_keyboard(roll, p: QPainter, w: float, grid_h: float) -> None:
    """Pitch axis: names and MIDI numbers (every C; every white key when rows are tall), then a keyboard."""
    row = roll.row_height()
    p.fillRect(QRectF(0, 0, LABEL_W, grid_h), QColor(34, 38, 47))
    p.fillRect(QRectF(LABEL_W, 0, KEY_W - LABEL_W, grid_h), QColor(232, 232, 232))
    black_w = (KEY_W - LABEL_W) * 0.6
    for pitch in range(roll.low, roll.high + 1):
        y = roll.y_of(pitch)
        if pitch % 12 in BLACK:
            p.fillRect(QRectF(LABEL_W, y, black_w, row), QColor(30, 30, 34))
        if pitch % 12 in (0, 5) and row >= 3:
            p.setPen(QPen(QColor(160, 160, 160), 1))
            p.drawLine(QPointF(LABEL_W, y + row), QPointF(KEY_W, y + row))
        if pitch % 12 == 0 or (row >= 12 and pitch % 12 not in BLACK):
            p.setPen(QColor(225, 228, 235) if pitch % 12 == 0 else QColor(150, 156, 170))
            p.drawText(QRectF(0, y + row / 2 - 8, LABEL_W - 4, 16),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{note_name(pitch)} {pitch}")
    p.setPen(QPen(QColor(90, 96, 110), 1))
    p.drawLine(QPointF(KEY_W, 0), QPointF(KEY_W, grid_h))
    if not roll.notes:
        p.setPen(QColor(120, 126, 140))
        big = QFont(roll.font())
        big.setPointSizeF(12)
        p.setFont(big)
        p.drawText(QRectF(KEY_W, 0, w - KEY_W, grid_h), Qt.AlignmentFlag.AlignCenter,
                   "Notes appear here as you play")


def _paint_seconds(roll, p: QPainter, grid_h: float) -> None:
    step = _grid_step(roll.px_per_s)
    t = (int(roll.view_start_s / step)) * step
    p.setPen(QPen(QColor(52, 57, 68), 1))
    end_t = roll.view_start_s + roll.visible_seconds
    while t <= end_t + step:
        x = roll.x_of(t)
        if x >= KEY_W:
            p.setPen(QPen(QColor(52, 57, 68), 1))
            p.drawLine(QPointF(x, 0), QPointF(x, grid_h))
            p.setPen(QColor(140, 146, 160))
            label = f"{t:.0f}s" if step >= 1 else f"{t:.1f}s"
            p.drawText(QRectF(x + 3, grid_h, 60, TIME_H), Qt.AlignmentFlag.AlignVCenter, label)
        t += step


def _paint_bars(roll, p: QPainter, grid_h: float) -> None:
    grid = roll.grid
    t0, t1 = roll.view_start_s, roll.view_start_s + roll.visible_seconds
    show_beats = grid.beat_s * roll.px_per_s >= MIN_BEAT_PX
    label_every = max(1, int(50 / max(1e-9, grid.bar_s * roll.px_per_s)) + 1)
    for t, bar, beat in grid.lines(t0, t1 + grid.bar_s):
        if beat and not show_beats:
            continue
        x = roll.x_of(t)
        if x < KEY_W:
            continue
        p.setPen(QPen(QColor(96, 104, 124) if beat == 0 else QColor(46, 51, 62), 1))
        p.drawLine(QPointF(x, 0), QPointF(x, grid_h))
        if beat == 0 and (bar - 1) % label_every == 0:
            p.setPen(QColor(160, 166, 180))
            p.drawText(QRectF(x + 3, grid_h, 60, TIME_H), Qt.AlignmentFlag.AlignVCenter, f"bar {bar}")


def _grid_step(px_per_s: float) -> float:
    """Seconds between grid lines: about 60-150 pixels apart."""
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60):
        if step * px_per_s >= 60:
            return float(step)
    return 120.0


