"""Help > Keyboard shortcuts: a table built from the window's own actions, so it can never fall out of date."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

PLAYING = [
    ("z, x, space", "Play: each key-down sounds a note (hold for a long note; press another key while holding "
                    "one for legato)"),
    ("a s d f j k l ;", "Play and steer, low to high: a key higher than the last asks for a higher note, a "
                        "lower one for a lower note, the same key for the same note (how strongly: Steer, in "
                        "the tempo bar; 0 = the model alone)"),
    ("MIDI keyboard", "Plays like the tap keys, with its own velocity (choose the port in the side panel); a "
                      "higher key steers up, a lower one down, like a s d f j k l ;"),
    ("Wheel / Ctrl+wheel / Shift+wheel", "Piano roll: scroll in time / zoom / scroll in pitch"),
]


def shortcut_rows(actions) -> list[tuple[str, str]]:
    """``(keys, what)`` for every action that has a shortcut, plus the playing keys."""
    rows = list(PLAYING)
    for action in actions:
        keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()]
        if keys:
            rows.append((", ".join(keys), action.text().replace("&", "").rstrip(".…")))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, parent, actions):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 560)
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys", "Action"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (keys, what) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(keys))
            self.table.setItem(r, 1, QTableWidgetItem(what))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.table.resizeRowsToContents()  # only now are the columns as wide as they will be
