"""MIDI keyboard input: a port list that follows hot-plugging, and the port the engine listens to.

Every MIDI call (listing ports, opening one, noticing one that vanished) runs on :class:`MidiWatcher`'s own
thread: with rtmidi a listing creates a sequencer client and, on JACK, holds the GIL for up to a second, which
the GUI thread must never wait for. The watcher polls ``engine.poll_midi()`` about once a second and sends the
port list back through a queued Qt signal; "no MIDI system at all" is a normal state shown in the panel, not an
error. The engine itself handles the notes (on its worker thread) and reports an unplugged port through its
status, which the window shows in the banner.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QVBoxLayout

from composer_app.errors import UserError
from composer_app.gui.elided_label import ElidedLabel

log = logging.getLogger(__name__)
POLL_S = 1.0
#: With no MIDI system at all (no ALSA sequencer, no JACK), look again only now and then: each try makes ALSA
#: print an error line on the terminal, and a MIDI system rarely appears while the app runs.
NO_SYSTEM_POLL_S = 15.0
NONE = "(none: computer keyboard only)"


class MidiWatcher(QObject):
    """Polls MIDI ports on a thread of its own and opens/closes the engine's port on request."""

    portsChanged = Signal(list, str)  # names, reason ("" when there is a MIDI system)
    opened = Signal(str)  # the port now listened to ("" = none)
    failed = Signal(str)  # plain words
    waiting = Signal(str)  # the chosen port is not connected now; it is opened when it appears

    def __init__(self, engine, backend: str | None = None, interval_s: float = POLL_S, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.backend = backend
        self.interval_s = interval_s
        self.ports: list[str] = []
        self.reason = ""
        self.wanted: str | None = None  # the port the player chose, plugged in or not
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
            midi = self.engine.midi_input(self.backend)
        except Exception as exc:  # noqa: BLE001 - no mido/rtmidi at all: say so, keep the keyboard
            self.portsChanged.emit([], f"no MIDI input: {exc}")
            return
        first = True
        while not self._stop.is_set():
            try:
                appeared, vanished = self.engine.poll_midi()
            except Exception as exc:  # noqa: BLE001 - a broken MIDI layer must not end the watcher
                log.debug("MIDI poll failed", exc_info=True)
                appeared, vanished = [], []
                midi.reason = f"no MIDI input: {exc}"
            current = (known | set(appeared)) - set(vanished)
            reason = "" if current else (midi.reason or "")
            if first or current != known or reason != self.reason:
                known, first = current, False
                self.ports, self.reason = sorted(current), reason
                self.portsChanged.emit(self.ports, self.reason)
            self._polled = True
            if self.wanted in appeared and not midi.is_open and not midi.port_vanished:
                self._open(self.wanted)  # chosen while unplugged (or at start-up): plugged in now
            no_system = bool(reason) and not reason.startswith("no MIDI input ports")
            try:
                kind, arg = self._requests.get(timeout=max(self.interval_s, NO_SYSTEM_POLL_S) if no_system
                                               else self.interval_s)
            except queue.Empty:
                continue
            if kind == "stop":
                return
            if kind == "open":
                self._open(arg)

    def _open(self, name: str | None) -> None:
        self.wanted = name or None
        if not name:
            self.engine.close_midi()
            self.opened.emit("")
            return
        if self._polled and name not in self.ports:
            self.engine.close_midi()
            self.waiting.emit(name)
            return
        try:
            opened = self.engine.open_midi(name, self.backend)
        except UserError as exc:
            self.failed.emit(str(exc))
            self.opened.emit("")
            return
        self.opened.emit(opened)


class MidiPanel(QGroupBox):
    """The port list and what the MIDI system says."""

    portChosen = Signal(str)  # "" = none

    def __init__(self, parent=None):
        super().__init__("MIDI keyboard", parent)
        self.combo = QComboBox(self)
        self.combo.addItem(NONE, "")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.combo.setToolTip("MIDI input port: a keyboard plays like the tap keys, with its own velocity")
        self.status = ElidedLabel("looking for MIDI ports…", self)
        self.status.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.addWidget(self.combo)
        layout.addWidget(self.status)
        self.wanted = ""
        self._seen: set[str] = set()
        self.combo.activated.connect(self._chosen)

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
