"""Model and sampling controls. Each panel only turns widget values into a request (a model name, a
:class:`~composer_app.sampling.SamplingSettings`) and emits it; the window hands it to the engine, which applies it
at the next beat. Invalid combinations (a scale lock that leaves no pitch, an unreadable hint note) are said in
the panel, next to the control, and never reach the engine.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import models
from composer_app.errors import UserError
from composer_app.gui.model_source import architecture_label
from composer_app.pitches import MODES, NOTE_NAMES, note_name, parse_hint
from composer_app.sampling import SamplingSettings, load_profiles

SCALE_MODES = ["major", "minor", "dorian", "mixolydian", "phrygian", "lydian", "harmonic minor", "pentatonic",
               "minor pentatonic", "blues"]
assert all(m in MODES for m in SCALE_MODES)


class ModelPanel(QGroupBox):
    """Which live model plays: the three architectures by their original names and a readable label."""

    architectureChosen = Signal(str)
    tunedChosen = Signal(str)  # the checkpoint path of one of the user's tuned models
    fileRequested = Signal()

    def __init__(self, parent=None):
        super().__init__("Model", parent)
        self.combo = QComboBox(self)
        for arch in models.ARCHITECTURES:
            self.combo.addItem(architecture_label(arch), arch)
        self.combo.setToolTip("The live model that picks each note's pitch at key-down "
                              "(takes effect at the next beat)")
        self.combo.setAccessibleName("Live model")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: palette(mid);")
        open_btn = QToolButton(self)  # as narrow as its word: the model's name beside it reads whole
        open_btn.setText("File…")
        open_btn.setToolTip("Play with a live model from a checkpoint file of your own")
        open_btn.clicked.connect(self.fileRequested)
        top = QHBoxLayout()
        top.addWidget(self.combo, 1)
        top.addWidget(open_btn)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.info)
        self.combo.activated.connect(self._activated)

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        (self.architectureChosen if data in models.ARCHITECTURES else self.tunedChosen).emit(data)

    def set_tuned(self, tuned: list[tuple[str, str]]) -> None:
        """List the user's tuned live models ``(name, checkpoint path)`` after the architectures."""
        while self.combo.count() > len(models.ARCHITECTURES):
            self.combo.removeItem(self.combo.count() - 1)
        for name, path in tuned:
            self.combo.addItem(f"{name} (tuned)", str(path))

    @property
    def architecture(self) -> str:
        return self.combo.currentData()

    def show_model(self, loaded, warning: str | None = None) -> None:
        """Reflect the model that plays now (without emitting a request)."""
        i = self.combo.findData(str(loaded.path))
        if i < 0:
            i = self.combo.findData(loaded.architecture)
        if i >= 0:
            self.combo.setCurrentIndex(i)
        params = sum(p.numel() for p in loaded.model.parameters())
        path = str(loaded.path or "")
        source = Path(path).name if path and not path.startswith("(") else "untrained stand-in"
        text = f"{loaded.label}: {params:,} parameters, {source}"
        if warning:
            text += "\n⚠ untrained: random pitches until the shipped model is trained"
        self.info.setText(text)
        self.info.setToolTip(warning or str(loaded.path))


class NoteSpinBox(QSpinBox):
    """A MIDI pitch shown as ``C4 (60)``; typing 60 or C4 both work."""

    def textFromValue(self, value: int) -> str:
        return f"{note_name(value)} ({value})"

    def valueFromText(self, text: str) -> int:
        text = text.strip()
        m = re.search(r"\((\d{1,3})\)", text)
        if m:
            return int(m.group(1))
        if text.isdigit():
            return int(text) if len(text) <= 3 else self.value()
        try:
            return parse_hint(text) if re.fullmatch(r"[A-Ga-g][#b]?-?\d", text) else self.value()
        except UserError:
            return self.value()

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator

        return QValidator.State.Acceptable if text.strip() else QValidator.State.Intermediate, text, pos


class SamplingPanel(QGroupBox):
    """Temperature, top-k, top-p, repeat penalty, scale/range lock and hint notes for live play."""

    settingsChanged = Signal(object)  # SamplingSettings

    def __init__(self, parent=None):
        super().__init__("Sampling", parent)
        self._loading = False
        self.profile = QComboBox(self)
        try:
            profiles = {k: v for k, v in load_profiles().items() if v.get("strategy", "stochastic") == "stochastic"}
        except UserError:
            profiles = {}
        self._profiles = profiles
        self.profile.addItem("(custom)", None)
        for name in profiles:
            self.profile.addItem(name, name)
        self.profile.setToolTip("Load a sampling profile (profiles.toml). Live play draws one note at a time, so "
                                "the profiles that search over a whole take (beam) are offered in Recolour "
                                "(Ctrl+G)")
        self.temperature = _dspin(0.05, 5.0, 0.05, 2, "< 1 sharper, > 1 more adventurous")
        self.top_k = QSpinBox(self)
        self.top_k.setRange(1, 128)
        self.top_k.setToolTip("Draw only among the k most likely pitches")
        self.top_p = _dspin(0.05, 1.0, 0.05, 2, "Draw only among the most likely pitches holding this much "
                                                "of the probability")
        self.repeat = _dspin(0.0, 1.0, 0.05, 2, "Repeat penalty: the previous pitch's probability is "
                                               "multiplied by (1 - this); 1 forbids repeats")
        self.loop_guard = QCheckBox("Keep the line from looping", self)
        self.loop_guard.setToolTip(f"No short cycle (one pitch, two alternating, a 3- or 4-note figure) runs "
                                   f"{GUARD.loop_guard} notes, and no pitch more than {GUARD.max_run} times in "
                                   "a row (steering keys still ask for what they ask for)")
        self.key = QComboBox(self)
        self.key.addItems(NOTE_NAMES)
        self.mode = QComboBox(self)
        self.mode.addItem("off", None)
        for m in SCALE_MODES:
            self.mode.addItem(m, m)
        self.mode.setToolTip("Lock pitches to a key (off = every pitch allowed)")
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.key)
        scale_row.addWidget(self.mode, 1)
        self.low = NoteSpinBox(self)
        self.high = NoteSpinBox(self)
        for box in (self.low, self.high):
            box.setRange(1, 127)
            box.setToolTip("Range lock: lowest / highest pitch that may sound")
        range_row = QHBoxLayout()
        range_row.addWidget(self.low)
        range_row.addWidget(QLabel("to", self))
        range_row.addWidget(self.high)
        self.hints = QLineEdit(self)
        self.hints.setPlaceholderText("e.g. 1 3 5 or E4 G4")
        self.hints.setToolTip("First notes of each take, as scale degrees (1 = middle C, 8 = C5, b3, #4) or "
                              "note names (E4, Bb3)")
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e06c6c;")
        self.error.hide()
        form = QFormLayout(self)
        form.addRow("Profile", self.profile)
        form.addRow("Temperature", _pair(self.temperature, "Top-k", self.top_k))
        form.addRow("Top-p", _pair(self.top_p, "Repeat", self.repeat))
        form.addRow(self.loop_guard)
        form.addRow("Scale lock", scale_row)
        form.addRow("Range", range_row)
        form.addRow("Hint notes", self.hints)
        form.addRow(self.error)
        self.set_settings(SamplingSettings())
        for box in (self.temperature, self.top_p, self.repeat):
            box.valueChanged.connect(self._changed)
        for box in (self.top_k, self.low, self.high):
            box.valueChanged.connect(self._changed)
        self.key.currentIndexChanged.connect(self._changed)
        self.loop_guard.toggled.connect(self._changed)
        self.mode.currentIndexChanged.connect(self._changed)
        self.hints.editingFinished.connect(self._changed)
        self.profile.activated.connect(self._load_profile)

    # -- values <-> settings --------------------------------------------------------------------------------------
    def set_settings(self, s: SamplingSettings) -> None:
        """Show ``s`` without emitting."""
        self._loading = True
        try:
            for box, value in ((self.temperature, s.temperature), (self.top_k, s.top_k), (self.top_p, s.top_p),
                               (self.repeat, s.repeat_decay)):
                show_clamped(box, value)
            self.loop_guard.setChecked(s.loop_guard > 0 or s.max_run > 0)
            tonic, mode = None, None
            if s.scale:
                tonic, _, mode = s.scale.strip().partition(" ")
            self.key.setCurrentIndex(max(0, NOTE_NAMES.index(tonic) if tonic in NOTE_NAMES else 0))
            self.mode.setCurrentIndex(max(0, self.mode.findData(mode.strip().lower() if mode else None)))
            show_clamped(self.low, s.low)
            show_clamped(self.high, s.high)
            self.hints.setText(" ".join(note_name(h) for h in s.hints))
            self._show_matching_profile()
        finally:
            self._loading = False

    def _show_matching_profile(self) -> None:
        """Name the profile whose sampling values the controls hold, or "(custom)" when none does."""
        try:
            current = self.settings()
        except UserError:
            self.profile.setCurrentIndex(0)
            return
        for index in range(1, self.profile.count()):
            values = self._profiles[self.profile.itemData(index)]
            try:
                wanted = SamplingSettings().with_(**{k: v for k, v in values.items() if k in PANEL_KEYS})
            except (TypeError, UserError):
                continue
            if all(getattr(wanted, k) == getattr(current, k) for k in PANEL_KEYS):
                self.profile.setCurrentIndex(index)
                return
        self.profile.setCurrentIndex(0)

    def settings(self) -> SamplingSettings:
        """The settings the controls describe; raises UserError in plain words when they make no sense."""
        hints = tuple(parse_hint(h) for h in re.split(r"[\s,]+", self.hints.text().strip()) if h)
        mode = self.mode.currentData()
        scale = f"{self.key.currentText()} {mode}" if mode else None
        return SamplingSettings(strategy="stochastic", temperature=self.temperature.value(),
                                top_k=self.top_k.value(), top_p=self.top_p.value(),
                                repeat_decay=self.repeat.value(), hints=hints, scale=scale,
                                low=self.low.value(), high=self.high.value(), **guard_of(self.loop_guard.isChecked()))

    def _changed(self, *_) -> None:
        if self._loading:
            return
        self._show_matching_profile()
        self.emit_settings()

    def emit_settings(self) -> SamplingSettings | None:
        try:
            s = self.settings()
        except UserError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return None
        self.error.hide()
        self.settingsChanged.emit(s)
        return s

    def _load_profile(self, index: int) -> None:
        name = self.profile.itemData(index)
        if not name:
            return
        values = dict(self._profiles[name])
        current = self.settings_or_default()
        values = {k: v for k, v in values.items() if k in ("temperature", "top_k", "top_p", "repeat_decay")}
        guarded = self._profiles[name].get("loop_guard", 0) > 0 or self._profiles[name].get("max_run", 0) > 0
        self.set_settings(current.with_(**values, **guard_of(guarded)))
        self.profile.setCurrentIndex(index)
        self.emit_settings()

    def settings_or_default(self) -> SamplingSettings:
        try:
            return self.settings()
        except UserError:
            return SamplingSettings()

    # -- persistence ----------------------------------------------------------------------------------------------
    def save(self, store) -> None:
        s = self.settings_or_default()
        store.set("sampling/temperature", s.temperature)
        store.set("sampling/top_k", s.top_k)
        store.set("sampling/top_p", s.top_p)
        store.set("sampling/repeat_decay", s.repeat_decay)
        store.set("sampling/loop_guard", s.loop_guard > 0)
        store.set("sampling/scale", s.scale or "")
        store.set("sampling/low", s.low)
        store.set("sampling/high", s.high)
        store.set("sampling/hints", self.hints.text().strip())


#: The sampling values the panel shows, by which a profile is recognised.
PANEL_KEYS = ("temperature", "top_k", "top_p", "repeat_decay", "loop_guard", "max_run")
#: What the panel's loop-guard box turns on: the default profile's guard.
GUARD = SamplingSettings()


def guard_of(on: bool) -> dict:
    """The loop-guard settings of the panel's check box."""
    return {"loop_guard": GUARD.loop_guard if on else 0, "max_run": GUARD.max_run if on else 0}


def show_clamped(box, value) -> None:
    """Show ``value`` in a spin box, held to the box's range first: a value from a file or a profile far beyond
    it (3e9 overflows Qt's C int) shows as the nearest end instead of raising."""
    box.setValue(min(box.maximum(), max(box.minimum(), value)))


#: The ranges the panel's boxes offer; a saved value outside them is a hand-edited or damaged file.
STORED_RANGES = {"temperature": (0.05, 5.0), "top_k": (1, 128), "top_p": (0.05, 1.0), "repeat_decay": (0.0, 1.0),
                 "low": (0, 127), "high": (0, 127)}
MAX_HINTS_CHARS = 200


def settings_from_store(store) -> SamplingSettings:
    """The sampling settings saved by :meth:`SamplingPanel.save`: each value held to the range the panel offers
    (defaults for anything missing, invalid or out of range, said in ``store.problems``)."""
    d = SamplingSettings()
    hints_text = store.get_str("sampling/hints", "", max_chars=MAX_HINTS_CHARS) or ""
    try:
        hints = tuple(parse_hint(h) for h in re.split(r"[\s,]+", hints_text.strip()) if h)
    except UserError as exc:
        store.problems.append(f"sampling/hints in the settings file: {exc}; no hint notes are used")
        hints = ()
    values = {}
    for key, (lo, hi) in STORED_RANGES.items():
        read = store.get_int if isinstance(lo, int) else store.get_float
        values[key] = read(f"sampling/{key}", getattr(d, key), lo, hi)
    try:
        return SamplingSettings(strategy="stochastic", hints=hints, scale=store.get_str("sampling/scale", None, 64),
                                **values, **guard_of(store.get_bool("sampling/loop_guard", True)))
    except UserError as exc:
        store.problems.append(f"the sampling settings in the settings file do not fit together ({exc}); the "
                              "defaults are used")
        return d


def _pair(left: QWidget, label: str, right: QWidget) -> QHBoxLayout:
    """Two controls on one form row (the second with its own label): the panel stays short."""
    row = QHBoxLayout()
    row.addWidget(left, 1)
    row.addWidget(QLabel(label))
    row.addWidget(right, 1)
    return row


def _dspin(lo: float, hi: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box

