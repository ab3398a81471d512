"""Sound controls: instrument (General MIDI names from the soundfont), soundfont file, output device, block
size and latency. The panel only emits requests; the window hands them to the engine's worker thread, because
loading a soundfont or reopening a sound device takes tens of milliseconds that the GUI thread must not spend.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton

from composer_app.gui.elided_label import ElidedLabel

BLOCK_SIZES = (64, 128, 256, 512, 1024)
LATENCIES = (("low", "low"), ("high", "high"), ("5 ms", 0.005), ("10 ms", 0.010), ("20 ms", 0.020),
             ("50 ms", 0.050))


def gm_names() -> dict[int, str]:
    """The 128 General MIDI program names (used when the synth cannot tell: no FluidSynth)."""
    import pretty_midi

    return dict(enumerate(pretty_midi.INSTRUMENT_MAP))


class SoundPanel(QGroupBox):
    programChosen = Signal(int)
    soundfontRequested = Signal()
    soundfontReset = Signal()
    audioChosen = Signal(object, int, object)  # device (None = default), block size, latency

    def __init__(self, parent=None):
        super().__init__("Sound", parent)
        self.instrument = QComboBox(self)
        self.instrument.setToolTip("General MIDI instrument from the soundfont (next note)")
        self.instrument.setAccessibleName("Instrument")
        self.soundfont = QLabel(self)
        self.soundfont.setWordWrap(True)
        choose = QPushButton(".sf2…", self)
        choose.setToolTip("Choose a SoundFont file")
        choose.clicked.connect(self.soundfontRequested)
        bundled = QPushButton("Bundled", self)
        bundled.setToolTip("Back to the bundled General MIDI soundfont (TimGM6mb)")
        bundled.clicked.connect(self.soundfontReset)
        sf_row = QHBoxLayout()
        sf_row.addWidget(self.soundfont, 1)
        sf_row.addWidget(choose)
        sf_row.addWidget(bundled)
        self.device = QComboBox(self)
        self.device.setToolTip("Sound output device")
        self.blocksize = QComboBox(self)
        for b in BLOCK_SIZES:
            self.blocksize.addItem(f"{b} frames", b)
        self.blocksize.setToolTip("Frames per audio block: smaller = less latency, larger = fewer crackles")
        self.latency = QComboBox(self)
        for label, value in LATENCIES:
            self.latency.addItem(label, value)
        self.latency.setToolTip("Latency asked of the sound system ('low' by default)")
        self.status = ElidedLabel("", self)
        self.status.setStyleSheet("color: palette(mid);")
        form = QFormLayout(self)
        form.addRow("Instrument", self.instrument)
        form.addRow("Soundfont", sf_row)
        form.addRow("Output", self.device)
        audio_row = QHBoxLayout()
        audio_row.addWidget(self.blocksize, 1)
        audio_row.addWidget(QLabel("Latency", self))
        audio_row.addWidget(self.latency, 1)
        form.addRow("Block", audio_row)
        form.addRow(self.status)
        self.instrument.activated.connect(lambda i: self.programChosen.emit(int(self.instrument.itemData(i))))
        for box in (self.device, self.blocksize, self.latency):
            box.activated.connect(self._audio_changed)
        for box in (self.instrument, self.device):  # long names must not widen the panel
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(14)

    # -- filling --------------------------------------------------------------------------------------------------
    def set_instruments(self, names: dict[int, str], program: int) -> None:
        """Fill the instrument list from the soundfont's presets (GM names when it has none to tell)."""
        names = names or gm_names()
        self.instrument.blockSignals(True)
        self.instrument.clear()
        for prog in sorted(names):
            self.instrument.addItem(f"{prog + 1:3d}  {names[prog]}", prog)
        i = self.instrument.findData(program)
        self.instrument.setCurrentIndex(max(0, i))
        self.instrument.blockSignals(False)

    def select_program(self, program: int) -> None:
        i = self.instrument.findData(program)
        if i >= 0:
            self.instrument.setCurrentIndex(i)

    @property
    def program(self) -> int:
        data = self.instrument.currentData()
        return 0 if data is None else int(data)

    def set_soundfont(self, path) -> None:
        self.soundfont.setText(Path(path).name if path else "(none: no synthesizer)")
        self.soundfont.setToolTip(str(path or ""))

    def set_devices(self, devices, current=None) -> None:
        """``devices``: :class:`~composer_app.live.audio.OutputDevice` list; ``current`` index/name or None."""
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItem("System default", None)
        for dev in devices:
            self.device.addItem(dev.label + ("  (default)" if dev.is_default else ""), dev.name)
        i = self.device.findData(current) if current is not None else 0
        self.device.setCurrentIndex(max(0, i))
        self.device.blockSignals(False)

    def set_audio(self, blocksize: int, latency) -> None:
        for box, value in ((self.blocksize, blocksize), (self.latency, latency)):
            i = box.findData(value)
            box.blockSignals(True)
            box.setCurrentIndex(max(0, i))
            box.blockSignals(False)

    def _audio_changed(self, *_) -> None:
        self.audioChosen.emit(self.device.currentData(), int(self.blocksize.currentData()),
                              self.latency.currentData())


def latency_from_store(text: str | None):
    """The latency setting as stored (a string): 'low', 'high' or seconds."""
    if not text or text in ("low", "high"):
        return text or "low"
    try:
        return float(text)
    except ValueError:
        return "low"
