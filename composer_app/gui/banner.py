"""A message strip at the top of the window: errors and warnings in plain words, never a blocking dialog.

The instrument must keep playing while it tells the player that the sound card is missing or a file could not
be written, so problems are shown here (non-modal) instead of in a message box that would swallow the next key
presses. The strip shows **one** message: a new one replaces it, so the strip never grows and an old problem
never comes back after a newer success. Information fades after a few seconds, a warning after longer, a
problem stays until replaced or dismissed; earlier messages stay readable in the tooltip.

Tests read :attr:`MessageBanner.message` and :attr:`MessageBanner.level`.
"""

from __future__ import annotations

import html
import logging
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

log = logging.getLogger(__name__)

STYLES = {
    "error": "background:#5c1f24; color:#ffe3e3; border:1px solid #a4444c;",
    "warning": "background:#4d3f17; color:#fff3cf; border:1px solid #a88a2c;",
    "info": "background:#1f3b57; color:#e3f0ff; border:1px solid #3e6c99;",
}
PREFIX = {"error": "Problem: ", "warning": "Note: ", "info": ""}
#: How long each level stays on screen (ms); None = until replaced or dismissed.
EXPIRE_MS = {"info": 8000, "warning": 30000, "error": None}
HISTORY = 50


class MessageBanner(QFrame):
    """Shows the newest message only; all of them stay in :attr:`history` (and the tooltip)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.level: str | None = None
        self.message: str = ""
        self.history: list[tuple[float, str, str]] = []
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._expire = QTimer(self)
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.dismiss)
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text`` (plain words) at ``level`` 'error', 'warning' or 'info', in place of the last one."""
        if level not in STYLES:
            level = "error"
        self.history.append((time.time(), level, text))
        del self.history[:-HISTORY]
        log.log(logging.ERROR if level == "error" else logging.INFO, "%s: %s", level, text)
        self.level, self.message = level, text
        self.label.setText(f"<b>{PREFIX[level]}</b>{html.escape(text)}")
        self.setStyleSheet(f"MessageBanner {{{STYLES[level]} border-radius:4px;}} QLabel {{border:none;}}")
        self.setToolTip("\n".join(f"{time.strftime('%H:%M:%S', time.localtime(t))} {lv}: {m}"
                                  for t, lv, m in self.history[-10:]))
        expire = EXPIRE_MS[level]
        if expire is None:
            self._expire.stop()
        else:
            self._expire.start(expire)
        self.show()

    @property
    def shown_messages(self) -> list[str]:
        """The messages on screen (at most one)."""
        return [self.message] if self.level is not None else []

    def dismiss(self) -> None:
        self._expire.stop()
        self.level, self.message = None, ""
        self.hide()
