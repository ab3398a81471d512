"""The time controls above the piano roll: tempo (with tap tempo), time signature, metronome click, count-in,
steer strength and the quantize grid used on export.

The bar only turns widget values into a :class:`TimeSettings` and emits it; the window hands it on (the piano
roll's bars and beats, the engine, the export). Quantizing applies to exported files only: the take keeps the
timing that was played.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from composer_app.gui.beat_grid import METRES

MIN_BPM, MAX_BPM = 30, 300
#: Export grids: label -> the name the export takes (None: played timing).
QUANTIZE = {"off": None, "1/8": "1/8", "1/16": "1/16", "1/8 triplets": "1/8t"}
TAP_RESET_S = 2.0  # a tap this long after the last starts a new tap-tempo count
TAP_KEEP = 5  # taps averaged


@dataclass(frozen=True)
class TimeSettings:
    bpm: int = 120
    metre: str = "4/4"
    click: bool = False
    count_in: bool = False
    steer: float = 0.0  # 0 = the model alone, 1 = the keys' direction always
    quantize: str | None = None  # a QUANTIZE value

    def __post_init__(self):
        if not MIN_BPM <= self.bpm <= MAX_BPM:
            raise ValueError(f"tempo must be between {MIN_BPM} and {MAX_BPM} BPM, not {self.bpm}")
        if self.metre not in METRES:
            raise ValueError(f"unknown time signature {self.metre!r}")
        if not 0.0 <= self.steer <= 1.0:
            raise ValueError(f"steer strength must be between 0 and 1, not {self.steer}")
        if self.quantize not in QUANTIZE.values():
            raise ValueError(f"unknown quantize grid {self.quantize!r}")


class TapTempo:
    """Tempo from taps: the mean gap of the last few taps; a pause of :data:`TAP_RESET_S` starts afresh."""

    def __init__(self):
        self.times: list[float] = []

    def tap(self, t: float | None = None) -> int | None:
        """Record a tap at ``t`` (seconds, default now); the tempo in BPM once there are two taps."""
        t = time.monotonic() if t is None else t
        if self.times and t - self.times[-1] > TAP_RESET_S:
            self.times = []
        self.times = (self.times + [t])[-TAP_KEEP:]
        if len(self.times) < 2:
            return None
        gap = (self.times[-1] - self.times[0]) / (len(self.times) - 1)
        return int(round(min(MAX_BPM, max(MIN_BPM, 60.0 / gap)))) if gap > 0 else None


class TempoBar(QWidget):
    """One row: BPM and Tap, metre, Click, Count-in, Steer, Quantize export."""

    changed = Signal(object)  # TimeSettings

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self.tapper = TapTempo()
        self.bpm = QSpinBox(self)
        self.bpm.setRange(MIN_BPM, MAX_BPM)
        self.bpm.setSuffix(" BPM")
        self.bpm.setKeyboardTracking(False)
        self.bpm.setToolTip("Tempo in quarter notes per minute: the bars on the piano roll, the click and the "
                            "tempo written into exported MIDI files")
        self.tap_button = QPushButton("Tap", self)
        self.tap_button.setToolTip("Tap tempo: click in time (or press T) a few times")
        self.metre = QComboBox(self)
        self.metre.addItems(list(METRES))
        self.metre.setToolTip("Time signature")
        self.click = QCheckBox("Click", self)
        self.click.setToolTip("Metronome click, accented on each bar's first beat: heard by you only, never "
                              "in the take or an export")
        self.count_in = QCheckBox("Count-in", self)
        self.count_in.setToolTip("One bar of clicks before a new take; the take starts on the downbeat")
        self.steer = QSlider(Qt.Orientation.Horizontal, self)
        self.steer.setRange(0, 100)
        self.steer.setFixedWidth(80)
        self.steer.setToolTip("Steer strength: how much a s d f j k l ; (or a MIDI key's height) bends the "
                              "melody up or down. 0 = the model alone")
        self.steer_value = QLabel(self)
        self.steer_value.setMinimumWidth(28)
        self.quantize = QComboBox(self)
        for label, value in QUANTIZE.items():
            self.quantize.addItem(label, value)
        self.quantize.setToolTip("Move exported notes onto this grid at the tempo above (the take itself "
                                 "keeps your timing)")
        for w in (self.tap_button, self.metre, self.click, self.count_in, self.steer, self.quantize):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(6)
        for w in (self.bpm, self.tap_button, self.metre, self.click, self.count_in, QLabel("Steer", self),
                  self.steer, self.steer_value, QLabel("Quantize export", self), self.quantize):
            row.addWidget(w)
        row.addStretch(1)
        self.set_settings(TimeSettings())
        self.bpm.valueChanged.connect(self._changed)
        self.metre.currentIndexChanged.connect(self._changed)
        self.click.toggled.connect(self._changed)
        self.count_in.toggled.connect(self._changed)
        self.steer.valueChanged.connect(self._changed)
        self.quantize.currentIndexChanged.connect(self._changed)
        self.tap_button.clicked.connect(lambda: self.tap_tempo())

    def tap_tempo(self, t: float | None = None) -> int | None:
        """One tap of tap tempo; sets the tempo from the second tap on."""
        bpm = self.tapper.tap(t)
        if bpm is not None:
            self.bpm.setValue(bpm)
        return bpm

    def settings(self) -> TimeSettings:
        return TimeSettings(bpm=self.bpm.value(), metre=self.metre.currentText(), click=self.click.isChecked(),
                            count_in=self.count_in.isChecked(), steer=self.steer.value() / 100,
                            quantize=self.quantize.currentData())

    def set_settings(self, s: TimeSettings) -> None:
        """Show ``s`` without emitting."""
        self._loading = True
        try:
            self.bpm.setValue(s.bpm)
            self.metre.setCurrentText(s.metre)
            self.click.setChecked(s.click)
            self.count_in.setChecked(s.count_in)
            self.steer.setValue(int(round(s.steer * 100)))
            self.quantize.setCurrentIndex(max(0, self.quantize.findData(s.quantize)))
            self.steer_value.setText(f"{s.steer:.2f}")
        finally:
            self._loading = False

    def _changed(self, *_) -> None:
        self.steer_value.setText(f"{self.steer.value() / 100:.2f}")
        if not self._loading:
            self.changed.emit(self.settings())

    def save(self, store) -> None:
        s = self.settings()
        store.set("time/bpm", s.bpm)
        store.set("time/metre", s.metre)
        store.set("time/click", s.click)
        store.set("time/count_in", s.count_in)
        store.set("time/steer", s.steer)
        store.set("time/quantize", s.quantize or "")


def time_settings_from_store(store) -> TimeSettings:
    """What :meth:`TempoBar.save` kept (defaults for anything missing or out of range)."""
    d = TimeSettings()
    try:
        return TimeSettings(bpm=store.get_int("time/bpm", d.bpm), metre=store.get_str("time/metre", d.metre),
                            click=store.get_bool("time/click", d.click),
                            count_in=store.get_bool("time/count_in", d.count_in),
                            steer=store.get_float("time/steer", d.steer),
                            quantize=store.get_str("time/quantize", "") or None)
    except ValueError:
        return d
