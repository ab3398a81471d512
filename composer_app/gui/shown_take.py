"""What the window shows: the live take (growing as you play) or a **document** (a take opened from a file,
restored after a crash, or a kept recolouring), with the bars and beats it was played in.

Export, save, replay and recolour act on what is shown; tapping while a document is shown starts a new live take
(the document stays in its file). Every controller of the window reads and changes this one state.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from composer_app.gui.beat_grid import BeatGrid
from composer_app.gui.piano_roll import PianoRoll, notes_from_take
from composer_app.gui.tap_area import TapArea
from composer_app.gui.tempo_bar import TempoBar
from composer_app.take import Take

#: Kept recolourings that Undo can step back through.
UNDO_LINES = 20


class ShownTake(QObject):
    """The document shown (None: the live take), its file, and the roll and tap area showing it."""

    changed = Signal()  # the document or its file changed: the title and note count follow

    def __init__(self, roll: PianoRoll, tap: TapArea, tempo_bar: TempoBar, parent=None, live_take=None):
        super().__init__(parent)
        self.roll = roll
        self.tap = tap
        self.tempo_bar = tempo_bar
        self.live_take = live_take  # () -> the live Take (its tempo and metre once it has notes)
        self.document: Take | None = None
        self.path: Path | None = None
        #: what the title calls a document with no file of its own ("" = a recoloured take not saved yet)
        self.name = ""
        self.earlier: list[tuple[Take, Path | None, str]] = []  # lines replaced by a kept recolouring (Undo)

    @property
    def is_live(self) -> bool:
        return self.document is None

    def show_document(self, take: Take, path: Path | None, name: str = "") -> None:
        """Show ``take`` whole, in its own bars and beats; the tempo bar shows its tempo and metre (a take
        tapped on from here starts at them). ``name``: what the window title calls it while it has no file
        (kept here, so the title is made from this state and never read back from the title itself)."""
        self.document = take
        self.path = Path(path) if path else None
        self.name = name
        self.roll.set_notes(notes_from_take(take), live=False)
        self.roll.set_grid(BeatGrid(take.tempo_bpm, take.time_signature))
        self.tempo_bar.show_time_of(take.tempo_bpm, take.time_signature)
        self.roll.fit()
        self.tap.clear()
        self.changed.emit()

    def replace_line(self, take: Take, before: Take, before_path: Path | None) -> None:
        """Show ``take`` (a kept recolouring) in place of ``before``, which :meth:`undo_line` brings back."""
        self.earlier.append((before, before_path, self.name))
        del self.earlier[:-UNDO_LINES]
        self.show_document(take, None)

    def undo_line(self) -> bool:
        """Back to the line shown before the last kept recolouring; False when there is none."""
        if not self.earlier:
            return False
        take, path, name = self.earlier.pop()
        self.show_document(take, path, name)
        return True

    def set_path(self, path: Path | None) -> None:
        """The document now lives in ``path`` (saved)."""
        self.path = Path(path) if path else None
        self.changed.emit()

    def show_live(self, notes=None, origin_ns: int | None = None) -> None:
        """Back to the live take: ``notes`` (TakeNotes) as it stands, or empty at the default zoom (a new one)."""
        self.document = None
        self.path = None
        self.name = ""
        self.show_live_grid()
        if notes is None:
            self.roll.clear(live=True)
            self.roll.reset_zoom()
        else:
            self.roll.set_notes(notes, live=True, origin_ns=origin_ns)
        self.changed.emit()

    def show_live_grid(self) -> None:
        """Bars and beats of the live take: the tempo and metre it was played at once it has notes (a new
        tempo typed then waits for the next take), else the tempo bar's."""
        take = self.live_take() if self.live_take is not None else None
        if take is not None and take.notes:
            self.roll.set_grid(BeatGrid.of(take.tempo_bpm, take.time_signature))
            return
        settings = self.tempo_bar.settings()
        self.roll.set_grid(BeatGrid.of(settings.bpm, settings.metre))
