"""The main window: lays out the tap area, piano roll and control panels, and composes the controllers that wire
them to a :class:`LiveEngine`.

The window owns no musical logic. Each job has a controller with its own state: :class:`PlayController` (keys,
note events, New take/Undo/Replay/Stop), :class:`TakeFiles` (export, save, open, crash recovery),
:class:`RecolourFlow` (recolour and compare), :class:`Choices` (model, sampling, time, sound, MIDI) and
:class:`StatusLine`; what is shown (the live take or a document) is one :class:`ShownTake` they share.

Every engine call runs on the engine's thread, every slow job (loading models, files, rendering) on a background
thread (:mod:`composer_app.gui.tasks`) or a QThread (recolour), and results come back as queued signals. So the
GUI thread only handles events, steps the model at a key-down, and paints; it never waits for slow work. Problems
are said in plain words in the banner at the top; nothing is modal while playing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMessageBox, QScrollArea, QVBoxLayout, QWidget

from composer_app import resources
from composer_app.gui.banner import MessageBanner
from composer_app.gui.choices import Choices
from composer_app.gui.controls import ModelPanel, SamplingPanel
from composer_app.gui.engine_bridge import EngineBridge
from composer_app.gui.help_dialog import ShortcutsDialog
from composer_app.gui.midi_panel import MidiPanel
from composer_app.gui.model_source import ModelSource
from composer_app.gui.piano_roll import MAX_PX_PER_S, MIN_PX_PER_S, RollView
from composer_app.gui.play_controller import PlayController
from composer_app.gui.recolour_flow import RecolourBar, RecolourFlow
from composer_app.gui.shown_take import ShownTake
from composer_app.gui.sound_panel import SoundPanel
from composer_app.gui.status_line import StatusLine
from composer_app.gui.take_files import TakeFiles
from composer_app.gui.tap_area import KeyRouter, TapArea
from composer_app.gui.tempo_bar import TempoBar
from composer_app.take import Take

APP_TITLE = "Everybody Compose"
ICON = resources.ICON
STATUS_MS = 1000
SIDE_W = 392  # the control panels' column: every panel fits at 1280x720 without scrolling, model names whole
SIDE_SHARE, SIDE_MAX_W = 0.3, 620  # on a wider window it grows: model names and ports read whole


def side_width(window_w: int) -> int:
    """The side panel's width for a window ``window_w`` wide: at least :data:`SIDE_W`, a share of the window
    beyond that, at most :data:`SIDE_MAX_W` (the piano roll needs the width more)."""
    return int(min(SIDE_MAX_W, max(SIDE_W, window_w * SIDE_SHARE)))


class MainWindow(QMainWindow):
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
        Watch MIDI input ports (False: ``--no-midi``, MIDI out only).
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
        self._closing = False
        self.setWindowTitle(APP_TITLE)
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.resize(1280, 720)
        self.setMinimumSize(900, 560)
        self._build_widgets()
        self._compose(midi, midi_backend)
        self._build_actions()
        self.router = KeyRouter(self, self.tap)
        self.router.install()
        geometry = store.get_bytes("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        self.roll.px_per_s = store.get_float("view/px_per_s", self.roll.px_per_s, MIN_PX_PER_S, MAX_PX_PER_S)
        self.choices.restore(audio)
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_MS)
        self._timer.timeout.connect(self.refresh_status)
        self._timer.start()
        for status in engine.status.latest.values():
            self.status_line.on_status(status)
        if model_warning:
            self.banner.show_message(model_warning, "warning")
        self.model_panel.show_model(engine.model, model_warning)
        self.refresh_status()
        self.tap.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- layout ---------------------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.banner = MessageBanner(self)
        self.roll_view = RollView(self)
        self.roll = self.roll_view.roll
        self.tap = TapArea(lambda *key: self.playing.press(*key), lambda *key: self.playing.release(*key), self)
        self.tempo_bar = TempoBar(self)
        self.recolour_bar = RecolourBar(self)
        left = QWidget(self)
        col = QVBoxLayout(left)
        col.setContentsMargins(6, 6, 3, 6)
        for widget, stretch in ((self.banner, 0), (self.tempo_bar, 0), (self.recolour_bar, 0),
                                (self.roll_view, 3), (self.tap, 1)):
            col.addWidget(widget, stretch)

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

    def _compose(self, midi: bool, midi_backend: str | None) -> None:
        """The controllers, each given what it works on."""
        self.shown = ShownTake(self.roll, self.tap, self.tempo_bar, self, live_take=lambda: self.engine.take)
        self.status_line = StatusLine(self.statusBar(), self.engine, self.banner, self.sound_panel, self.audio)
        self.status_line.handler_ns = self.tap.handler_ns
        self.playing = PlayController(self.engine, self.bridge, self.shown, self.banner, self.status_line,
                                      self.tempo_bar)
        self.files = TakeFiles(self, self.engine, self.store, self.take_dir, self.shown, self.banner,
                               self.tempo_bar, self.playing.kept_take_note)
        self.recolouring = RecolourFlow(self, self.engine, self.bridge, self.source, self.store, self.take_dir,
                                        self.sampling_panel, self.shown, self.banner, self.files, self.recolour_bar)
        panels = (self.model_panel, self.sampling_panel, self.tempo_bar, self.sound_panel, self.midi_panel)
        self.choices = Choices(self, self.engine, self.bridge, self.store, self.source, panels, self.shown,
                               self.banner, self.status_line)
        self.bridge.statusChanged.connect(self.status_line.on_status, Qt.ConnectionType.QueuedConnection)
        self.bridge.metronomeClick.connect(self.tempo_bar.show_click, Qt.ConnectionType.QueuedConnection)
        self.shown.changed.connect(self.update_title)
        self.shown.changed.connect(self.playing.show_count)
        self._learn = None  # the "Learn from my MIDI…" dialog, made on first use
        self.list_tuned_models()
        if midi:
            self.choices.watch_midi(midi_backend)
        else:
            self.choices.no_midi(midi_backend)

    @property
    def document(self) -> Take | None:
        """The document shown (None: the live take)."""
        return self.shown.document

    @property
    def document_path(self) -> Path | None:
        return self.shown.path

    def _action(self, text: str, keys, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        if keys:
            action.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, list | tuple) else [keys])])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a, play, files, roll = self._action, self.playing, self.files, self.roll
        self.act_new = a("&New take", "Ctrl+N", play.new_take, "Start an empty take")
        self.act_open = a("&Open take…", "Ctrl+O", files.open_take_dialog, "Open a saved take")
        self.act_open_rhythm = a("Open &rhythm…", "Ctrl+Shift+O", files.open_rhythm_dialog,
                                 "Open a rhythm (.npy or MIDI) to give it a melody with Recolour")
        self.act_save = a("&Save take…", "Ctrl+S", files.save_take_dialog, "Save the take shown")
        self.act_export = a("&Export MIDI…", "Ctrl+E", files.export_midi_dialog, "Write the take as a MIDI file")
        self.act_export_wav = a("Export &WAV…", "Ctrl+Shift+E", files.export_wav_dialog,
                                "Render the take through the synth into a WAV file")
        self.act_quit = a("&Quit", "Ctrl+Q", self.quit_app)
        self.act_stop = a("&Stop (all notes off)", "Esc", self.stop,
                          "Silence everything, stop a replay or a recolouring")
        self.act_undo = a("&Undo last note", "Ctrl+Z", play.undo, "Take back the last note, or a kept recolouring")
        self.act_replay = a("&Replay", "Ctrl+R", play.replay, "Play the take shown through the synth")
        self.act_recolour = a("Re&colour…", "Ctrl+G", self.recolouring.dialog,
                              "Choose new pitches for the take (or the notes selected in the roll) with an "
                              "offline model")
        self.act_lock = a("&Lock selected notes", "Ctrl+L", lambda: roll.toggle_locks(),
                          "Lock (or unlock) the notes selected in the roll: no recolour changes them. "
                          "Ctrl+click locks one note")
        self.act_learn = a("&Learn from my MIDI…", None, self.learn_dialog,
                           "Fine-tune a model on your own melodies (a MIDI folder or your takes)")
        self.act_tap_tempo = a("&Tap tempo", "T", lambda: self.tempo_bar.tap_tempo(),
                               "Tap a few times in time to set the tempo")
        self.act_zoom_in = a("Zoom &in", ["+", "=", "Ctrl++"], lambda: roll.zoom(1.25))
        self.act_zoom_out = a("Zoom &out", ["-", "Ctrl+-"], lambda: roll.zoom(0.8))
        self.act_fit = a("&Fit take", "0", roll.fit, "Show the whole take")
        self.act_left = a("Scroll back", "Left", lambda: roll.scroll_by(-roll.visible_seconds / 4))
        self.act_right = a("Scroll on", "Right", lambda: roll.scroll_by(roll.visible_seconds / 4))
        self.act_home = a("Go to start", "Home", roll.go_home)
        self.act_end = a("Go to end (follow)", "End", roll.go_end)
        self.act_pitch_up = a("Pitches up", "PgUp", lambda: roll.shift_pitch(6))
        self.act_pitch_down = a("Pitches down", "PgDown", lambda: roll.shift_pitch(-6))
        self.act_models = [a(f"Model {i}: {arch}", f"Ctrl+{i}", lambda _=False, x=arch: self.choices.choose_model(x))
                           for i, arch in enumerate(("vanilla_rnn", "lstm_attn", "attention_rnn"), start=1)]
        self.act_instr_next = a("Next instrument", "Ctrl+]", lambda: self.choices.step_instrument(1))
        self.act_instr_prev = a("Previous instrument", "Ctrl+[", lambda: self.choices.step_instrument(-1))
        self.act_shortcuts = a("&Keyboard shortcuts", "F1", self.show_shortcuts)
        self.act_about = a("&About", None, self.show_about)
        self._build_menus()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        for title, acts in (
                ("&File", (self.act_new, self.act_open, self.act_open_rhythm, self.act_save, None, self.act_export,
                           self.act_export_wav, None, self.act_quit)),
                ("&Play", (self.act_stop, self.act_undo, self.act_replay, None, self.act_recolour, self.act_lock,
                           self.act_learn, self.act_tap_tempo, None, *self.act_models, self.act_instr_next, self.act_instr_prev)),
                ("&View", (self.act_zoom_in, self.act_zoom_out, self.act_fit, None, self.act_left, self.act_right,
                           self.act_home, self.act_end, self.act_pitch_up, self.act_pitch_down)),
                ("&Help", (self.act_shortcuts, self.act_about))):
            menu = bar.addMenu(title)
            for act in acts:
                menu.addSeparator() if act is None else menu.addAction(act)
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

    # -- window-wide ----------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Esc: silence everything, stop a replay or a recolouring, give the keyboard back to the tap area."""
        self.playing.stop()
        if self.recolouring.worker is not None:
            self.recolouring.cancel()
        self.tap.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def refresh_status(self) -> None:
        """Once a second: step time, key-to-note-on time and note count (cheap: the window's own copies)."""
        self.status_line.refresh()
        self.playing.show_count()

    def update_title(self) -> None:
        name = None
        if self.shown.document is not None:
            name = self.shown.path.name if self.shown.path else self.shown.name or "recoloured take (unsaved)"
        elif self.engine.take_path is not None:
            name = self.engine.take_path.stem
        self.setWindowTitle(f"{APP_TITLE} — {name}" if name else APP_TITLE)

    def save_state(self) -> None:
        self.store.set("window/geometry", self.saveGeometry())
        self.store.set("view/px_per_s", self.roll.px_per_s)
        self.choices.save()
        self.store.sync()

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
    def resizeEvent(self, event) -> None:
        self.side_panel.setFixedWidth(side_width(self.width()))
        super().resizeEvent(event)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow() and self.tap.held:
            self.tap.release_all()  # key-ups go to the other window now
        super().changeEvent(event)

    def list_tuned_models(self) -> None:
        """Show the user's tuned live models (kept in the data folder) in the model list."""
        from composer_app.training.tuned_models import list_tuned

        problems: list[str] = []
        tuned = list_tuned(self.data_dir, problems)
        self.model_panel.set_tuned([(m.name, m.checkpoint) for m in tuned if m.kind == "live"])
        for message in problems:
            self.banner.show_message(message, "warning")

    def learn_dialog(self):
        """The "Learn from my MIDI…" dialog, modeless: playing goes on while a model learns. One dialog per
        window, kept when closed, so a run's result always has somewhere to arrive."""
        from composer_app.gui.learn_dialog import LearnDialog

        if self._learn is None:
            self._learn = LearnDialog(self, self.data_dir, self.take_dir, self.store.get_str("learn/folder", ""))
            self._learn.folder.textChanged.connect(lambda text: self.store.set("learn/folder", text))

            def added(tuned):
                self.list_tuned_models()
                if tuned.kind == "live":
                    self.choices.choose_model_file(tuned.checkpoint)

            self._learn.modelAdded.connect(added)
            self._learn.modelRemoved.connect(lambda _tuned: self.list_tuned_models())
        if not self._learn.running:
            self._learn.select_start(self.engine.model.path, self.engine.model.architecture)
        self._learn.show()
        self._learn.raise_()
        return self._learn

    def quit_app(self) -> None:
        """Quit (Ctrl+Q): says where the take played is kept and asks first."""
        if self.confirm_quit():
            self.close()

    def confirm_quit(self) -> bool:
        kept = self.playing.kept_take_note()
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
        self.recolouring.close()
        if self._learn is not None:
            self._learn.reject()  # cancels a model that is still learning
        if self.choices.watcher is not None:
            self.choices.watcher.stop()
        self.bridge.detach()
        self.engine.close()
        super().closeEvent(event)
