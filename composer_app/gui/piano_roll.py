"""The piano roll: notes appear at key-down at their pitch and grow until release, scrolling with time.

A plain QWidget painted with QPainter (no QGraphicsScene): a take is at most a few thousand rectangles and
only the visible ones are drawn (notes are kept sorted by start time, found with bisect). The widget repaints
on a 30 fps timer **only while a note sounds or a replay runs**; otherwise it paints only when something
changes, so an idle window costs nothing. 30 rather than 60 fps because a frame is Python holding the GIL,
which the audio callback and the MIDI thread also need.

The roll keeps its own copy of the notes (:class:`TakeNote`), fed by engine events on the GUI thread, so
painting never reads the engine's take while another thread appends to it.

Interaction: the wheel scrolls in time, Ctrl+wheel zooms around the pointer, Shift+wheel scrolls in pitch;
:meth:`zoom` and :meth:`scroll_by` serve the window's +/- and arrow actions. Scrolling back while playing stops
following the newest note; the next tap follows again. Dragging across notes selects them (a click picks one,
Shift+click extends, a click on nothing clears: :class:`~composer_app.gui.roll_selection.RollSelection`);
Ctrl+click locks or unlocks a note (:meth:`toggle_locks`), so that no recolour changes it.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QScrollBar, QSizePolicy, QVBoxLayout, QWidget

from composer_app.clock import ns_to_s, s_to_ns
from composer_app.gui.beat_grid import BeatGrid
from composer_app.gui.roll_painter import KEY_W, TIME_H, paint_roll
from composer_app.gui.roll_selection import RollSelection, SelectingRoll
from composer_app.take import TakeNote

FRAME_MS = 33
MIN_SPAN = 25  # at least two octaves visible
MIN_PX_PER_S, MAX_PX_PER_S = 10.0, 2000.0
DEFAULT_PX_PER_S = 110.0
#: A whole take is shown only while its notes stay readable: the median gap between onsets at least this wide.
READABLE_GAP_PX = 18.0


def notes_from_take(take) -> list[TakeNote]:
    """The roll's own copy of a take's notes, from a snapshot of its list (the engine thread may append
    meanwhile); a note still sounding keeps ``end`` None."""
    return [replace(n) for n in list(take.notes)]


class PianoRoll(SelectingRoll, QWidget):
    """The roll itself; :class:`RollView` adds the scroll bar."""

    viewChanged = Signal()
    selectionChanged = Signal()
    locksChanged = Signal()

    def __init__(self, parent=None, interactive: bool = True):
        super().__init__(parent)
        self.notes: list[TakeNote] = []
        self._starts: list[float] = []
        self._by_index: dict[int, TakeNote] = {}
        self._max_dur = 0.0
        self._max_end = 0.0  # latest end (or start) of any note: the take's length without a scan
        self._px_per_s = DEFAULT_PX_PER_S
        self.grid: BeatGrid | None = None
        self.view_start_s = 0.0
        self.low, self.high = 48, 84
        self._range_fitted = False  # the pitch range still the default: the first note re-centres it
        self.follow = True
        self.origin_ns: int | None = None  # perf_counter_ns of the take's time 0 (live takes)
        self.live = True
        self.replay_playing: set[int] = set()
        self._replay_t0: float | None = None
        self._replay_offset = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._frame)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(160)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._interactive = interactive
        self.selection = RollSelection()
        self._press_x: float | None = None
        self._dragging = False
        self.setAccessibleName("Piano roll")

    # -- data -----------------------------------------------------------------------------------------------------
    def set_notes(self, notes: list[TakeNote], live: bool = False, origin_ns: int | None = None) -> None:
        """Show ``notes`` (a whole take); ``live`` = more will come from engine events."""
        self.notes = sorted(notes, key=lambda n: n.start)
        self._starts = [n.start for n in self.notes]
        self._by_index = {n.index: n for n in self.notes}
        self._max_dur = max(((n.end or n.start) - n.start for n in self.notes), default=0.0)
        self._max_end = max(((n.end if n.end is not None else n.start) for n in self.notes), default=0.0)
        self.live = live
        self.origin_ns = origin_ns
        self.replay_playing.clear()
        self.selection.clear()
        self._fit_pitch(reset=True)
        if not live:
            self.follow = False
            self.view_start_s = 0.0
        else:
            self.follow = True
            self._follow_now()
        self._update_timer()
        self.viewChanged.emit()
        self.update()

    def clear(self, live: bool = True) -> None:
        self.set_notes([], live=live)
        self.low, self.high = 48, 84
        self._range_fitted = False

    def note_started(self, index: int, pitch: int, start_s: float, t_ns: int, velocity: int = 100,
                     direction: int | None = None) -> None:
        """A note began sounding (engine event); ``t_ns`` its key-down, to place "now" on the take's clock;
        ``direction`` what its steer key asked for."""
        self.origin_ns = int(t_ns) - s_to_ns(start_s)
        for i in [i for i in self._by_index if i >= index]:  # an undone note's index is reused
            self._remove(i)
        note = TakeNote(index, start_s, pitch, velocity, direction=direction)
        pos = bisect.bisect_right(self._starts, start_s)
        self.notes.insert(pos, note)
        self._starts.insert(pos, start_s)
        self._by_index[index] = note
        self._max_end = max(self._max_end, start_s)
        self.live = True
        self.follow = True
        self._fit_pitch()
        self._follow_now()
        self._update_timer()
        self.update()

    def note_ended(self, index: int, dur_s: float, undone: bool = False) -> None:
        note = self._by_index.get(index)
        if note is None:
            return
        if undone:
            self._remove(index)
        else:
            note.end = note.start + max(0.0, dur_s)
            self._max_dur = max(self._max_dur, note.end - note.start)
            self._max_end = max(self._max_end, note.end)
        self._update_timer()
        self.viewChanged.emit()
        self.update()

    def note(self, index: int) -> TakeNote | None:
        """The note with take index ``index`` (None when there is none)."""
        return self._by_index.get(index)

    def set_grid(self, grid: BeatGrid | None) -> None:
        """Draw bars and beats of ``grid`` (None: seconds only)."""
        self.grid = grid
        self.update()

    def _remove(self, index: int) -> None:
        note = self._by_index.pop(index, None)
        if note is None:
            return
        pos = self.notes.index(note)
        del self.notes[pos]
        del self._starts[pos]
        self._max_end = max(((n.end if n.end is not None else n.start) for n in self.notes), default=0.0)

    # -- replay ---------------------------------------------------------------------------------------------------
    def replay_started(self) -> None:
        self.replay_playing.clear()
        self._replay_t0 = time.monotonic()
        self._replay_offset = self.notes[0].start if self.notes else 0.0
        self._update_timer()

    def replay_note(self, index: int, on: bool) -> None:
        if on:
            self.replay_playing.add(index)
            note = self._by_index.get(index)
            if note is not None:  # keep the replayed note in view
                span = self.visible_seconds
                if not self.view_start_s <= note.start <= self.view_start_s + span * 0.9:
                    self.view_start_s = max(0.0, note.start - span * 0.2)
                    self.viewChanged.emit()
        else:
            self.replay_playing.discard(index)
        self.update()

    def play_head_s(self) -> float | None:
        """Where the line across the roll is: now while a note sounds, the replay's place while replaying."""
        if self.live and self.sounding:
            return self.now_s()
        if self._replay_t0 is not None:
            return self._replay_offset + time.monotonic() - self._replay_t0
        return None

    def replay_finished(self) -> None:
        self.replay_playing.clear()
        self._replay_t0 = None
        self._update_timer()
        self.update()

    # -- geometry -------------------------------------------------------------------------------------------------
    @property
    def px_per_s(self) -> float:
        """The zoom: pixels per second, always within :data:`MIN_PX_PER_S`..:data:`MAX_PX_PER_S`."""
        return self._px_per_s

    @px_per_s.setter
    def px_per_s(self, value: float) -> None:
        # Held here, where every zoom passes: 0 divides by zero in painting, 1e-300 makes the grid loop forever.
        value = float(value)
        self._px_per_s = min(MAX_PX_PER_S, max(MIN_PX_PER_S, value)) if math.isfinite(value) else DEFAULT_PX_PER_S

    @property
    def visible_seconds(self) -> float:
        return max(1.0, self.width() - KEY_W) / self.px_per_s

    @property
    def duration_s(self) -> float:
        """End of the take so far (now, while a note sounds)."""
        if not self.notes:
            return 0.0
        return max(self._max_end, self.now_s()) if self.sounding else self._max_end

    def now_s(self) -> float:
        if self.origin_ns is None:
            return self.notes[-1].start if self.notes else 0.0
        return ns_to_s(time.perf_counter_ns() - self.origin_ns)

    @property
    def sounding(self) -> bool:
        return any(n.end is None for n in self.notes[-4:])

    def x_of(self, t: float) -> float:
        return KEY_W + (t - self.view_start_s) * self.px_per_s

    def y_of(self, pitch: float) -> float:
        """Top of the row of ``pitch``."""
        h = self.height() - TIME_H
        row = h / (self.high - self.low + 1)
        return (self.high - pitch) * row

    def row_height(self) -> float:
        return (self.height() - TIME_H) / (self.high - self.low + 1)

    def _fit_pitch(self, reset: bool = False) -> None:
        if not self.notes:
            return
        reset = reset or not self._range_fitted
        self._range_fitted = True
        lo = min(n.pitch for n in self.notes) - 2
        hi = max(n.pitch for n in self.notes) + 2
        if not reset:  # during a take the range only grows: rows must not jump under the player's eyes
            lo, hi = min(lo, self.low), max(hi, self.high)
        if hi - lo + 1 < MIN_SPAN:
            pad = MIN_SPAN - (hi - lo + 1)
            lo -= pad // 2
            hi += pad - pad // 2
        lo, hi = max(0, lo), min(127, hi)
        self.low, self.high = lo, hi

    def _follow_now(self) -> None:
        if not self.follow:
            return
        end = self.now_s() if self.sounding else self.duration_s
        span = self.visible_seconds
        self.view_start_s = max(0.0, end - span * 0.8)
        self.viewChanged.emit()

    # -- view control ---------------------------------------------------------------------------------------------
    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom in time by ``factor`` (>1 = in) around ``anchor_x`` (pixels; default the view's centre)."""
        if anchor_x is None:
            anchor_x = KEY_W + (self.width() - KEY_W) / 2
        t_anchor = self.view_start_s + (anchor_x - KEY_W) / self.px_per_s
        self.px_per_s = min(MAX_PX_PER_S, max(MIN_PX_PER_S, self.px_per_s * factor))
        self.view_start_s = max(0.0, t_anchor - (anchor_x - KEY_W) / self.px_per_s)
        if self.follow:
            self._follow_now()
        self.viewChanged.emit()
        self.update()

    def scroll_by(self, seconds: float) -> None:
        self.follow = False
        self.view_start_s = max(0.0, min(self.view_start_s + seconds, max(0.0, self.duration_s)))
        self.viewChanged.emit()
        self.update()

    def scroll_to(self, seconds: float) -> None:
        self.follow = False
        self.view_start_s = max(0.0, seconds)
        self.viewChanged.emit()
        self.update()

    def go_home(self) -> None:
        self.scroll_to(0.0)

    def go_end(self) -> None:
        self.follow = True
        self._follow_now()
        self.update()

    def fit(self, readable: bool = False) -> None:
        """Show the whole take; ``readable``: but never so small that notes shrink to dots (then it starts at
        the beginning, zoomed to :data:`READABLE_GAP_PX` per typical note, and scrolls)."""
        dur = self.duration_s
        if dur > 0:
            px = (self.width() - KEY_W - 20) / (dur * 1.02)
            if readable:
                px = max(px, self.readable_px_per_s())
            self.px_per_s = min(MAX_PX_PER_S, max(MIN_PX_PER_S, px))
        self.view_start_s = 0.0
        self.follow = False
        self.viewChanged.emit()
        self.update()

    def readable_px_per_s(self) -> float:
        """The zoom at which the typical gap between onsets is :data:`READABLE_GAP_PX` wide."""
        gaps = sorted(b - a for a, b in zip(self._starts, self._starts[1:], strict=False) if b > a)
        if not gaps:
            return MIN_PX_PER_S
        return READABLE_GAP_PX / gaps[len(gaps) // 2]

    def reset_zoom(self) -> None:
        """The zoom a new take starts with."""
        self.px_per_s = DEFAULT_PX_PER_S
        self.view_start_s = 0.0
        self.viewChanged.emit()
        self.update()

    def set_view(self, px_per_s: float, view_start_s: float) -> None:
        """Show from ``view_start_s`` at ``px_per_s`` (a view kept in step with another)."""
        if (px_per_s, view_start_s) == (self.px_per_s, self.view_start_s):
            return
        self.px_per_s = min(MAX_PX_PER_S, max(MIN_PX_PER_S, px_per_s))
        self.view_start_s = max(0.0, view_start_s)
        self.follow = False
        self.viewChanged.emit()
        self.update()

    def shift_pitch(self, semitones: int) -> None:
        span = self.high - self.low
        low = max(0, min(127 - span, self.low + semitones))
        self.low, self.high = low, low + span
        self.update()

    def wheelEvent(self, event) -> None:
        if not self._interactive:
            return super().wheelEvent(event)
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120.0
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.25 ** steps, event.position().x())
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.shift_pitch(int(round(steps * 2)))
        else:
            self.scroll_by(-steps * self.visible_seconds * 0.15)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.follow:
            self._follow_now()
        self.viewChanged.emit()

    # -- animation ------------------------------------------------------------------------------------------------
    def _update_timer(self) -> None:
        animate = (self.live and self.sounding) or self._replay_t0 is not None
        if animate and not self._timer.isActive():
            self._timer.start()
        elif not animate and self._timer.isActive():
            self._timer.stop()

    @property
    def animating(self) -> bool:
        return self._timer.isActive()

    def _frame(self) -> None:
        if self.follow:
            self._follow_now()
        self.update()
        self._update_timer()

    # -- painting -------------------------------------------------------------------------------------------------
    def visible_notes(self) -> list[TakeNote]:
        t0 = self.view_start_s - self._max_dur - 1.0
        t1 = self.view_start_s + self.visible_seconds
        lo = bisect.bisect_left(self._starts, t0)
        hi = bisect.bisect_right(self._starts, t1)
        return self.notes[lo:hi]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        paint_roll(self, p)
        p.end()


class RollView(QWidget):
    """The piano roll with a horizontal scroll bar kept in step with it."""

    SCALE = 100  # scroll bar units per second

    def __init__(self, parent=None, interactive: bool = True):
        super().__init__(parent)
        self.roll = PianoRoll(self, interactive)
        self.bar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.roll, 1)
        layout.addWidget(self.bar)
        self._syncing = False
        self.roll.viewChanged.connect(self._sync_bar)
        self.bar.valueChanged.connect(self._bar_moved)

    def _sync_bar(self) -> None:
        self._syncing = True
        span = self.roll.visible_seconds
        end = max(self.roll.duration_s + 1.0, self.roll.view_start_s + span)
        self.bar.setRange(0, _bar_units((end - span) * self.SCALE))
        self.bar.setPageStep(_bar_units(span * self.SCALE))
        self.bar.setSingleStep(max(1, _bar_units(span * self.SCALE / 10)))
        self.bar.setValue(_bar_units(self.roll.view_start_s * self.SCALE))
        self._syncing = False

    def _bar_moved(self, value: int) -> None:
        if not self._syncing:
            self.roll.scroll_to(value / self.SCALE)


def _bar_units(value: float) -> int:
    """A scroll bar position: Qt holds a C int, so a take of absurd length (a damaged file) is held to it."""
    return int(min(2**31 - 1, max(0.0, value))) if math.isfinite(value) else 0
