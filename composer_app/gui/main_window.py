"""The main window: wires the tap area, piano roll and control panels to a :class:`LiveEngine`.

The window owns no musical logic. A key-down goes straight into the engine (a model step, well under a
millisecond) unless the engine thread is busy with something of ours, then it is queued there
(:class:`~composer_app.gui.engine_bridge.EngineBridge`); every other engine call runs on the engine's thread,
every slow job (loading models, files, rendering) on a background thread (:mod:`composer_app.gui.tasks`) or a
QThread (recolour), and results come back as queued signals. So the GUI thread only handles events, steps the
model at a key-down, and paints; it never waits for slow work.

File work lives in :mod:`~composer_app.gui.take_files`, the recolour flow in
:mod:`~composer_app.gui.recolour_flow` (mixins of this class).

What is shown is either the **live take** (the engine's, growing as you play) or a **document**: a take opened
from a file, restored after a crash, or a kept recolouring. Export, save, replay and recolour act on what is
shown; tapping while a document is shown starts a new live take (the document stays in its file).

Problems are said in plain words in the banner at the top (:class:`~composer_app.gui.banner.MessageBanner`);
nothing is modal while playing.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from composer_app import resources
from composer_app.gui import tasks
from composer_app.gui.banner import MessageBanner
from composer_app.gui.beat_grid import BeatGrid
from composer_app.gui.controls import ModelPanel, SamplingPanel
from composer_app.gui.engine_bridge import EngineBridge
from composer_app.gui.help_dialog import ShortcutsDialog
from composer_app.gui.midi_panel import MidiPanel, MidiWatcher
from composer_app.gui.model_source import ModelSource
from composer_app.gui.piano_roll import RollView, notes_from_take
from composer_app.gui.recolour import CompareDialog, RecolourWorker
from composer_app.gui.recolour_flow import RecolourMixin
from composer_app.gui.sound_panel import SoundPanel
from composer_app.gui.take_files import TakeFilesMixin
from composer_app.gui.tap_area import KeyRouter, TapArea
from composer_app.gui.tempo_bar import TempoBar, time_settings_from_store
from composer_app.live.take import Take
from composer_app.status import Status

APP_TITLE = "Everybody Compose"
ICON = resources.ICON
STATUS_MS = 1000
SIDE_W = 370  # the control panels' column: every panel fits at 1280x720 without scrolling


class MainWindow(TakeFilesMixin, RecolourMixin, QMainWindow):
    """The instrument's window.

    Parameters
    ----------
    engine : LiveEngine
        Already made (and started, for sound); the window closes it when it closes.
    store : SettingsStore
        Where choices persist.
    data_dir : path
        The data folder; takes live in ``<data_dir>/takes``.
    source : ModelSource, optional
        Where models come from (tests hand in tiny ones).
    midi : bool
        Watch MIDI ports (False: no MIDI layer at all, e.g. tests).
    model_warning : str, optional
        Said once at start when the live model is a stand-in.
    """

    def __init__(self, engine, store, data_dir, source: ModelSource | None = None, midi: bool = True,
                 midi_backend: str | None = None, model_warning: str | None = None, audio: bool = True):
        super().__init__()
        self.engine = engine
        self.store = store
        self.data_dir = Path(data_dir)
        self.take_dir = self.data_dir / "takes"
        self.source = source or ModelSource()
        self.audio = audio
        self.bridge = EngineBridge(engine, self)
        self.document: Take | None = None
        self.document_path: Path | None = None
        self.recolour_worker: RecolourWorker | None = None
        self.compare: CompareDialog | None = None
        self.step_ns: collections.deque[int] = collections.deque(maxlen=2048)
        self.key_to_sound_ns: collections.deque[int] = collections.deque(maxlen=2048)
        self._closing = False
        self._replay_pitches: list[int] = []  # pitches of the take being replayed, by position
        self.time_settings = None  # the tempo bar's TimeSettings, once applied
        self.midi_port = ""  # the MIDI input port the engine listens to ("" = none)
        self.setWindowTitle(APP_TITLE)
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1280, 720)
        self.setMinimumSize(900, 560)

        self._build_widgets()
        self._build_actions()
        self._build_status_bar()
        self._connect()
        self.router = KeyRouter(self, self.tap)
        self.router.install()
        self._restore_state()
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_MS)
        self._timer.timeout.connect(self.refresh_status)
        self._timer.start()
        if not audio:
            self.status_sound.setText(self._sound_summary())
        for status in engine.statuses.values():
            self._on_status(status)
        if model_warning:
            self.banner.show_message(model_warning, "warning")
        self.model_panel.show_model(engine.model, model_warning)
        self.watcher = None
        if midi:
            self.watcher = MidiWatcher(engine, midi_backend, parent=self)
            self.watcher.portsChanged.connect(self._on_midi_ports)
            self.watcher.opened.connect(self._on_midi_opened)
            self.watcher.failed.connect(lambda msg: self.banner.show_message(msg, "error"))
            self.watcher.waiting.connect(self._on_midi_waiting)
            self.watcher.start()
            wanted = store.get_str("midi/port", "")
            if wanted:
                self.midi_panel.select(wanted)
                self.watcher.request_open(wanted)
        else:
            self.midi_panel.set_ports([], "MIDI input is off (--no-midi)")
            self.midi_panel.setEnabled(False)
            self.status_midi.setText("MIDI: off")
        self.refresh_status()
        self.tap.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- layout ---------------------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.banner = MessageBanner(self)
        self.roll_view = RollView(self)
        self.roll = self.roll_view.roll
        self.tap = TapArea(self._press, self._release, self)
        self.recolour_bar = QWidget(self)
        self.recolour_progress = QProgressBar(self.recolour_bar)
        self.recolour_progress.setFormat("Recolouring… %p%")
        self.recolour_cancel = QPushButton("Cancel", self.recolour_bar)
        self.recolour_cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recolour_cancel.clicked.connect(self.cancel_recolour)
        row = QHBoxLayout(self.recolour_bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.recolour_progress, 1)
        row.addWidget(self.recolour_cancel)
        self.recolour_bar.hide()

        left = QWidget(self)
        col = QVBoxLayout(left)
        col.setContentsMargins(6, 6, 3, 6)
        self.tempo_bar = TempoBar(self)
        col.addWidget(self.banner)
        col.addWidget(self.tempo_bar)
        col.addWidget(self.recolour_bar)
        col.addWidget(self.roll_view, 3)
        col.addWidget(self.tap, 1)

        self.model_panel = ModelPanel(self)
        self.sampling_panel = SamplingPanel(self)
        self.sound_panel = SoundPanel(self)
        self.midi_panel = MidiPanel(self)
        side = QWidget(self)
        side_col = QVBoxLayout(side)
        side_col.setContentsMargins(3, 6, 6, 6)
        for panel in (self.model_panel, self.sampling_panel, self.sound_panel, self.midi_panel):
            side_col.addWidget(panel)
        side_col.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(SIDE_W)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.side_panel = scroll

        central = QWidget(self)
        main = QHBoxLayout(central)
        main.setContentsMargins(0, 0, 0, 0)
        main.setSpacing(0)
        main.addWidget(left, 1)
        main.addWidget(scroll)
        self.setCentralWidget(central)

    def _action(self, text: str, keys, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys:
            seqs = [QKeySequence(k) if isinstance(k, str) else QKeySequence(k) for k in
                    (keys if isinstance(keys, list | tuple) else [keys])]
            action.setShortcuts(seqs)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_new = a("&New take", "Ctrl+N", self.new_take, "Start an empty take")
        self.act_open = a("&Open take…", "Ctrl+O", self.open_take_dialog, "Open a saved take")
        self.act_open_rhythm = a("Open &rhythm…", "Ctrl+Shift+O", self.open_rhythm_dialog,
                                 "Open a rhythm (.npy or MIDI) to give it a melody with Recolour")
        self.act_save = a("&Save take…", "Ctrl+S", self.save_take_dialog, "Save the take shown")
        self.act_export = a("&Export MIDI…", "Ctrl+E", self.export_midi_dialog, "Write the take as a MIDI file")
        self.act_export_wav = a("Export &WAV…", "Ctrl+Shift+E", self.export_wav_dialog,
                                "Render the take through the synth into a WAV file")
        self.act_quit = a("&Quit", "Ctrl+Q", self.quit_app)
        self.act_stop = a("&Stop (all notes off)", "Esc", self.stop,
                          "Silence everything, stop a replay or a recolouring")
        self.act_undo = a("&Undo last note", "Ctrl+Z", self.undo, "Take back the last note")
        self.act_replay = a("&Replay", "Ctrl+R", self.replay, "Play the take shown through the synth")
        self.act_recolour = a("Re&colour…", "Ctrl+G", self.recolour_dialog,
                              "Choose new pitches for the whole take with an offline model")
        self.act_zoom_in = a("Zoom &in", ["+", "=", "Ctrl++"], lambda: self.roll.zoom(1.25))
        self.act_zoom_out = a("Zoom &out", ["-", "Ctrl+-"], lambda: self.roll.zoom(0.8))
        self.act_fit = a("&Fit take", "0", self.roll.fit, "Show the whole take")
        self.act_left = a("Scroll back", "Left", lambda: self.roll.scroll_by(-self.roll.visible_seconds / 4))
        self.act_right = a("Scroll on", "Right", lambda: self.roll.scroll_by(self.roll.visible_seconds / 4))
        self.act_home = a("Go to start", "Home", self.roll.go_home)
        self.act_end = a("Go to end (follow)", "End", self.roll.go_end)
        self.act_pitch_up = a("Pitches up", "PgUp", lambda: self.roll.shift_pitch(6))
        self.act_pitch_down = a("Pitches down", "PgDown", lambda: self.roll.shift_pitch(-6))
        self.act_models = []
        for i, arch in enumerate(("vanilla_rnn", "lstm_attn", "attention_rnn"), start=1):
            self.act_models.append(a(f"Model {i}: {arch}", f"Ctrl+{i}", lambda _=False, x=arch: self.choose_model(x)))
        self.act_instr_next = a("Next instrument", "Ctrl+]", lambda: self._step_instrument(1))
        self.act_instr_prev = a("Previous instrument", "Ctrl+[", lambda: self._step_instrument(-1))
        self.act_shortcuts = a("&Keyboard shortcuts", "F1", self.show_shortcuts)
        self.act_about = a("&About", None, self.show_about)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for act in (self.act_new, self.act_open, self.act_open_rhythm, self.act_save, None, self.act_export, self.act_export_wav, None,
                    self.act_quit):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        play = bar.addMenu("&Play")
        for act in (self.act_stop, self.act_undo, self.act_replay, None, self.act_recolour, None,
                    *self.act_models, self.act_instr_next, self.act_instr_prev):
            play.addSeparator() if act is None else play.addAction(act)
        view = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, None, self.act_left, self.act_right,
                    self.act_home, self.act_end, self.act_pitch_up, self.act_pitch_down):
            view.addSeparator() if act is None else view.addAction(act)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)

        tools = self.addToolBar("Transport")
        tools.setObjectName("transport")
        tools.setMovable(False)
        for act in (self.act_new, self.act_stop, self.act_undo, self.act_replay, self.act_recolour,
                    self.act_export, self.act_save, self.act_open):
            tools.addAction(act)
            btn = tools.widgetForAction(act)
            if btn is not None:
                btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                btn.setToolTip(f"{act.toolTip()} ({keys})" if keys else act.toolTip())

    @property
    def shortcut_actions(self) -> list[QAction]:
        return [a for a in self.actions() if a.shortcuts()]

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_notes = QLabel(self)
        self.status_perf = QLabel(self)
        self.status_midi = QLabel("MIDI: looking for ports…", self)
        self.status_sound = QLabel(self)
        for w in (self.status_notes, self.status_perf, self.status_midi, self.status_sound):
            w.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            w.setStyleSheet("padding: 0 6px; border-left: 1px solid palette(mid);")
            bar.addPermanentWidget(w)
        self.status_sound.setToolTip("Sound output: device, block size and output latency")
        self.status_perf.setToolTip("Model step time and key-down to note-on time (99th percentile of recent "
                                    "notes)")

    def _connect(self) -> None:
        b = self.bridge
        q = Qt.ConnectionType.QueuedConnection
        b.noteStarted.connect(self._on_note_started, q)
        b.noteEnded.connect(self._on_note_ended, q)
        b.statusChanged.connect(self._on_status, q)
        b.takeChanged.connect(self._on_take_changed, q)
        b.replayNote.connect(self._on_replay_note, q)
        b.replayFinished.connect(self.roll.replay_finished, q)
        b.callFailed.connect(self._on_call_failed, q)
        b.callDone.connect(self._on_call_done, q)
        self.model_panel.architectureChosen.connect(self.choose_model)
        self.model_panel.fileRequested.connect(self.choose_model_file_dialog)
        self.sampling_panel.settingsChanged.connect(self.apply_settings)
        self.sound_panel.programChosen.connect(self.choose_program)
        self.sound_panel.soundfontRequested.connect(self.choose_soundfont_dialog)
        self.sound_panel.soundfontReset.connect(lambda: self.choose_soundfont(None))
        self.sound_panel.audioChosen.connect(self.choose_audio)
        self.midi_panel.portChosen.connect(self.choose_midi_port)
        self.tempo_bar.changed.connect(self.apply_time)

    # -- state between runs ---------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.store.get_bytes("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        self.roll.px_per_s = self.store.get_float("view/px_per_s", self.roll.px_per_s)
        self.sampling_panel.set_settings(self.engine.settings)
        self.tempo_bar.set_settings(time_settings_from_store(self.store))
        self.apply_time(self.tempo_bar.settings())
        synth = self.engine.synth
        self.sound_panel.set_instruments(synth.preset_names(), int(synth.program))
        self.sound_panel.set_soundfont(synth.soundfont)
        args = self.engine.audio_settings
        self.sound_panel.set_audio(int(args.get("blocksize", 128)), args.get("latency", "low"))
        self.sound_panel.set_devices([], args.get("device"))
        if self.audio:
            from composer_app.live.audio import list_output_devices

            tasks.run_in_thread(list_output_devices,
                                lambda devs: self.sound_panel.set_devices(devs, self._audio_args().get("device")),
                                name="list-audio")
        else:
            for box in (self.sound_panel.device, self.sound_panel.blocksize, self.sound_panel.latency):
                box.setEnabled(False)

    def _audio_args(self) -> dict:
        return self.engine.audio_settings

    def save_state(self) -> None:
        s = self.store
        s.set("window/geometry", self.saveGeometry())
        s.set("view/px_per_s", self.roll.px_per_s)
        self.sampling_panel.save(s)
        self.tempo_bar.save(s)
        s.sync()

    # -- playing --------------------------------------------------------------------------------------------------
    def _press(self, source: str, t_ns: int, key_height: int | None = None) -> None:
        """A tap key went down (GUI thread): to the engine at once (see :meth:`EngineBridge.press`)."""
        if self.document is not None:
            self._leave_document()
        self.bridge.press(source, t_ns, key_height)

    def _release(self, source: str, t_ns: int) -> None:
        self.bridge.release(source, t_ns)

    def _leave_document(self) -> None:
        """Tapping while an opened/recoloured take is shown: a new live take begins (the document is in its
        file; a kept recolouring was saved)."""
        self._show_live_grid()
        self.document = None
        self.document_path = None
        self.roll.clear(live=True)
        self.roll.reset_zoom()
        self.bridge.submit(self.engine.new_take)  # the press that follows is queued behind it
        self._update_title()

    def _show_live_grid(self) -> None:
        """Bars and beats of the tempo bar's settings (a document shows its own)."""
        settings = self.time_settings
        if settings is not None:
            self.roll.set_grid(BeatGrid.of(settings.bpm, settings.metre))

    def _on_note_started(self, ev) -> None:
        if self.document is not None:  # a MIDI key while a document is shown: show the live take again
            self._show_live_grid()
            self.document = None
            self.document_path = None
            self.roll.set_notes(notes_from_take(_copy_notes(self.engine.take)), live=True)
        self.roll.note_started(ev.index, ev.pitch, ev.start_s, ev.t_ns, ev.velocity, ev.direction)
        self.tap.show_note(ev.index, ev.pitch, ev.direction)
        self.step_ns.append(ev.step_ns)
        self.key_to_sound_ns.append(max(0, ev.sounded_ns - ev.t_ns))
        self._show_count()
        if ev.index == 0:
            self._update_title()

    def _on_note_ended(self, ev) -> None:
        if self.document is None:
            self.roll.note_ended(ev.index, ev.dur_s, undone=ev.reason == "undo")
        if not self.roll.sounding:
            self.tap.note_stopped()

    def _on_take_changed(self, take) -> None:
        if self.document is not None:
            return
        notes = notes_from_take(_copy_notes(take))
        if not notes:
            self.roll.clear(live=True)
            self.tap.clear()
        else:
            self.roll.set_notes(notes, live=True, origin_ns=self.roll.origin_ns)
            last = notes[-1]
            if last.end_s is not None:  # an undo: the big display shows the note the take now ends with
                self.tap.show_resting(last.index, last.pitch)
        self._show_count()
        self._update_title()

    def _on_replay_note(self, index: int, on: bool) -> None:
        self.roll.replay_note(index, on)
        pitches = self._replay_pitches
        if on and 0 <= index < len(pitches):
            self.tap.show_note(index, pitches[index])
        elif not on and self.tap.last_note is not None and self.tap.last_note[0] == index:
            self.tap.note_stopped()

    def _show_count(self) -> None:
        """The take's note count, in the status bar and the tap area."""
        n = len(self.document.notes) if self.document is not None else len(self.roll.notes)
        self.status_notes.setText(f"{n} note{'s' if n != 1 else ''}")
        self.tap.set_note_count(n)

    # -- transport ------------------------------------------------------------------------------------------------
    def new_take(self) -> None:
        kept = self.kept_take_note()
        self._show_live_grid()
        self.document = None
        self.document_path = None
        self.roll.clear(live=True)
        self.roll.reset_zoom()
        self.tap.clear()
        self.bridge.call("start a new take", self.engine.new_take, self.time_settings.count_in)
        self._update_title()
        if kept:
            self.banner.show_message(f"New take. {kept}", "info")

    def kept_take_note(self) -> str:
        """Where the live take is kept, in words ('' when it is empty or not written): said whenever the
        window moves away from it (New take, Open take, Quit)."""
        n = len(self.engine.take.notes)
        path = self.engine.take_path
        if not n or path is None:
            return ""
        return (f"The take you played ({n} note{'s' if n != 1 else ''}) is kept in {path}; "
                "open it with Ctrl+O.")

    def stop(self) -> None:
        self.bridge.call("stop", self.engine.stop)
        self.roll.replay_finished()
        if self.recolour_worker is not None:
            self.cancel_recolour()
        self.tap.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def undo(self) -> None:
        if self.document is not None:
            self.banner.show_message("Undo takes back notes of the take you are playing; this take was opened "
                                     "from a file. Tap to start a new take.", "info")
            return
        self.bridge.call("undo the last note", self.engine.undo)

    def replay(self) -> None:
        take = self.document
        if take is None and not self.engine.take.notes:
            self.banner.show_message("Nothing to replay yet: tap z, x or space to play a take.", "info")
            return
        self._replay_pitches = [n.pitch for n in (take.notes if take is not None else self.roll.notes)]
        self.roll.replay_started()
        self.bridge.call("replay", self.engine.replay, take)

    # -- model and settings ---------------------------------------------------------------------------------------
    def choose_model(self, arch: str) -> None:
        """Switch the live model (loaded in the background; the engine switches at the next beat)."""
        self.store.set("model/architecture", arch)
        self.store.remove("model/file")
        tasks.run_in_thread(lambda: self.source.live(arch), self._switch_model,
                            lambda msg: self.banner.show_message(msg, "error"), name="load-model")

    def choose_model_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Live model checkpoint", str(Path.home()),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.choose_model_file(path)

    def choose_model_file(self, path) -> None:
        def loaded(choice):
            self.store.set("model/file", str(path))
            self._switch_model(choice)

        tasks.run_in_thread(lambda: self.source.from_file(path, "live"), loaded,
                            lambda msg: self.banner.show_message(msg, "error"), name="load-model")

    def _switch_model(self, choice) -> None:
        self._model_warning = choice.warning
        self.bridge.call("switch the model", self.engine.set_model, choice.loaded, tag="model")

    def apply_settings(self, settings) -> None:
        steer = self.time_settings.steer
        self.bridge.call("change the sampling settings", self.engine.set_settings, settings.with_(steer=steer))
        self.sampling_panel.save(self.store)

    def apply_time(self, settings) -> None:
        """Tempo, metre, click and steer go to the engine (only what differs from it); the roll draws bars and
        beats; count-in is used by New take, the quantize grid by export."""
        self.time_settings = settings
        engine = self.engine
        if settings.bpm != engine.tempo_bpm:
            self.bridge.call("set the tempo", engine.set_tempo, settings.bpm)
        if settings.metre != str(engine.time_signature):
            self.bridge.call("set the time signature", engine.set_time_signature, settings.metre)
        if settings.click != engine.metronome.on:
            self.bridge.call("switch the metronome", engine.set_metronome, settings.click)
        if settings.steer != engine.settings.steer:
            self.bridge.call("set the steer strength",
                             lambda: engine.set_settings(engine.settings.with_(steer=settings.steer)))
        if self.document is None:
            self._show_live_grid()
        self.tempo_bar.save(self.store)

    def choose_program(self, program: int) -> None:
        self.store.set("sound/program", int(program))
        self.bridge.call("change the instrument", self.engine.set_instrument, int(program))

    def _step_instrument(self, step: int) -> None:
        box = self.sound_panel.instrument
        if box.count():
            box.setCurrentIndex((box.currentIndex() + step) % box.count())
            self.choose_program(int(box.currentData()))

    def choose_soundfont_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SoundFont", str(Path.home()), "SoundFonts (*.sf2);;All files (*)")
        if path:
            self.choose_soundfont(path)

    def choose_soundfont(self, path) -> None:
        """Load ``path`` (None = the bundled one) on the engine thread; a bad file leaves the old sound."""
        from composer_app.live.synth import default_soundfont

        target = Path(path) if path else default_soundfont()
        engine = self.engine

        def load():
            engine.set_soundfont(target)
            return target, engine.synth.preset_names(), int(engine.synth.program)

        self.bridge.call("load the soundfont", load, tag="soundfont")

    def choose_audio(self, device, blocksize: int, latency) -> None:
        self.store.set("sound/device", device or "")
        self.store.set("sound/blocksize", int(blocksize))
        self.store.set("sound/latency", str(latency))
        self.bridge.call("change the sound output", self.engine.set_audio, device, int(blocksize), latency,
                         tag="audio")

    def choose_midi_port(self, name: str) -> None:
        self.store.set("midi/port", name or "")
        self.midi_panel.select(name or "")
        if self.watcher is not None:
            self.watcher.request_open(name or None)

    def _on_midi_ports(self, names: list, reason: str) -> None:
        self.midi_panel.set_ports(names, reason)
        if self.midi_port:
            return  # a port is open: the engine's own message says which
        if reason:
            self.status_midi.setText("MIDI: none")
            self.status_midi.setToolTip(reason)
        else:
            self.status_midi.setText(f"MIDI: {len(names)} port{'s' if len(names) != 1 else ''}, none chosen")
            self.status_midi.setToolTip("\n".join(names))

    def _on_midi_waiting(self, name: str) -> None:
        self.midi_panel.status.setText(f"{name} is not connected: it plays as soon as it is plugged in")
        self.status_midi.setText(f"MIDI: waiting for {_short(name, 30)}")

    def _on_midi_opened(self, name: str) -> None:
        self.midi_port = name
        self.midi_panel.set_opened(name)
        if not name:
            self.status_midi.setText("MIDI: none chosen")

    def _on_call_done(self, tag: str, result) -> None:
        if tag == "model":
            warning = getattr(self, "_model_warning", None)
            self.model_panel.show_model(result, warning)
            if warning:
                self.banner.show_message(warning, "warning")
        elif tag == "soundfont":
            path, names, program = result
            self.sound_panel.set_soundfont(path)
            self.sound_panel.set_instruments(names, program)
            from composer_app.live.synth import default_soundfont

            self.store.set("sound/soundfont", "" if Path(path) == default_soundfont() else str(path))
        elif tag == "audio" and result is not None:
            self.sound_panel.status.setText(result.message)
        elif tag == "saved":
            self.banner.show_message(f"saved {result}", "info")

    def _on_call_failed(self, what: str, message: str) -> None:
        self.banner.show_message(f"could not {what}: {message}", "error")
        if what == "change the instrument":
            self.sound_panel.select_program(int(self.engine.synth.program))

    # -- status -----------------------------------------------------------------------------------------------
    def _on_status(self, status: Status) -> None:
        """An engine :class:`~composer_app.status.Status`: shown by topic; warnings and errors in the banner."""
        if status.topic == "sound":
            self.status_sound.setText(self._sound_summary())
            self.status_sound.setToolTip(status.text)
            self.sound_panel.status.setText(status.text)
        elif status.topic == "midi":
            self.status_midi.setText(_short(status.text, 50))
            self.status_midi.setToolTip(status.text)
        elif status.topic == "model":
            self.status_perf.setToolTip(status.text)
        if status.level != "info":
            self.banner.show_message(status.text, status.level)

    def _sound_summary(self) -> str:
        """The sound state in a few words for the status bar (the whole message is its tooltip)."""
        output = self.engine.audio_output
        if output is None and not self.audio:
            return "sound: off (--no-audio)"
        status = output.status if output is not None else None
        if status is None or not status.available:
            return "no sound (see the Sound panel)"
        latency = f", {status.latency_s * 1000:.1f} ms" if status.latency_s is not None else ""
        return f"sound: {_short(status.device or 'default', 28)}{latency}"

    def refresh_status(self) -> None:
        """Once a second: step time, key-to-note-on time and note count (cheap: the window's own copies)."""
        if self.step_ns:
            step = np.percentile(np.fromiter(self.step_ns, np.int64), 99) / 1e6
            k2s = np.percentile(np.fromiter(self.key_to_sound_ns, np.int64), 99) / 1e6
            self.status_perf.setText(f"step p99 {step:.2f} ms · key→note-on p99 {k2s:.2f} ms")
            if self.tap.handler_ns:
                handler = np.fromiter(self.tap.handler_ns, np.int64) / 1e3
                self.status_perf.setToolTip(
                    f"model step (p99) {step:.2f} ms; key event to note-on (p99) {k2s:.2f} ms; GUI thread per "
                    f"key-down: median {np.median(handler):.0f} µs, p99 {np.percentile(handler, 99):.0f} µs. "
                    "Sound output latency: see the sound status.")
        else:
            self.status_perf.setText(f"model: {self.engine.model.label}")
        self._show_count()

    def _update_title(self) -> None:
        name = None
        if self.document is not None:
            name = self.document_path.name if self.document_path else "recoloured take (unsaved)"
        elif self.engine.take_path is not None:
            name = self.engine.take_path.stem
        self.setWindowTitle(f"{APP_TITLE} — {name}" if name else APP_TITLE)

    # -- help -----------------------------------------------------------------------------------------------------
    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self, self.shortcut_actions)
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, "About Everybody Compose",
                          "<b>Everybody Compose</b><br>Tap a rhythm; a neural network sings the melody, live.<br>"
                          f"Data folder: {self.data_dir}<br>Settings: {self.store.file_name}")

    # -- window events --------------------------------------------------------------------------------------------
    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow() and self.tap.held:
            self.tap.release_all()  # key-ups go to the other window now
        super().changeEvent(event)

    def quit_app(self) -> None:
        """Quit (Ctrl+Q): says where the take played is kept and asks first."""
        if self.confirm_quit():
            self.close()

    def confirm_quit(self) -> bool:
        kept = self.kept_take_note()
        return not kept or self.ask_quit(kept)

    def ask_quit(self, kept: str) -> bool:
        """The quit question (modal: nothing is playing any more). Tests replace it."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Quit Everybody Compose?")
        box.setText("Quit Everybody Compose?")
        box.setInformativeText(kept)
        quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(quit_button)
        box.exec()
        return box.clickedButton() is quit_button

    def closeEvent(self, event) -> None:
        if self._closing:
            return super().closeEvent(event)
        if event.spontaneous() and not self.confirm_quit():  # the window's close button
            event.ignore()
            return
        self._closing = True
        self._timer.stop()
        self.save_state()
        self.router.uninstall()
        if self.recolour_worker is not None:
            self.recolour_worker.cancel()
            self.recolour_worker.wait(3000)
        if self.watcher is not None:
            self.watcher.stop()
        self.bridge.detach()
        self.engine.close()
        super().closeEvent(event)


def _copy_notes(take: Take) -> Take:
    """A shallow snapshot of the notes list (the engine thread may append meanwhile)."""
    return Take(header=take.header, notes=list(take.notes))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
