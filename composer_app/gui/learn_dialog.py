"""The "Learn from my MIDI…" dialog: fine-tune a live model on a folder of MIDI files or on the saved takes.

The work is :func:`composer_app.training.finetune.finetune` on a background thread (the window keeps playing);
the dialog only gathers the choices, shows its progress and before/after numbers, and relays Cancel. A run works
in an unlisted staging folder; when it beats the starting model it is kept under the name the user gave
(:mod:`composer_app.training.tuned_models`) and ``modelAdded`` is emitted so the window can list and play it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

import models
from composer_app.checkpoints import default_checkpoint
from composer_app.errors import UserError
from composer_app.training import tuned_models
from composer_app.training.finetune import midi_files, take_files

DEFAULT_MINUTES = 3


class _Relay(QObject):
    """Carries a run's :class:`~composer_app.training.finetune.Progress`, its result or its error in plain words
    from the worker thread to the dialog (queued signals, delivered on the GUI thread)."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)


class LearnDialog(QDialog):
    """Choose the material (a MIDI folder or the saved takes), a live model to start from, a time budget in
    minutes and a name; Learn runs in the background, Cancel stops it. Tuned models can be removed here too."""

    modelAdded = Signal(object)  # TunedModel
    modelRemoved = Signal(object)  # TunedModel

    def __init__(self, parent, data_dir, take_dir, folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Learn from my MIDI")
        self.data_dir, self.take_dir = Path(data_dir), Path(take_dir)
        self.cancel_event: threading.Event | None = None
        self.staging: Path | None = None
        self.outcome = None  # the last FinetuneResult
        self.relay = _Relay(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.relay.progress.connect(self._on_progress, queued)
        self.relay.done.connect(self._finished, queued)
        self.relay.failed.connect(self._failed, queued)
        self.tuned_name = ""

        form = self._build_choices(folder)
        self._build_progress()
        tuned_row = self._build_tuned_list()
        buttons = self._build_buttons()
        self._lay_out(form, tuned_row, buttons)
        self._fill_models()

    def _build_choices(self, folder: str) -> QFormLayout:
        """The material (a folder or the takes), the model to start from, the time and the name."""
        self.from_folder = QRadioButton("A folder of MIDI files:", self)
        self.from_takes = QRadioButton(f"My takes ({len(take_files(self.take_dir))} in the data folder)", self)
        group = QButtonGroup(self)
        group.addButton(self.from_folder)
        group.addButton(self.from_takes)
        self.from_folder.setChecked(True)
        self.folder = QLineEdit(folder, self)
        self.folder.setPlaceholderText("folder with .mid files (polyphonic files give their top line)")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        self.model = QComboBox(self)
        self.minutes = QSpinBox(self)
        self.minutes.setRange(1, 120)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setSuffix(" min")
        self.minutes.setToolTip("How long to learn; the best model so far is kept")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("a name for the model list, e.g. My reels")

        form = QFormLayout()
        form.addRow("Learn from", self.from_folder)
        form.addRow("", folder_row)
        form.addRow("", self.from_takes)
        form.addRow("Start from", self.model)
        form.addRow("Time", self.minutes)
        form.addRow("Name", self.name)
        return form

    def _build_progress(self) -> None:
        """The progress bar, the status line and the before/after numbers."""
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.numbers = QLabel("", self)
        self.numbers.setWordWrap(True)
        self.numbers.setToolTip("Negative log-likelihood per note on your files held out from learning: lower is "
                                "better (the model finds your notes less surprising)")

    def _build_tuned_list(self) -> QHBoxLayout:
        """The user's tuned models, with Remove."""
        self.tuned = QListWidget(self)
        self.tuned.setMaximumHeight(90)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_selected)
        tuned_row = QHBoxLayout()
        tuned_row.addWidget(self.tuned, 1)
        tuned_row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        return tuned_row

    def _build_buttons(self) -> QHBoxLayout:
        """Learn, and Close (Cancel while a run is on)."""
        self.learn_button = QPushButton("Learn", self)
        self.learn_button.setDefault(True)
        self.learn_button.clicked.connect(lambda: self.start())
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.learn_button)
        buttons.addWidget(self.close_button)
        return buttons

    def _lay_out(self, form: QFormLayout, tuned_row: QHBoxLayout, buttons: QHBoxLayout) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.numbers)
        layout.addWidget(QLabel("Your tuned models:", self))
        holder = QWidget(self)
        holder.setLayout(tuned_row)
        layout.addWidget(holder)
        layout.addLayout(buttons)

    # -- choices --------------------------------------------------------------------------------------------------
    def _fill_models(self) -> None:
        """The shipped live models and the tuned live ones, as starting points; tuned ones also in the list."""
        current = self.model.currentData()
        self.model.clear()
        for arch in models.ARCHITECTURES:
            path = default_checkpoint(arch, "live")
            if path.exists():
                self.model.addItem(f"{arch} — {models.LABELS[arch]} (shipped)", str(path))
        self.tuned.clear()
        for tuned in tuned_models.list_tuned(self.data_dir):
            if tuned.kind == "live":
                self.model.addItem(f"{tuned.name} (tuned {tuned.architecture})", str(tuned.checkpoint))
            item = QListWidgetItem(f"{tuned.name} — {tuned.architecture}, {tuned.kind}")
            item.setData(Qt.ItemDataRole.UserRole, tuned)
            item.setToolTip(str(tuned.card))
            self.tuned.addItem(item)
        if current:
            self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self.remove_button.setEnabled(self.tuned.count() > 0)

    def select_start(self, path, architecture: str) -> None:
        """Start from the model playing now: its checkpoint ``path`` when it is one (added as "playing now" if it
        is not in the list), else the shipped model of its ``architecture`` — not whatever is first in the list,
        which a player who chose another model would not expect to be tuned."""
        found = self.model.findData(str(path)) if path else -1
        if found < 0 and path and Path(path).is_file():
            self.model.addItem(f"{Path(path).stem} (playing now)", str(path))
            found = self.model.count() - 1
        if found < 0:
            found = self.model.findData(str(default_checkpoint(architecture, "live")))
        if found >= 0:
            self.model.setCurrentIndex(found)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of MIDI files", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
            self.from_folder.setChecked(True)

    def files(self) -> list[Path]:
        """The chosen material's files; raises :class:`UserError` in plain words when there are none."""
        if self.from_takes.isChecked():
            found = take_files(self.take_dir)
            if not found:
                raise UserError("there are no takes in the data folder yet: play some first")
            return found
        text = self.folder.text().strip()
        if not text:
            raise UserError("choose a folder of MIDI files (Browse…)")
        if not Path(text).expanduser().is_dir():
            raise UserError(f"no such folder: {text}")
        found = midi_files(Path(text).expanduser())
        if not found:
            raise UserError(f"no .mid or .midi files in {text}")
        return found

    # -- the run --------------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.cancel_event is not None

    def start(self, clock=time.monotonic) -> None:
        """Check the choices, then fine-tune in the background (``clock`` measures the budget: wall time)."""
        if self.running:
            return
        try:
            files = self.files()
            name = tuned_models.check_name(self.data_dir, self.name.text())
            start = self.model.currentData()
            if not start:
                raise UserError("there is no live model to start from")
        except UserError as exc:
            self._say(str(exc), error=True)
            return
        from composer_app.training.finetune import finetune

        self.staging = tuned_models.staging_folder(self.data_dir)
        self.cancel_event = cancel = threading.Event()
        self.tuned_name = name
        minutes, staging, relay = self.minutes.value(), self.staging, self.relay
        self._set_running(True)
        self._say(f"reading {len(files)} files…")

        def work():
            # its own thread, not a short GUI task (gui.tasks): it runs for minutes while the player plays
            try:
                result = finetune(start, files, minutes, staging, progress=relay.progress.emit, cancel=cancel,
                                  clock=clock)
            except UserError as exc:
                relay.failed.emit(str(exc))
            except Exception as exc:  # noqa: BLE001 - said in the dialog; the app keeps running
                relay.failed.emit(f"{type(exc).__name__}: {exc}")
            else:
                relay.done.emit(result)

        threading.Thread(target=work, name="finetune", daemon=True).start()

    def cancel_or_close(self) -> None:
        if self.running:
            self.cancel_event.set()
            self._say("cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        """Closing the dialog cancels a run (its result would have nowhere to go)."""
        if self.running:
            self.cancel_event.set()
        super().reject()

    def _on_progress(self, p) -> None:
        self.progress.setValue(int(1000 * p.fraction))
        self.status.setText(p.message)
        if p.before is not None:
            self.numbers.setText(self._numbers(p.before, p.best))

    @staticmethod
    def _numbers(before, best) -> str:
        text = f"Held-out files: {before.nll:.3f} nats/note, {100 * before.accuracy:.1f} % notes guessed at the start"
        if best is not None and best.nll < before.nll:
            text += f"; now {best.nll:.3f}, {100 * best.accuracy:.1f} %"
        return text

    def _finished(self, result) -> None:
        self._set_running(False)
        self.outcome = result
        self.numbers.setText(self._numbers(result.before, result.after))
        if not result.after.nll < result.before.nll:
            tuned_models.discard(self.staging)
            self._say("Nothing learnt beat the starting model on your held-out files, so no model was added. "
                      "More music or more time may help.")
            return
        try:
            tuned = tuned_models.keep(self.staging, self.tuned_name, self.data_dir, result.architecture, result.kind)
        except (UserError, OSError) as exc:
            tuned_models.discard(self.staging)
            self._say(f"could not keep the model: {exc}", error=True)
            return
        self.progress.setValue(1000)
        self._say(f"Added “{tuned.name}” to the model list and switched to it. Its card: {tuned.card}")
        self._fill_models()
        self.modelAdded.emit(tuned)

    def _failed(self, message: str) -> None:
        cancelled = self.cancel_event is not None and self.cancel_event.is_set()
        self._set_running(False)
        if self.staging is not None:
            tuned_models.discard(self.staging)
        if cancelled:
            self.progress.setValue(0)
            self._say("Cancelled: no model was added.")
        else:
            self._say(message, error=True)

    def remove_selected(self) -> None:
        item = self.tuned.currentItem() or (self.tuned.item(0) if self.tuned.count() == 1 else None)
        if item is None:
            self._say("select a tuned model to remove", error=True)
            return
        tuned = item.data(Qt.ItemDataRole.UserRole)
        try:
            tuned_models.remove(tuned, self.data_dir)
        except (UserError, OSError) as exc:
            self._say(f"could not remove {tuned.name}: {exc}", error=True)
            return
        self._fill_models()
        self._say(f"Removed “{tuned.name}”.")
        self.modelRemoved.emit(tuned)

    def _set_running(self, running: bool) -> None:
        if not running:
            self.cancel_event = None
        self.learn_button.setEnabled(not running)
        self.close_button.setText("Cancel" if running else "Close")
        for widget in (self.from_folder, self.from_takes, self.folder, self.model, self.minutes, self.name,
                       self.remove_button):
            widget.setEnabled(not running)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")
