"""The time controls above the piano roll: tempo (with tap tempo), time signature, metronome click, count-in,
steer strength and the quantize grid used on export.

The bar only turns widget values into a :class:`TimeSettings` and emits it; the window hands it on (the piano
roll's bars and beats, the engine, the export). Quantizing applies to exported files only: the take keeps the
timing that was played.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from composer_app.musical_time import GRIDS, TIME_SIGNATURES, TapTempo

#: The tempi the spin box offers: a usual range inside the one the engine takes (musical_time.MIN_BPM..MAX_BPM).
OFFERED_MIN_BPM, OFFERED_MAX_BPM = 30, 300
#: Export grids: label -> the grid's name (:data:`composer_app.musical_time.GRIDS`).
QUANTIZE = {"off": "off", "1/8": "1/8", "1/16": "1/16", "1/8 triplets": "1/8t"}
assert set(QUANTIZE.values()) == set(GRIDS)
BEAT_LIT_MS = 120  # how long the beat light stays lit after a click


@dataclass(frozen=True)
class TimeSettings:
    bpm: int = 120
    metre: str = "4/4"
    click: bool = False
    count_in: bool = False
    #: 0 = the model alone, 1 = the keys' direction always. 1 at first start: the home-row keys a new player
    #: presses first must visibly do what the hint says (higher key, higher note; same key, same note).
    steer: float = 1.0
    quantize: str = "off"  # a grid name of :data:`QUANTIZE`

    def __post_init__(self):
        if not OFFERED_MIN_BPM <= self.bpm <= OFFERED_MAX_BPM:
            raise ValueError(f"tempo must be between {OFFERED_MIN_BPM} and {OFFERED_MAX_BPM} BPM, not {self.bpm}")
        if self.metre not in TIME_SIGNATURES:
            raise ValueError(f"unknown time signature {self.metre!r}")
        if not 0.0 <= self.steer <= 1.0:
            raise ValueError(f"steer strength must be between 0 and 1, not {self.steer}")
        if self.quantize not in QUANTIZE.values():
            raise ValueError(f"unknown quantize grid {self.quantize!r}")


class TempoBar(QWidget):
    """One row: BPM and Tap, metre, Click, Count-in, Steer, Quantize export."""

    changed = Signal(object)  # TimeSettings

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self.tapper = TapTempo()
        self.bpm = QSpinBox(self)
        self.bpm.setRange(OFFERED_MIN_BPM, OFFERED_MAX_BPM)
        self.bpm.setSuffix(" BPM")
        self.bpm.setKeyboardTracking(False)
        self.bpm.setToolTip("Tempo in quarter notes per minute: the bars on the piano roll, the click and the "
                            "tempo written into exported MIDI files")
        self.tap_button = QPushButton("Tap", self)
        self.tap_button.setToolTip("Tap tempo: click in time (or press T) a few times")
        self.metre = QComboBox(self)
        self.metre.addItems(list(TIME_SIGNATURES))
        self.metre.setToolTip("Time signature")
        self.counts = QLabel("BPM counts ♩", self)  # 6/8 only: its beats on the roll are eighths, the BPM is not
        self.counts.setToolTip("In 6/8 the tempo counts quarter notes (♩), like every metre here: a bar is three "
                               "of them, six eighths (♪), and the roll draws the eighths")
        self.click = QCheckBox("Click", self)
        self.click.setToolTip("Metronome click, accented on each bar's first beat: heard by you only, never "
                              "in the take or an export")
        self.beat_light = QLabel("·", self)
        self.beat_light.setMinimumWidth(28)
        self.beat_light.setToolTip("The metronome's beat in the bar (1 = the downbeat), while it clicks")
        self.last_beat: int | None = None  # the beat of the last click shown
        self._unlight = QTimer(self)
        self._unlight.setSingleShot(True)
        self._unlight.timeout.connect(lambda: self.beat_light.setStyleSheet("color: palette(mid);"))
        self.count_in = QCheckBox("Count-in", self)
        self.count_in.setToolTip("New take (Ctrl+N) clicks one bar first; the take starts on the downbeat after it")
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
        self.time_group = _group(self, (self.bpm, self.tap_button, self.metre, self.counts, self.click,
                                        self.beat_light, self.count_in))
        self.steer_group = _group(self, (QLabel("Steer", self), self.steer, self.steer_value,
                                         QLabel("Quantize export", self), self.quantize))
        self.rows = QGridLayout(self)
        self.rows.setContentsMargins(0, 2, 0, 2)
        self.rows.setSpacing(2)
        self.rows.setColumnStretch(2, 1)
        self.rows.addWidget(self.time_group, 0, 0)
        self._place_steer(one_row=True)
        self.set_settings(TimeSettings())
        self.bpm.valueChanged.connect(self._changed)
        self.metre.currentIndexChanged.connect(self._changed)
        self.click.toggled.connect(self._changed)
        self.count_in.toggled.connect(self._changed)
        self.steer.valueChanged.connect(self._changed)
        self.quantize.currentIndexChanged.connect(self._changed)
        self.tap_button.clicked.connect(lambda: self.tap_tempo())

    def _place_steer(self, one_row: bool) -> None:
        """Steer and Quantize beside the time controls, or under them when the row is too narrow for both
        (a 1024-pixel screen): every label stays whole rather than being cut."""
        self.rows.removeWidget(self.steer_group)
        self.rows.addWidget(self.steer_group, *((0, 1) if one_row else (1, 0)), Qt.AlignmentFlag.AlignLeft)
        self.one_row = one_row

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        needed = self.time_group.sizeHint().width() + self.steer_group.sizeHint().width() + self.rows.spacing()
        if (self.width() >= needed) != self.one_row:
            self._place_steer(self.width() >= needed)

    def show_click(self, click) -> None:
        """A metronome click sounded (a count-in's too): light its beat, the downbeat brighter."""
        self.last_beat = click.beat
        self.beat_light.setText(f"● {click.beat + 1}")
        self.beat_light.setStyleSheet("color: #ffb040; font-weight: bold;" if click.beat == 0 else
                                      "color: #e5e9f0;")
        self._unlight.start(BEAT_LIT_MS)

    def tap_tempo(self, t_ns: int | None = None) -> int | None:
        """One tap of tap tempo at ``t_ns`` (default now); sets the tempo from the second tap on."""
        bpm = self.tapper.tap(time.perf_counter_ns() if t_ns is None else t_ns)
        if bpm is None:
            return None
        bpm = int(round(min(OFFERED_MAX_BPM, max(OFFERED_MIN_BPM, bpm))))
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
            self.counts.setVisible(s.metre == "6/8")
        finally:
            self._loading = False

    def show_time_of(self, bpm: float, metre) -> None:
        """Show a take's tempo and metre (an opened one: what it was played in) without emitting; a tempo
        outside the box's range is shown at its nearest end, a metre the box lacks leaves the box as it is."""
        s = self.settings()
        bpm = int(round(min(OFFERED_MAX_BPM, max(OFFERED_MIN_BPM, float(bpm)))))
        metre = str(metre) if str(metre) in TIME_SIGNATURES else s.metre
        self.set_settings(TimeSettings(bpm, metre, s.click, s.count_in, s.steer, s.quantize))

    def _changed(self, *_) -> None:
        self.steer_value.setText(f"{self.steer.value() / 100:.2f}")
        self.counts.setVisible(self.metre.currentText() == "6/8")
        if not self._loading:
            self.changed.emit(self.settings())

    def save(self, store) -> None:
        s = self.settings()
        store.set("time/bpm", s.bpm)
        store.set("time/metre", s.metre)
        store.set("time/click", s.click)
        store.set("time/count_in", s.count_in)
        store.set("time/steer", s.steer)
        store.set("time/quantize", s.quantize)


def _group(parent: QWidget, widgets) -> QWidget:
    """``widgets`` in one row of their own, so the bar can move the row as a whole."""
    group = QWidget(parent)
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(6)
    for w in widgets:
        row.addWidget(w)
    return group


def time_settings_from_store(store) -> TimeSettings:
    """What :meth:`TempoBar.save` kept (defaults for anything missing or out of range)."""
    d = TimeSettings()
    try:
        return TimeSettings(bpm=store.get_int("time/bpm", d.bpm, OFFERED_MIN_BPM, OFFERED_MAX_BPM),
                            metre=store.get_str("time/metre", d.metre, 16),
                            click=store.get_bool("time/click", d.click),
                            count_in=store.get_bool("time/count_in", d.count_in),
                            steer=store.get_float("time/steer", d.steer, 0.0, 1.0),
                            quantize=store.get_str("time/quantize", d.quantize, 16) or d.quantize)
    except ValueError:
        return d
