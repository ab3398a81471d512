"""The Qt test set-up works: an offscreen widget gets real key events through pytest-qt."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


class KeyRecorder(QWidget):
    def __init__(self):
        super().__init__()
        self.events: list[tuple[str, int, bool]] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, event):
        self.events.append(("press", event.key(), event.isAutoRepeat()))

    def keyReleaseEvent(self, event):
        self.events.append(("release", event.key(), event.isAutoRepeat()))


def test_offscreen_platform():
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_widget_receives_key_press_and_release(qtbot):
    assert QGuiApplication.platformName() == "offscreen"
    widget = KeyRecorder()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.keyPress(widget, Qt.Key.Key_Z)
    qtbot.keyRelease(widget, Qt.Key.Key_Z)
    qtbot.keyClick(widget, Qt.Key.Key_Space)
    assert widget.events == [
        ("press", Qt.Key.Key_Z, False),
        ("release", Qt.Key.Key_Z, False),
        ("press", Qt.Key.Key_Space, False),
        ("release", Qt.Key.Key_Space, False),
    ]
