"""The tap area: z, x and space play, the home row ``a s d f j k l ;`` plays and steers; every press flashes
and shows the note that sounded, with the direction a steer key asked for.

Why it is built this way
------------------------
* **The key goes to the engine first, feedback after.** ``press(source, t_ns)`` (the window's
  :meth:`~composer_app.gui.engine_bridge.EngineBridge.press`) sounds the note before anything is repainted;
  it steps the model on this thread only when the engine thread is idle (a short step) and queues
  the event otherwise, so the GUI thread never waits on slow engine work. :attr:`TapArea.handler_ns` keeps what
  each key-down cost this thread. Timing rules (legato, repeats, chords) live in the engine's beat capture.
* **Event time, not handling time.** :class:`KeyClock` maps Qt's millisecond key timestamps (the X server's
  clock under X11) onto ``perf_counter_ns``, the engine's clock, so a busy GUI thread delays a note but does not
  shift it in the take. Synthetic events without a timestamp (tests) use the current time.
* **Auto-repeat is ignored**: events flagged ``isAutoRepeat()``, and the X11 release/press pairs with one
  timestamp that Qt fails to flag now and then (a held key would otherwise end and restart). A key-up is
  therefore sent after a 15 ms grace, or at once when another key goes down; it carries its own timestamp, so
  only the audible note-off waits, not the take.
* **Keys reach the instrument wherever the focus is.** :class:`KeyRouter` sends the playing keys from any
  non-text widget of the window to the tap area, so changing a control never silences the keyboard.
* **No stuck notes.** Losing the window's focus while a key is down releases it.
"""

from __future__ import annotations

import collections
import time

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QWidget,
)

from composer_app.gui.steer_keys import arrow
from composer_app.live.beat_capture import STEER_KEYS, EventClock, key_source, steer_key_height
from composer_app.pitches import note_name

PLAIN_KEYS = {Qt.Key.Key_Z: "z", Qt.Key.Key_X: "x", Qt.Key.Key_Space: "space"}
#: Every key that plays: the three plain tap keys and the eight steer keys (low to high).
TAP_KEYS = {**PLAIN_KEYS, **{getattr(Qt.Key, f"Key_{q}"): name for q, name in
                            zip(("A", "S", "D", "F", "J", "K", "L", "Semicolon"), STEER_KEYS, strict=True)}}
FLASH_MS = 220
FRAME_MS = 30
#: How long a key-up waits for the key-down X sends with the same timestamp when auto-repeat fires (Qt flags
#: most such pairs, not all). Only the audible note-off waits; the take keeps the real time.
RELEASE_GRACE_MS = 15


class KeyClock:
    """Qt key-event timestamps (ms) -> ``perf_counter_ns``; events stamped 0 (synthetic) get "now"."""

    def __init__(self):
        self._clock = EventClock(1_000_000)

    def to_ns(self, stamp: int) -> int:
        now = time.perf_counter_ns()
        if not stamp:
            return now
        return self._clock.to_ns(stamp, now)


class TapArea(QWidget):
    """The big playing surface. ``press(source, t_ns, key_height)`` (``key_height`` a steer key's place, low
    to high, or None) and ``release(source, t_ns)`` are called at once, on the GUI thread, and must only hand
    the event over."""

    tapped = Signal(str)  # key name, after the press was handed to the engine (for the window's bookkeeping)

    def __init__(self, press, release, parent=None):
        super().__init__(parent)
        self._press = press
        self._release = release
        self.clock = KeyClock()
        self.held: set[str] = set()
        # key-ups held back for RELEASE_GRACE_MS: name -> (Qt timestamp, t_ns)
        self._pending_release: dict[str, tuple[int, int]] = {}
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.setInterval(RELEASE_GRACE_MS)
        self._release_timer.timeout.connect(self._flush_releases)
        self.handler_ns: collections.deque[int] = collections.deque(maxlen=4096)
        self.note_count = 0  # notes in the take shown (set by the window)
        self.last_note: tuple[int, int] | None = None  # (index, pitch) of the note shown large
        self.direction: int | None = None  # what the shown note's steer key asked: +1 up, -1 down, 0 same
        self.steer = 1.0  # the tempo bar's steer strength: the hint says what the home row does at it
        self.sounding = False
        self._flash = 0.0
        self._flash_t0 = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(170)
        self.setAccessibleName("Tap area: press z, x or space to play; a s d f j k l ; to play and steer")
        self.setToolTip("Tap z, x or space (or a MIDI keyboard) to play. Hold a key for a longer note; "
                        "press another key while holding one for legato. The home row a s d f j k l ; also "
                        "plays, and steers the melody: a key higher than the last asks for a higher pitch.")

    # -- keys -----------------------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if not self.handle_key(event, True):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if not self.handle_key(event, False):
            super().keyReleaseEvent(event)

    def handle_key(self, event, down: bool) -> bool:
        """Play a tap-key event; True when it was one (consumed, repeats included)."""
        t0 = time.perf_counter_ns()
        name = TAP_KEYS.get(event.key())
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if name is None or mods != Qt.KeyboardModifier.NoModifier:
            return False
        event.accept()
        if event.isAutoRepeat():
            return True
        stamp = event.timestamp()
        if down:
            pending = self._pending_release.pop(name, None)
            if pending is not None and stamp and pending[0] == stamp:
                return True  # X auto-repeat that Qt did not flag: the key never went up
            self._flush_releases()
            if name in self.held:
                return True
            self.held.add(name)
            self._press(key_source(name), self.clock.to_ns(stamp), steer_key_height(name))
            self.handler_ns.append(time.perf_counter_ns() - t0)
            self._start_flash()
            self.tapped.emit(name)
        else:
            if name not in self.held or name in self._pending_release:
                return True
            if stamp:  # hold it back a moment: an auto-repeat press with this very timestamp may follow
                self._pending_release[name] = (stamp, self.clock.to_ns(stamp))
                self._release_timer.start()
            else:
                self._do_release(name, self.clock.to_ns(stamp))
        return True

    def _do_release(self, name: str, t_ns: int) -> None:
        self.held.discard(name)
        self._release(key_source(name), t_ns)
        self.update()

    def _flush_releases(self) -> None:
        """Send the key-ups held back (in order, with their own timestamps: the take's timing is exact)."""
        pending, self._pending_release = self._pending_release, {}
        for name, (_, t_ns) in sorted(pending.items(), key=lambda item: item[1][1]):
            self._do_release(name, t_ns)

    def release_all(self) -> None:
        """Release every held tap key now (the window lost focus: the key-ups would never arrive)."""
        self._flush_releases()
        now = time.perf_counter_ns()
        for name in sorted(self.held):
            self._release(key_source(name), now)
        self.held.clear()
        self.update()

    def focusOutEvent(self, event) -> None:
        # A popup or another window took the keyboard: its key-ups will not come here.
        if event.reason() in (Qt.FocusReason.ActiveWindowFocusReason, Qt.FocusReason.PopupFocusReason):
            self.release_all()
        super().focusOutEvent(event)
        self.update()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        super().mousePressEvent(event)

    # -- feedback -------------------------------------------------------------------------------------------------
    def show_note(self, index: int, pitch: int, direction: int | None = None) -> None:
        """``pitch`` sounds (a key, a MIDI note or a replayed note): flash and show its name, and the
        direction its steer key asked for (None: not a steering key)."""
        self.last_note = (index, pitch)
        self.direction = direction
        self.sounding = True
        self._start_flash()

    def show_resting(self, index: int | None, pitch: int | None) -> None:
        """Show the take's last note, not sounding (after an undo); None shows nothing."""
        self.last_note = None if index is None else (index, pitch)
        self.direction = None
        self.sounding = False
        self.update()

    def note_stopped(self) -> None:
        self.sounding = False
        self.update()

    def set_steer(self, strength: float) -> None:
        """The steer strength now: the hint tells a new player whether the home-row keys steer."""
        if strength != self.steer:
            self.steer = strength
            self.update()

    @property
    def hint(self) -> str:
        """The line at the top: the note count, or (on an empty take) what each key does at this steer strength,
        or how to give the keyboard back when the tap area lost it."""
        if not self.hasFocus():
            return "click here (or press Esc) to give the keyboard back to the instrument"
        n = self.note_count
        if n:
            return f"{n} note{'s' if n != 1 else ''} in this take"
        if self.steer == 0:
            return "z x space a s d f j k l ; play  ·  Steer is 0: the keys do not steer  ·  Esc stops"
        return ("z x space play  ·  a s d f j k l ; steer: a higher key, a higher note; the same key, the same "
                "note  ·  Esc stops")

    def set_note_count(self, count: int) -> None:
        """How many notes the take shown holds (the counter in the corner)."""
        if count != self.note_count:
            self.note_count = count
            self.update()

    def clear(self) -> None:
        self.last_note = None
        self.direction = None
        self.sounding = False
        self.note_count = 0
        self.update()

    def _start_flash(self) -> None:
        self._flash = 1.0
        self._flash_t0 = time.monotonic()
        if not self._timer.isActive():
            self._timer.start()
        self.update()

    def _tick(self) -> None:
        elapsed = (time.monotonic() - self._flash_t0) * 1000
        self._flash = max(0.0, 1.0 - elapsed / FLASH_MS)
        if self._flash <= 0.0:
            self._timer.stop()
        self.update()

    @property
    def note_text(self) -> str:
        if self.last_note is None:
            return ""
        text = f"{note_name(self.last_note[1])}  ({self.last_note[1]})"
        return f"{arrow(self.direction)} {text}" if self.direction is not None else text

    def _draw_keys(self, p: QPainter, keys: list[tuple[str, float]], centre_x: float, y: float, key_h: float,
                   gap: float) -> None:
        x = centre_x - (sum(w for _, w in keys) + gap * (len(keys) - 1)) / 2
        for name, width in keys:
            cap = QRectF(x, y, width, key_h)
            held = name in self.held
            p.setBrush(QColor(255, 170, 60) if held else QColor(60, 66, 80))
            p.setPen(QPen(QColor(140, 146, 160), 1))
            p.drawRoundedRect(cap, 6, 6)
            p.setPen(QColor(20, 20, 20) if held else QColor(220, 224, 230))
            p.drawText(cap, Qt.AlignmentFlag.AlignCenter, name)
            x += width + gap

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        base = QColor(38, 44, 58)
        lit = QColor(255, 170, 60)
        f = self._flash
        bg = QColor(int(base.red() + (lit.red() - base.red()) * f * 0.6),
                    int(base.green() + (lit.green() - base.green()) * f * 0.6),
                    int(base.blue() + (lit.blue() - base.blue()) * f * 0.6))
        p.setBrush(bg)
        focus = self.hasFocus()
        p.setPen(QPen(QColor(255, 170, 60) if focus else QColor(90, 96, 110), 3 if focus else 1.5))
        p.drawRoundedRect(r, 14, 14)

        # the note that sounded last, large
        big = QFont(self.font())
        note_box = QRectF(r.left(), r.top() + 24, r.width(), max(30.0, r.height() - 24 - 2 * 26 - 30))
        big.setPointSizeF(max(16.0, min(54.0, note_box.height() * 0.5)))
        big.setBold(True)
        p.setFont(big)
        p.setPen(QColor(255, 235, 200) if self.sounding else QColor(200, 205, 215))
        text = self.note_text or "Tap to play"
        p.drawText(note_box, Qt.AlignmentFlag.AlignCenter, text)

        # the keys, lit while held: the eight steer keys above, the three plain ones below
        small = QFont(self.font())
        small.setPointSizeF(10)
        p.setFont(small)
        key_h, gap = 26.0, 8.0
        self._draw_keys(p, [(n, 40.0) for n in STEER_KEYS], r.center().x(), r.bottom() - 2 * key_h - 20, key_h,
                        gap)
        self._draw_keys(p, [("z", 56.0), ("x", 56.0), ("space", 150.0)], r.center().x(), r.bottom() - key_h - 10,
                        key_h, gap)
        hint = self.hint
        p.setPen(QColor(150, 156, 170))
        p.drawText(QRectF(r.left() + 12, r.top() + 8, r.width() - 24, 20),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, hint)
        p.end()


_TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


class KeyRouter(QObject):
    """Application event filter: the playing keys typed into any non-text widget of ``window`` play.

    A text field keeps its letters (a hint note may be typed there), except the key-up of a key the tap area
    holds, which must always reach it.
    """

    def __init__(self, window, tap: TapArea):
        super().__init__(window)
        self.window = window
        self.tap = tap

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        if obj is self.tap or not isinstance(obj, QWidget) or obj.window() is not self.window:
            return False
        name = TAP_KEYS.get(event.key())
        if name is None:
            return False
        down = kind == QEvent.Type.KeyPress
        if _is_text_input(obj) and (down or name not in self.tap.held):
            return False
        return self.tap.handle_key(event, down)

    def install(self) -> None:
        QApplication.instance().installEventFilter(self)

    def uninstall(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


def _is_text_input(widget: QWidget) -> bool:
    if isinstance(widget, _TEXT_INPUTS):
        return True
    return isinstance(widget, QComboBox) and widget.isEditable()
