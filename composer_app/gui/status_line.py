"""The status bar: the take's note count, step and key-to-sound times, MIDI and sound in a few words each (the
whole message in each tooltip), and the engine's :class:`~composer_app.status.Status` messages routed by topic
and level: warnings and errors also go to the banner."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStatusBar

from composer_app.clock import ns_to_ms, ns_to_us
from composer_app.gui.banner import MessageBanner
from composer_app.gui.sound_panel import SoundPanel
from composer_app.status import Status

if TYPE_CHECKING:  # the engine module imports torch: not at the GUI's start
    from composer_app.live.engine import StepTiming


class StatusLine:
    """Owns the status bar's labels and the timing samples they summarise."""

    def __init__(self, bar: QStatusBar, engine, banner: MessageBanner, sound_panel: SoundPanel, audio: bool):
        self.engine = engine
        self.banner = banner
        self.sound_panel = sound_panel
        self.audio = audio
        self.step_ns: collections.deque[int] = collections.deque(maxlen=2048)
        self.key_to_sound_ns: collections.deque[int] = collections.deque(maxlen=2048)
        self.handler_ns = None  # the tap area's per-key GUI cost (a deque), when known
        self.notes = QLabel(bar)
        self.perf = QLabel(bar)
        self.midi = QLabel("MIDI: looking for ports…", bar)
        self.sound = QLabel(bar)
        for w in (self.notes, self.perf, self.midi, self.sound):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            w.setStyleSheet("padding: 0 6px; border-left: 1px solid palette(mid);")
            bar.addPermanentWidget(w)
        self.sound.setToolTip("Sound output: device, block size and output latency")
        self.perf.setToolTip("Model step time and key-down to note-on time (99th percentile of recent notes)")
        self.sound.setText(self.sound_summary())

    def note_played(self, timing: StepTiming) -> None:
        """A note's engine timing, for the step and key-to-note-on figures."""
        self.step_ns.append(timing.step_ns)
        self.key_to_sound_ns.append(max(0, timing.key_to_sound_ns))

    def show_count(self, n: int) -> None:
        self.notes.setText(f"{n} note{'s' if n != 1 else ''}")

    def on_status(self, status: Status) -> None:
        """An engine status: shown by topic; warnings and errors in the banner too (by level, never by words)."""
        if status.topic == "sound":
            self.sound.setText(self.sound_summary())
            self.sound.setToolTip(status.text)
            self.sound_panel.status.setText(status.text)
        elif status.topic == "midi":
            self.set_midi(short(status.text, 50), status.text)
        elif status.topic == "midi out":
            self.midi.setToolTip(status.text)
        elif status.topic == "model":
            self.perf.setToolTip(status.text)
        if status.level != "info":
            self.banner.show_message(status.text, status.level)

    def set_midi(self, text: str, tip: str = "") -> None:
        self.midi.setText(text)
        self.midi.setToolTip(tip)

    def sound_summary(self) -> str:
        """The sound state in a few words (the whole message is the tooltip)."""
        status = self.engine.sound.status
        if status is None and not self.audio:
            return "sound: off (--no-audio)"
        if status is None or not status.available:
            return "no sound (see the Sound panel)"
        latency = f", {status.latency_s * 1000:.1f} ms" if status.latency_s is not None else ""
        return f"sound: {short(status.device or 'default', 28)}{latency}"

    def refresh(self) -> None:
        """Step time and key-to-note-on time (cheap: the window's own samples)."""
        if not self.step_ns:
            self.perf.setText(f"model: {self.engine.model.label}")
            return
        step = ns_to_ms(np.percentile(np.fromiter(self.step_ns, np.int64), 99))
        k2s = ns_to_ms(np.percentile(np.fromiter(self.key_to_sound_ns, np.int64), 99))
        self.perf.setText(f"step p99 {step:.2f} ms · key→note-on p99 {k2s:.2f} ms")
        if self.handler_ns:
            handler = ns_to_us(np.fromiter(self.handler_ns, np.int64))
            self.perf.setToolTip(
                f"model step (p99) {step:.2f} ms; key event to note-on (p99) {k2s:.2f} ms; GUI thread per "
                f"key-down: median {np.median(handler):.0f} µs, p99 {np.percentile(handler, 99):.0f} µs. "
                "Sound output latency: see the sound status.")


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
