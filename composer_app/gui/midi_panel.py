"""MIDI in and out: port lists that follow hot-plugging, the keyboard the engine listens to, and the port (or
a virtual "Everybody Compose" port a DAW can record) the notes that sound also go to.

Every MIDI call (listing ports, opening one, noticing one that vanished) runs on :class:`MidiWatcher`'s own
thread: with rtmidi a listing creates a sequencer client and, on JACK, holds the GIL for up to a second, which
the GUI thread must never wait for. The watcher polls ``engine.midi_in`` and ``engine.midi_out`` about once a second and sends the
port list back through a queued Qt signal; "no MIDI system at all" is a normal state shown in the panel, not an
error. The engine itself handles the notes (on its worker thread) and reports an unplugged port through its
status, which the window shows in the banner.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from composer_app.errors import UserError
from composer_app.gui.elided_label import ElidedLabel

log = logging.getLogger(__name__)
POLL_S = 1.0
#: With no MIDI system at all (no ALSA sequencer, no JACK), look again only now and then: each try makes ALSA
#: print an error line on the terminal, and a MIDI system rarely appears while the app runs.
NO_SYSTEM_POLL_S = 15.0
NONE = "(none: computer keyboard only)"
OUT_LIST_EVERY = 5  # polls between listings of the MIDI outputs
OUT_OFF = "off"
#: The out list's entry for a new virtual port other software connects to.
VIRTUAL = "<virtual>"


class MidiWatcher(QObject):
    """Polls MIDI ports on a thread of its own and opens/closes the engine's port on request."""

    portsChanged = Signal(list, str)  # names, reason ("" when there is a MIDI system)
    opened = Signal(str)  # the port now listened to ("" = none)
    failed = Signal(str)  # plain words
    waiting = Signal(str)  # the chosen port is not connected now; it is opened when it appears
    outPortsChanged = Signal(list, str)  # MIDI output names, reason ("" when there is a MIDI system)
    outOpened = Signal(str)  # the port the notes also go to ("" = none)
    outFailed = Signal(str, str)  # the output port asked for, why it could not be opened (plain words)

    def __init__(self, engine, backend: str | None = None, interval_s: float = POLL_S, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.backend = backend
        self.interval_s = interval_s
        self.ports: list[str] = []
        self.reason = ""
        self.wanted: str | None = None  # the port the player chose, plugged in or not
        self.outputs: tuple[list[str], str] | None = None  # the MIDI outputs last listed, and why none
        self._polled = False
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="midi-watch", daemon=True)

    def start(self) -> MidiWatcher:
        self._thread.start()
        return self

    def request_open(self, name: str | None) -> None:
        """Listen to port ``name`` (None = stop listening); done on the watcher thread."""
        self._requests.put(("open", name))

    def request_open_out(self, port: str, channel: int = 0) -> None:
        """Send the notes also to output ``port`` ("" = none, :data:`VIRTUAL` = a virtual port) on ``channel``
        (0-15); done on the watcher thread."""
        self._requests.put(("out", (port, channel)))

    def poll_now(self) -> None:
        self._requests.put(("poll", None))

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._requests.put(("stop", None))
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- the watcher thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        known: set[str] = set()
        try:
            midi = self.engine.midi_in.input(self.backend)
        except Exception as exc:  # noqa: BLE001 - no mido/rtmidi at all: say so, keep the keyboard
            self.portsChanged.emit([], f"no MIDI input: {exc}")
            return
        first = True
        polls = 0
        while not self._stop.is_set():
            try:
                self.engine.midi_out.poll()
                appeared, vanished = self.engine.midi_in.poll()
            except Exception as exc:  # noqa: BLE001 - a broken MIDI layer must not end the watcher
                log.debug("MIDI poll failed", exc_info=True)
                appeared, vanished = [], []
                midi.reason, midi.no_system = f"no MIDI input: {exc}", True
            current = (known | set(appeared)) - set(vanished)
            reason = "" if current else (midi.reason or "")
            if first or current != known or reason != self.reason:
                known, first = current, False
                self.ports, self.reason = sorted(current), reason
                self.portsChanged.emit(self.ports, self.reason)
            self._polled = True
            if polls % OUT_LIST_EVERY == 0:  # each listing is a MIDI client: outputs are looked at less often
                outs = self._list_outputs()
                if outs != self.outputs:
                    self.outputs = outs
                    self.outPortsChanged.emit(*outs)
            polls += 1
            if self.wanted in appeared and not midi.is_open and not midi.port_vanished:
                self._open(self.wanted)  # chosen while unplugged (or at start-up): plugged in now
            no_system = bool(reason) and midi.no_system
            try:
                kind, arg = self._requests.get(timeout=max(self.interval_s, NO_SYSTEM_POLL_S) if no_system
                                               else self.interval_s)
            except queue.Empty:
                continue
            if kind == "stop":
                return
            if kind == "open":
                self._open(arg)
            elif kind == "out":
                self._open_out(*arg)

    def _list_outputs(self) -> tuple[list[str], str]:
        try:
            names, reason = self.engine.midi_out.output(self.backend).list_output_ports()
        except Exception as exc:  # noqa: BLE001 - no MIDI output layer: say so, the built-in synth plays
            return [], f"no MIDI output: {exc}"
        return sorted(names), reason or ""

    def _open_out(self, port: str, channel: int) -> None:
        if not port:
            self.engine.midi_out.close()
            self.outOpened.emit("")
            return
        virtual = port == VIRTUAL
        try:
            opened = self.engine.midi_out.open(None if virtual else port, self.backend, virtual=virtual, channel=channel)
        except UserError as exc:
            self.outFailed.emit(port, str(exc))
            self.outOpened.emit("")
            return
        self.outOpened.emit(opened)

    def _open(self, name: str | None) -> None:
        self.wanted = name or None
        if not name:
            self.engine.midi_in.close()
            self.opened.emit("")
            return
        if self._polled and name not in self.ports:
            self.engine.midi_in.close()
            self.waiting.emit(name)
            return
        try:
            opened = self.engine.midi_in.open(name, self.backend)
        except UserError as exc:
            self.failed.emit(str(exc))
            self.opened.emit("")
            return
        self.opened.emit(opened)


class MidiPanel(QGroupBox):
    """The input port list and what the MIDI system says; the output port, its channel, and whether the
    built-in synth plays too."""

    portChosen = Signal(str)  # "" = none
    outChosen = Signal(str, int)  # output port ("" = none, VIRTUAL), channel 0-15
    builtinChanged = Signal(bool)  # the built-in synth plays (False: only MIDI out)

    def __init__(self, parent=None):
        super().__init__("MIDI keyboard and MIDI out", parent)
        self.combo = QComboBox(self)
        self.combo.addItem(NONE, "")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.combo.setToolTip("MIDI input port: a keyboard plays like the tap keys, with its own velocity")
        self.status = ElidedLabel("looking for MIDI ports…", self)
        self.status.setStyleSheet("color: palette(mid);")
        self.out = QComboBox(self)
        self.out.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.out.setMinimumContentsLength(8)
        self.out.setToolTip("MIDI out: the notes that sound also go to this port (a DAW, a hardware synth), or "
                            "to a virtual port named 'Everybody Compose' that a DAW can record")
        self.channel = QSpinBox(self)
        self.channel.setRange(1, 16)
        self.channel.setPrefix("ch ")
        self.channel.setToolTip("MIDI out channel")
        self.builtin = QCheckBox("Synth", self)
        self.builtin.setChecked(True)
        self.builtin.setToolTip("Play through the built-in synth too (off when an external synth plays; the "
                                "metronome still clicks here)")
        for w in (self.out, self.channel, self.builtin):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Out", self))
        out_row.addWidget(self.out, 1)
        out_row.addWidget(self.channel)
        out_row.addWidget(self.builtin)
        layout = QVBoxLayout(self)
        layout.addWidget(self.combo)
        layout.addWidget(self.status)
        layout.addLayout(out_row)
        self.wanted = ""
        self.wanted_out = ""
        self._seen: set[str] = set()
        self.set_out_ports([], "")
        self.combo.activated.connect(self._chosen)
        self.out.activated.connect(self._out_chosen)
        self.channel.editingFinished.connect(self._out_chosen)
        self.builtin.toggled.connect(self.builtinChanged)

    def _out_chosen(self, *_) -> None:
        self.wanted_out = self.out.currentData() or ""
        self.outChosen.emit(self.wanted_out, self.channel.value() - 1)

    def set_out_ports(self, names: list[str], reason: str) -> None:
        """The outputs to choose from: off, a virtual port, and ``names`` (the chosen one kept if gone)."""
        current = self.out.currentData() or self.wanted_out
        self.out.blockSignals(True)
        self.out.clear()
        self.out.addItem(OUT_OFF, "")
        self.out.addItem("virtual port 'Everybody Compose'", VIRTUAL)
        for name in names:
            self.out.addItem(name, name)
        if current and self.out.findData(current) < 0:
            self.out.addItem(f"{current} (not found)", current)
        self.out.setCurrentIndex(max(0, self.out.findData(current)))
        self.out.blockSignals(False)
        if reason:
            self.out.setToolTip(reason)

    def select_out(self, port: str, channel: int) -> None:
        """Show ``port`` and ``channel`` (0-15) as chosen, without emitting."""
        self.wanted_out = port or ""
        i = self.out.findData(self.wanted_out)
        if i < 0:
            self.out.addItem(f"{self.wanted_out} (not found)", self.wanted_out)
            i = self.out.count() - 1
        for widget, set_value in ((self.out, lambda: self.out.setCurrentIndex(i)),
                                  (self.channel, lambda: self.channel.setValue(int(channel) + 1))):
            widget.blockSignals(True)
            set_value()
            widget.blockSignals(False)

    def _chosen(self, index: int) -> None:
        self.wanted = self.combo.itemData(index) or ""
        self.portChosen.emit(self.wanted)

    def set_ports(self, names: list[str], reason: str) -> None:
        current = self.combo.currentData() or self.wanted
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(NONE, "")
        for name in names:
            self.combo.addItem(name, name)
        if current and current not in names:  # the chosen port is unplugged: keep it listed as such
            self.combo.addItem(f"{current} (unplugged)" if current in self._seen else f"{current} (not found)",
                               current)
        self._seen.update(names)
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)
        if reason:
            self.status.setText(reason + " The computer keyboard plays as usual.")
        elif names:
            self.status.setText(f"{len(names)} MIDI input port{'s' if len(names) != 1 else ''} found")
        else:
            self.status.setText("no MIDI input ports")

    def select(self, name: str) -> None:
        """Show ``name`` as the chosen port (without emitting); kept as the wish while it is not listed."""
        self.wanted = name or ""
        i = self.combo.findData(self.wanted)
        if i < 0 and self.wanted:
            self.combo.addItem(f"{self.wanted} (not found)", self.wanted)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(max(0, i))

    def set_opened(self, name: str) -> None:
        if name:
            self.select(name)
            self.status.setText(f"listening to {name}")
