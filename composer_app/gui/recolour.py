"""Recolour: regenerate a whole take's pitches with an offline model, keeping its rhythm; then compare.

An offline model sees every beat of the take at once, so it can do what the live model
could not: plan the melody over the whole rhythm (a profile says how). A few variations are drawn in one batch
(:func:`composer_app.sampling.generate_variations`), so the player can audition them and keep the one they
like. That takes from milliseconds to a second, so it runs in :class:`RecolourWorker` (a QThread) with progress
and cancel, and the window keeps playing meanwhile. :class:`CompareDialog` then shows the played take above
the chosen variation, plays either through the engine, and lets the player keep one.

Only pitches change: every note keeps its start, end and velocity (:meth:`Take.recoloured`).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

import models
from composer_app.errors import Cancelled, UserError
from composer_app.gui.model_source import architecture_label
from composer_app.gui.piano_roll import RollView, notes_from_take
from composer_app.sampling import generate, generate_variations
from composer_app.take import Take

PROGRESS_EVERY_S = 0.05
#: How many variations Recolour offers at most, and by default.
MAX_VARIATIONS, DEFAULT_VARIATIONS = 8, 4
#: Recolour's own contour choice: how closely the new line follows the up/down the take's keys asked for (the
#: steer strength it draws with). Off by default: the tempo bar's Steer is for playing, and carried over silently
#: it made seven recolours in a row copy the old take's shape.
CONTOURS = {"Free: the model's own line": 0.0, "Loosely follow my up/down": 0.5, "Follow my up/down": 1.0}


class RecolourWorker(QThread):
    """Runs :func:`composer_app.sampling.generate` (one version) or
    :func:`~composer_app.sampling.generate_variations` over a take on its own thread.

    Signals: ``progress(done, total)`` (at most every 50 ms), then exactly one of ``succeeded(list[Take])``
    (the variations, the model's likeliest first), ``failed(str)`` or ``cancelled()``.
    """

    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, take: Take, loaded, settings, seed: int | None = None, profile: str = "", parent=None,
                 variations: int = 1, fixed=None):
        super().__init__(parent)
        self.take = take
        self.variations = variations
        self.fixed = fixed  # pitches to keep, -1 where a note is composed again (None: every note)
        self.loaded = loaded
        self.settings = settings
        self.seed = seed
        self.profile = profile
        self._cancel = False
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel = True

    def _progress(self, done: int, total: int) -> None:
        if self._cancel:
            raise Cancelled
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S or done == total:
            self._last = now
            self.progress.emit(done, total)

    def run(self) -> None:
        try:
            rests, durs = self.take.rhythm()
            t0 = time.perf_counter()
            contour = self.take.asked_contour() if self.settings.steer > 0 else None
            if self.variations == 1:
                lines = [generate(self.loaded, rests, durs, self.settings, seed=self.seed,
                                  progress=self._progress, contour=contour, fixed=self.fixed)]
            else:
                lines = generate_variations(self.loaded, rests, durs, self.settings, self.variations,
                                            seed=self.seed, progress=self._progress, contour=contour,
                                            fixed=self.fixed)
            info = {"architecture": self.loaded.architecture, "label": self.loaded.label,
                    "path": str(self.loaded.path), "profile": self.profile, "strategy": self.settings.strategy,
                    "seed": self.seed, "steer": self.settings.steer,
                    "seconds": round(time.perf_counter() - t0, 3), **changed_words(self.take, self.fixed)}
            result = [self.take.recoloured(pitches, {**info, "variation": i + 1, "variations": len(lines)})
                      for i, pitches in enumerate(lines)]
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception as exc:  # noqa: BLE001 - a failure is shown in the window; the app keeps running
            self.failed.emit(str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}")
            return
        self.succeeded.emit(result)


def changed_words(take: Take, fixed) -> dict:
    """What a recolouring was asked to change, for the take's header: the notes composed again (by number,
    1 = the first) and the locked ones (nothing when every note was composed again)."""
    if fixed is None:
        return {}
    free = [i + 1 for i, pitch in enumerate(fixed) if pitch < 0]
    return {"only": [free[0], free[-1]] if free else [], "locked": [n.index + 1 for n in take.notes if n.locked]}


class RecolourDialog(QDialog):
    """Asks which offline model, which profile, which seed (keyboard: Enter starts, Esc cancels)."""

    def __init__(self, parent, profiles: list[str], arch: str, profile: str, seed: int, keep_locks: bool,
                 variations: int = DEFAULT_VARIATIONS, contour: float = 0.0, selection: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Recolour the take")
        self.model = QComboBox(self)
        for a in models.ARCHITECTURES:
            self.model.addItem(architecture_label(a), a)
        self.model.setCurrentIndex(max(0, self.model.findData(arch)))
        self.profile = QComboBox(self)
        self.profile.addItems(profiles)
        self.profile.setCurrentIndex(max(0, self.profile.findText(profile)))
        self.profile.setToolTip("default: the model's own choices, kept from looping; safer: fewer surprises; "
                                "wilder: more leaps and colour; beam: the likeliest of four whole lines")
        self.only_selection = QCheckBox(f"Only the selected {selection}" if selection else
                                        "Only a selection (drag across notes in the roll first)", self)
        self.only_selection.setChecked(bool(selection))
        self.only_selection.setEnabled(bool(selection))
        self.only_selection.setToolTip("Everything outside the selection stays exactly as it is; the new notes "
                                       "are composed to lead into the ones after them. Locked notes "
                                       "(Ctrl+click) never change")
        self.variations = QSpinBox(self)
        self.variations.setRange(1, MAX_VARIATIONS)
        self.variations.setValue(max(1, min(MAX_VARIATIONS, variations)))
        self.variations.setToolTip("How many different melodies to draw, to listen to and pick from")
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setValue(seed)
        self.keep_locks = QCheckBox("Keep my scale/range lock and hint notes", self)
        self.keep_locks.setChecked(keep_locks)
        self.contour = QComboBox(self)
        for label, strength in CONTOURS.items():
            self.contour.addItem(label, strength)
        self.contour.setCurrentIndex(max(0, self.contour.findData(contour)))
        self.contour.setToolTip("Whether the new melody goes up and down where your keys asked (the steer keys, "
                                "a MIDI key's height; else where the played notes went). Independent of the "
                                "Steer slider, which is for playing")
        form = QFormLayout()
        form.addRow("Offline model", self.model)
        form.addRow("Profile", self.profile)
        form.addRow("Variations", self.variations)
        form.addRow("Seed", self.seed)
        form.addRow("Contour", self.contour)
        form.addRow(self.only_selection)
        form.addRow(self.keep_locks)
        note = QLabel("The rhythm you played stays exactly as it is; only the pitches are chosen again, by a "
                      "model that sees the whole take.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Recolour")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def values(self) -> tuple[str, str, int | None, bool, int, float]:
        """(model, profile, seed or None, keep locks, variations, contour strength)."""
        seed = self.seed.value()
        return (self.model.currentData(), self.profile.currentText(), (seed or None), self.keep_locks.isChecked(),
                self.variations.value(), float(self.contour.currentData()))


class CompareDialog(QDialog):
    """Played vs recoloured, one above the other; listen to each, stop (S), keep either.

    ``recoloured`` is one take or the variations of one recolouring (the model's likeliest first): the lower
    roll shows the chosen one (the Variation box, or keys 2, 3, 4 ... which choose variation 1, 2, 3 ... and
    play it); key 1 plays the played take. Non-modal: the window stays usable, and tests can press its buttons.
    ``kept`` says which was chosen ('played' or 'recoloured', the variation shown).
    """

    listen = Signal(object)  # Take
    stopRequested = Signal()
    kept = Signal(str)

    def __init__(self, parent, played: Take, recoloured):
        super().__init__(parent)
        self.variations: list[Take] = list(recoloured) if isinstance(recoloured, list | tuple) else [recoloured]
        self.played, self.recoloured = played, self.variations[0]
        self.setWindowTitle("Compare: played and recoloured")
        self.resize(900, 560)
        self.played_view = RollView(self, interactive=True)
        self.recoloured_view = RollView(self, interactive=True)
        self.played_view.roll.set_notes(notes_from_take(played), live=False)
        for view in (self.played_view, self.recoloured_view):
            view.setMinimumHeight(180)
        self.variation = QComboBox(self)
        for i in range(len(self.variations)):
            self.variation.addItem(f"{i + 1}" + (" (the model's likeliest)" if i == 0 and len(self.variations) > 1
                                                 else ""))
        self.variation.setToolTip("Keys 2, 3, 4 ... choose variation 1, 2, 3 ... and play it")
        self.variation.setVisible(len(self.variations) > 1)
        self.listen_played = QPushButton("Listen to played (1)", self)
        self.listen_recoloured = QPushButton("Listen to recoloured (2)", self)
        self.stop_button = QPushButton("Stop (S)", self)
        self.keep_played = QPushButton("Keep played", self)
        self.keep_recoloured = QPushButton("Keep recoloured", self)
        self.keep_recoloured.setDefault(True)
        self.recoloured_label = QLabel(self)
        self.listen_played.clicked.connect(lambda: self.listen.emit(self.played))
        self.listen_recoloured.clicked.connect(lambda: self.listen.emit(self.recoloured))
        self.stop_button.clicked.connect(self.stopRequested)
        self.keep_played.clicked.connect(lambda: self._keep("played"))
        self.keep_recoloured.clicked.connect(lambda: self._keep("recoloured"))
        self.variation.currentIndexChanged.connect(self.choose)
        QShortcut(QKeySequence("1"), self, self.listen_played.click)
        QShortcut(QKeySequence("S"), self, self.stop_button.click)
        for i in range(min(len(self.variations), 8)):
            QShortcut(QKeySequence(str(i + 2)), self, lambda i=i: self._audition(i))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>Played</b> — {len(played)} notes", self))
        layout.addWidget(self.played_view, 1)
        heading = QHBoxLayout()
        heading.addWidget(self.recoloured_label, 1)
        if len(self.variations) > 1:
            heading.addWidget(QLabel("Variation", self))
        heading.addWidget(self.variation)
        layout.addLayout(heading)
        layout.addWidget(self.recoloured_view, 1)
        row = QHBoxLayout()
        for b in (self.listen_played, self.listen_recoloured, self.stop_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.keep_played)
        row.addWidget(self.keep_recoloured)
        layout.addLayout(row)
        self.choice: str | None = None
        self._linked = False
        self.choose(0)

    def choose(self, index: int) -> None:
        """Show variation ``index`` (0 = the first) in the lower roll; it is what Listen and Keep take."""
        self.recoloured = self.variations[index]
        if self.variation.currentIndex() != index:
            self.variation.setCurrentIndex(index)
        played, recoloured = self.played, self.recoloured
        view = self.recoloured_view.roll
        view.set_notes(notes_from_take(recoloured), live=False)
        pitches = [n.pitch for take in (played, *self.variations) for n in take.notes]
        top = self.played_view.roll
        low = min([top.low, view.low, *pitches])
        high = max([top.high, view.high, *pitches])
        for roll in (top, view):  # one pitch scale for both rolls and every variation: they compare by eye
            roll.low, roll.high = low, high
            roll.update()
        info = recoloured.header.get("recoloured", {})
        changed = [i for i, (a, b) in enumerate(zip(played.notes, recoloured.notes, strict=True))
                   if a.pitch != b.pitch]
        which = f"variation {index + 1} of {len(self.variations)}, " if len(self.variations) > 1 else ""
        where = ""
        if changed and info.get("only"):  # a part was recoloured: both rolls mark it
            first, last = played.notes[changed[0]], played.notes[changed[-1]]
            for roll in (top, view):
                roll.select_range(first.start, last.start)
            where = f" (notes {changed[0] + 1}-{changed[-1] + 1})"
        self.recoloured_label.setText(f"<b>Recoloured</b> — {which}{info.get('label', '')}, profile "
                                      f"{info.get('profile', '')} ({info.get('strategy', '')}): {len(changed)} of "
                                      f"{len(played)} pitches changed{where}, timing unchanged")
        self.keep_recoloured.setText(f"Keep variation {index + 1}" if len(self.variations) > 1
                                     else "Keep recoloured")

    def _audition(self, index: int) -> None:
        self.choose(index)
        self.listen.emit(self.recoloured)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        for view in (self.played_view, self.recoloured_view):  # only now do the rolls know their width
            view.roll.fit(readable=True)  # a long take scrolls rather than shrinking to dots
        if not self._linked:  # both rolls scroll and zoom together: the same note sits above its recolouring
            a, b = self.played_view.roll, self.recoloured_view.roll
            a.viewChanged.connect(lambda: b.set_view(a.px_per_s, a.view_start_s))
            b.viewChanged.connect(lambda: a.set_view(b.px_per_s, b.view_start_s))
            self._linked = True

    def _keep(self, which: str) -> None:
        self.choice = which
        self.stopRequested.emit()
        self.kept.emit(which)
        self.accept()

    def reject(self) -> None:  # Esc / closing the window: nothing changes, the played take stays
        if self.choice is None:
            self.choice = "played"
            self.stopRequested.emit()
            self.kept.emit("played")
        super().reject()
