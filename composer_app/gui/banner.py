"""A message strip at the top of the window: errors and warnings in plain words, never a blocking dialog.

The instrument must keep playing while it tells the player that the sound card is missing or a file could not
be written, so problems are shown here (non-modal) instead of in a message box that would swallow the next key
presses. The strip shows the last few messages, newest first, so a start-up warning is not hidden by the next
one; plain information ("exported …") fades after a few seconds, problems stay until dismissed.

Tests read :attr:`MessageBanner.message` and :attr:`MessageBanner.level` (the newest message).
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
SHOWN = 3
INFO_FADE_MS = 8000


class MessageBanner(QFrame):
    """Shows the newest messages; all of them stay in :attr:`history` (and the tooltip)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.level: str | None = None
        self.message: str = ""
        self.history: list[tuple[float, str, str]] = []
        self._shown: list[tuple[float, str, str]] = []
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
        self._fade = QTimer(self)
        self._fade.setSingleShot(True)
        self._fade.timeout.connect(self._fade_info)
        self.hide()

    def show_message(self, text: str, level: str = "error") -> None:
        """Show ``text`` (plain words) at ``level`` 'error', 'warning' or 'info'."""
        if level not in STYLES:
            level = "error"
        entry = (time.time(), level, text)
        self.history.append(entry)
        del self.history[:-50]
        log.log(logging.ERROR if level == "error" else logging.INFO, "%s: %s", level, text)
        self.level, self.message = level, text
        self._shown = [e for e in self._shown if e[2] != text] + [entry]
        del self._shown[:-SHOWN]
        if level == "info":
            self._fade.start(INFO_FADE_MS)
        self._render()

    def _render(self) -> None:
        if not self._shown:
            self.hide()
            return
        newest = self._shown[-1][1]
        lines = []
        for i, (_, level, text) in enumerate(reversed(self._shown)):
            style = "" if i == 0 else " style='opacity:0.75; color:#c8c8c8'"
            lines.append(f"<div{style}><b>{PREFIX[level]}</b>{html.escape(text)}</div>")
        self.label.setText("".join(lines))
        self.setStyleSheet(f"MessageBanner {{{STYLES[newest]} border-radius:4px;}} QLabel {{border:none;}}")
        self.setToolTip("\n".join(f"{time.strftime('%H:%M:%S', time.localtime(t))} {lv}: {m}"
                                  for t, lv, m in self.history[-10:]))
        self.show()

    def _fade_info(self) -> None:
        cutoff = time.time() - INFO_FADE_MS / 1000 + 0.5
        self._shown = [e for e in self._shown if e[1] != "info" or e[0] > cutoff]
        if self.level == "info" and not any(e[2] == self.message for e in self._shown):
            self.level, self.message = None, ""
        self._render()

    @property
    def shown_messages(self) -> list[str]:
        """The messages on screen, newest first."""
        return [text for _, _, text in reversed(self._shown)]

    def dismiss(self) -> None:
        self.level, self.message = None, ""
        self._shown = []
        self.hide()
