"""MIDI in and out: port lists that follow hot-plugging, the keyboard the engine listens to, and the port (or
a virtual "Everybody Compose" port a DAW can record) the notes that sound also go to.

Every MIDI call (listing ports, opening one, noticing one that vanished) runs on :class:`MidiWatcher`'s own
thread: with rtmidi a listing creates a sequencer client and, on JACK, holds the GIL for up to a second, which
the GUI thread must never wait for. The watcher lists the ports of every MIDI system (the ALSA sequencer, and
JACK where a JACK server runs: its ports show as "JACK: …") about once a second, hands each listing to the
engine's MIDI parts (which follow an unplugged port) and sends the lists back through queued Qt signals. "No
MIDI system at all" is a normal state shown in the panel in words, with how to get one, not an error. The engine
handles the notes (on its worker thread) and reports an unplugged port through its status.
"""

from __future__ import annotations

import logging
import queue
import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from composer_app.errors import UserError
from composer_app.gui.elided_label import ElidedLabel
from composer_app.live.midi_ports import (
    JACK_BACKEND,
    list_ports,
    midi_systems,
    parse_port_key,
    port_key,
)
from composer_app.platform_help import has_virtual_midi_ports, virtual_port_help

log = logging.getLogger(__name__)
POLL_S = 1.0
#: With no MIDI system at all (no ALSA sequencer, no JACK), look again only now and then: each try makes ALSA
#: print an error line on the terminal, and a MIDI system rarely appears while the app runs.
NO_SYSTEM_POLL_S = 15.0
NONE = "(none: computer keyboard only)"
OUT_LIST_EVERY = 5  # polls between listings of the MIDI outputs
OUT_OFF = "off"
#: The out list's entry for a new virtual port other software connects to (JACK's: prefixed).
VIRTUAL = "<virtual>"
JACK_VIRTUAL = port_key(JACK_BACKEND, VIRTUAL)
NO_INPUT = "MIDI input is off (--no-midi); MIDI out still works."
#: The out list's (disabled) entry where the system has no virtual ports (Windows): where to look instead.
NO_VIRTUAL = "no virtual port on this system: use loopMIDI"


def out_label(key: str) -> str:
    """How an output key is shown: a virtual port says what it is."""
    if key.endswith(VIRTUAL):
        return key[: -len(VIRTUAL)] + "virtual port 'Everybody Compose'"
    return key


class MidiWatcher(QObject):
    """Polls MIDI ports on a thread of its own and opens/closes the engine's ports on request.

    Ports are named by their key (:func:`~composer_app.live.midi_ports.port_key`: JACK ports prefixed
    "JACK: "). ``backend`` limits it to one MIDI system (tests, benches); ``listen=False`` leaves MIDI input
    alone (``--no-midi``) while MIDI out still works; ``lister(backend, direction)`` lists ports.
    """

    portsChanged = Signal(list, str)  # input port keys, what is missing ("" when nothing is)
    opened = Signal(str)  # the port now listened to ("" = none)
    failed = Signal(str, str)  # the input port asked for, why it could not be opened (plain words)
    waiting = Signal(str, str)  # the chosen port is not there now (it is opened when it appears), and why
    outPortsChanged = Signal(list, str)  # MIDI output keys, what is missing ("" when nothing is)
    outOpened = Signal(str)  # the port the notes also go to ("" = none)
    outFailed = Signal(str, str)  # the output port asked for, why it could not be opened (plain words)

    def __init__(self, engine, backend: str | None = None, interval_s: float = POLL_S, parent=None, *,
                 listen: bool = True, lister=list_ports):
        super().__init__(parent)
        self.engine = engine
        self.backends = [backend] if backend else midi_systems()
        self.interval_s = interval_s
        self.listen = listen
        self.lister = lister
        self.ports: list[str] = []
        self.reason = ""
        self.missing: dict[str, str] = {}  # backend -> why that MIDI system is missing (inputs)
        self.wanted: str | None = None  # the port the player chose, plugged in or not
        self.outputs: tuple[list[str], str] | None = None  # the MIDI outputs last listed, and what is missing
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
        polls = 0
        while not self._stop.is_set():
            no_system = False
            try:
                if self.listen:
                    no_system = self._look_at_inputs()
                if polls % OUT_LIST_EVERY == 0 or self.engine.midi_out.backend is not None:
                    self._look_at_outputs()  # each listing is a MIDI client: looked at less often unless one is open
            except Exception as exc:  # noqa: BLE001 - a broken MIDI layer must not end the watcher
                log.debug("MIDI poll failed", exc_info=True)
                self.portsChanged.emit([], f"no MIDI input: {exc}")
            polls += 1
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

    def _look(self, direction: str, follow) -> tuple[list[str], list[str], dict[str, str]]:
        """Every system's ``direction`` ports as keys, each listing handed to ``follow(names, backend)``; also
        the reasons for no port and ``{backend: why}`` for the systems that are missing."""
        keys, reasons, missing = [], [], {}
        for backend in self.backends:
            found = self.lister(backend, direction)
            follow(list(found.names), backend)
            keys += [port_key(backend, name) for name in found.names]
            if found.reason:
                reasons.append(found.reason)
            if found.no_system:
                missing[backend] = found.reason or ""
        return sorted(keys), reasons, missing

    def _look_at_inputs(self) -> bool:
        """List the inputs (and follow the open one); True when no MIDI system is there at all."""
        keys, reasons, self.missing = self._look("input", self.engine.midi_in.poll)
        reason = " ".join(reasons if not keys else self.missing.values())
        appeared = set(keys) - set(self.ports)
        if not self._polled or keys != self.ports or reason != self.reason:
            self.ports, self.reason = keys, reason
            self.portsChanged.emit(keys, reason)
        self._polled = True
        if self.wanted in appeared and not self.engine.midi_in.is_open:
            self._open(self.wanted)  # chosen while unplugged (or at start-up): plugged in now
        return len(self.missing) == len(self.backends)

    def _look_at_outputs(self) -> None:
        keys, reasons, missing = self._look("output", self.engine.midi_out.poll)
        if JACK_BACKEND in self.backends and JACK_BACKEND not in missing:
            keys.insert(0, JACK_VIRTUAL)
        outs = (keys, " ".join(reasons if not keys else missing.values()))
        if outs != self.outputs:
            self.outputs = outs
            self.outPortsChanged.emit(*outs)

    def _open_out(self, key: str, channel: int) -> None:
        if not key:
            self.engine.midi_out.close()
            self.outOpened.emit("")
            return
        backend, name = parse_port_key(key, self.backends[0])
        virtual = name == VIRTUAL
        if virtual and backend != JACK_BACKEND and not has_virtual_midi_ports():
            self.outFailed.emit(key, virtual_port_help())  # e.g. a setting saved on Linux, read on Windows
            self.outOpened.emit("")
            return
        try:
            opened = self.engine.midi_out.open(None if virtual else name, backend, virtual=virtual,
                                               channel=channel)
        except UserError as exc:
            self.outFailed.emit(key, str(exc))
            self.outOpened.emit("")
            return
        self.outOpened.emit(port_key(backend, opened))

    def _open(self, key: str | None) -> None:
        self.wanted = key or None
        if not key:
            self.engine.midi_in.close()
            self.opened.emit("")
            return
        backend, name = parse_port_key(key, self.backends[0])
        if self._polled and key not in self.ports:
            self.engine.midi_in.close()
            self.waiting.emit(key, self.missing.get(backend, ""))
            return
        try:
            opened = self.engine.midi_in.open(name, backend)
        except UserError as exc:
            self.failed.emit(key, str(exc))
            self.opened.emit("")
            return
        self.opened.emit(port_key(backend, opened))


class _OutCombo(QComboBox):
    """The MIDI out list; says when the player opens it (with ``--no-midi`` its ports are looked for then)."""

    popupWanted = Signal()

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.popupWanted.emit()
        super().showPopup()


class MidiPanel(QGroupBox):
    """The input port list and what the MIDI system says; the output port, its channel, and whether the
    built-in synth plays too."""

    portChosen = Signal(str)  # "" = none
    outChosen = Signal(str, int)  # output port ("" = none, VIRTUAL), channel 0-15
    builtinChanged = Signal(bool)  # the built-in synth plays (False: only MIDI out)
    outListWanted = Signal()  # the player opened the MIDI out list

    def __init__(self, parent=None):
        super().__init__("MIDI keyboard and MIDI out", parent)
        self.combo = QComboBox(self)
        self.combo.addItem(NONE, "")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.combo.setToolTip("MIDI input port: a keyboard plays like the tap keys, with its own velocity")
        self.status = ElidedLabel("looking for MIDI ports…", self)
        self.status.setStyleSheet("color: palette(mid);")
        self.out = _OutCombo(self)
        self.out.popupWanted.connect(self.outListWanted)
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
        """The outputs to choose from: off, a virtual port (where the system has them; else a disabled entry
        that says what to use instead), and ``names`` (the chosen one kept if gone)."""
        current = self.out.currentData() or self.wanted_out
        virtual = has_virtual_midi_ports()
        self.out.blockSignals(True)
        self.out.clear()
        for key in ["", *([VIRTUAL] if virtual else []), *names]:
            self.out.addItem(out_label(key) if key else OUT_OFF, key)
        if not virtual:
            self._add_no_virtual_entry()
        if current and self.out.findData(current) < 0:
            self.out.addItem(f"{out_label(current)} (not found)", current)
        self.out.setCurrentIndex(max(0, self.out.findData(current)))
        self.out.blockSignals(False)
        tip = reason or "MIDI out: the notes that sound also go to this port"
        self.out.setToolTip(tip if virtual else f"{tip}. {virtual_port_help()}")

    def _add_no_virtual_entry(self) -> None:
        """A greyed entry where the virtual port would be, so a player looking for it reads why it is not
        there (its tooltip: the loopback driver to install)."""
        self.out.insertItem(1, NO_VIRTUAL, None)
        item = self.out.model().item(1)
        item.setEnabled(False)
        item.setToolTip(virtual_port_help())

    def select_out(self, port: str, channel: int) -> None:
        """Show ``port`` and ``channel`` (0-15) as chosen, without emitting."""
        self.wanted_out = port or ""
        i = self.out.findData(self.wanted_out)
        if i < 0:
            self.out.addItem(f"{out_label(self.wanted_out)} (not found)", self.wanted_out)
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
        found = f"{len(names)} MIDI input port{'s' if len(names) != 1 else ''} found"
        if reason and not names:
            self.status.setText(reason + " The computer keyboard plays as usual.")
        elif reason:
            self.status.setText(f"{found}. {reason}")
        else:
            self.status.setText(found if names else "no MIDI input ports")

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
