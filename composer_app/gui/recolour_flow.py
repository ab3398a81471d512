"""The window's recolour flow: options, the worker with progress and cancel, the compare dialog, keeping.

The take is copied on the engine thread, the offline model loaded in a background task, the pitches drawn in a
:class:`RecolourWorker` (QThread); the window keeps playing throughout. A kept recolouring is saved next to the
takes at once, so tapping on (which starts a new take) never loses it.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from composer_app.errors import UserError
from composer_app.gui import tasks
from composer_app.gui.banner import MessageBanner
from composer_app.gui.controls import SamplingPanel
from composer_app.gui.engine_bridge import EngineBridge
from composer_app.gui.model_source import ModelSource
from composer_app.gui.recolour import (
    DEFAULT_VARIATIONS,
    MAX_VARIATIONS,
    CompareDialog,
    RecolourDialog,
    RecolourWorker,
)
from composer_app.gui.shown_take import ShownTake
from composer_app.gui.take_files import TakeFiles
from composer_app.take import TAKE_SUFFIX, Take, save_take


def selection_words(chosen) -> str:
    """How the Recolour dialog names the notes selected on the roll ("" when none is)."""
    if not chosen:
        return ""
    first, last = chosen[0].index + 1, chosen[-1].index + 1
    return f"note {first}" if first == last else f"notes {first}-{last}"


class RecolourBar(QWidget):
    """Progress of a recolouring, with Cancel; hidden while none runs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.progress = QProgressBar(self)
        self.progress.setFormat("Recolouring… %p%")
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel)
        self.hide()


class RecolourFlow:
    """Holds the running worker (at most one), whether one is being prepared, and the compare dialog shown.

    Given only what it works with, like the window's other controllers, so what a recolouring touches reads
    off the signature: ``parent`` owns its dialogs and worker; the take shown (its roll and tap area) is read
    and replaced through ``shown``; ``files`` copies it; ``sampling_panel`` gives the settings, ``source`` the
    offline model; a kept version is saved under ``take_dir``.
    """

    def __init__(self, parent: QWidget, engine, bridge: EngineBridge, source: ModelSource, store,
                 take_dir: Path, sampling_panel: SamplingPanel, shown: ShownTake, banner: MessageBanner,
                 files: TakeFiles, bar: RecolourBar):
        self.parent = parent
        self.engine = engine
        self.bridge = bridge
        self.source = source
        self.store = store
        self.take_dir = Path(take_dir)
        self.sampling_panel = sampling_panel
        self.banner = banner
        self.tap = shown.tap
        self.shown = shown
        self.files = files
        self.recolour_bar = bar
        self.recolour_progress = bar.progress
        self.worker: RecolourWorker | None = None
        self.compare: CompareDialog | None = None
        self._pending = False  # preparing (copying the take, loading the model): Cancel stops it there
        bar.cancel.clicked.connect(self.cancel)

    # -- recolour -------------------------------------------------------------------------------------------------
    def dialog(self) -> None:
        from composer_app.sampling import load_profiles

        if self.files.shown_is_empty("recolour it (Ctrl+G)"):
            return

        try:
            profiles = list(load_profiles())
        except UserError as exc:
            self.banner.show_message(str(exc), "error")
            return
        chosen = self.shown.roll.selected_notes()
        dialog = RecolourDialog(self.parent, profiles, self.store.get_str("recolour/architecture", "lstm_attn"),
                                self.store.get_str("recolour/profile", "default"),
                                self.store.get_int("recolour/seed", 0),
                                self.store.get_bool("recolour/keep_locks", True),
                                self.store.get_int("recolour/variations", DEFAULT_VARIATIONS, 1, MAX_VARIATIONS),
                                self.store.get_float("recolour/contour", 0.0, 0.0, 1.0),
                                selection=selection_words(chosen))
        if dialog.exec():
            arch, profile, seed, keep, variations, contour = dialog.values()
            only_selection = dialog.only_selection.isChecked()
            self.store.set("recolour/architecture", arch)
            self.store.set("recolour/profile", profile)
            self.store.set("recolour/seed", seed or 0)
            self.store.set("recolour/keep_locks", keep)
            self.store.set("recolour/variations", variations)
            self.store.set("recolour/contour", contour)
            self.start(arch, profile, seed, keep, variations, contour, only_selection)
        self.tap.setFocus()

    def start(self, arch: str, profile: str = "default", seed: int | None = None,
              keep_locks: bool = True, variations: int = DEFAULT_VARIATIONS, contour: float = 0.0,
              only_selection: bool = True) -> None:
        """Recolour the take shown with the offline ``arch`` model and sampling ``profile`` into ``variations``
        versions to audition; non-blocking. ``contour``: how closely the new line follows the take's asked
        up/down (the dialog's own choice, never the tempo bar's Steer); it is written in each version's header.
        Notes locked on the roll never change; with ``only_selection`` and notes selected on the roll, only
        those change, composed to lead into the notes after them."""
        if self.worker is not None:
            self.banner.show_message("a recolouring is already running (Esc cancels it)", "info")
            return
        from composer_app.sampling import settings_from_profile

        panel = self.sampling_panel.settings_or_default()
        overrides = {"hints": panel.hints, "scale": panel.scale, "low": panel.low, "high": panel.high} \
            if keep_locks else {}

        roll = self.shown.roll  # read here, on the GUI thread: what is selected and locked now
        locked = {n.index for n in roll.notes if n.locked}
        chosen = {n.index for n in roll.selected_notes()} if only_selection else set()

        def prepare():
            take = self.files.shown_take().ended_at()  # a note still held gets a short end
            if not take.notes:
                raise UserError("the take is empty: play something first, then recolour it")
            for n in take.notes:
                n.locked = n.index in locked
            settings = settings_from_profile(profile, **overrides).with_(steer=contour)
            return take, self.source.offline(arch), settings

        def run(prepared):
            take = prepared[0]
            positions = [i for i, n in enumerate(take.notes) if n.index in chosen] if chosen else None
            fixed = take.kept_pitches(positions) if positions or locked else None
            if fixed is not None and not (fixed < 0).any():
                self._recolour_failed("every note chosen is locked: unlock some (Ctrl+click) to recolour them")
                return
            self._run_recolour(*prepared, seed=seed, profile=profile, variations=variations, fixed=fixed)

        self.recolour_bar.show()
        self.recolour_progress.setRange(0, 0)
        self.recolour_progress.setFormat("Preparing…")
        self._pending = True
        tasks.run_in_thread(prepare, run, self._recolour_failed, name="recolour-prepare")

    def _run_recolour(self, take, choice, settings, seed, profile, variations, fixed=None) -> None:
        if not self._pending:  # cancelled while preparing
            return
        if choice.warning:
            self.banner.show_message(choice.warning, "warning")
        worker = RecolourWorker(take, choice.loaded, settings, seed, profile, self.parent, variations=variations,
                                fixed=fixed)
        worker.progress.connect(self._recolour_progress)
        worker.succeeded.connect(self._recolour_done)
        worker.failed.connect(self._recolour_failed)
        worker.cancelled.connect(self._recolour_cancelled)
        worker.finished.connect(worker.deleteLater)
        self.worker = worker
        self.recolour_progress.setRange(0, max(1, len(take)))
        self.recolour_progress.setValue(0)
        self.recolour_progress.setFormat(f"Recolouring with {choice.loaded.label}, {profile}… %p%")
        worker.start(worker.Priority.LowPriority)

    def close(self) -> None:
        """The window closes: a running worker is stopped and waited for."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(3000)

    def _recolour_progress(self, done: int, total: int) -> None:
        self.recolour_progress.setRange(0, total)
        self.recolour_progress.setValue(done)

    def _end_recolour(self) -> None:
        self._pending = False
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait(2000)
        self.recolour_bar.hide()

    def _recolour_failed(self, message: str) -> None:
        self._end_recolour()
        self.banner.show_message(f"recolour failed: {message}", "error")

    def _recolour_cancelled(self) -> None:
        self._end_recolour()
        self.banner.show_message("recolour cancelled", "info")

    def cancel(self) -> None:
        self._pending = False
        if self.worker is not None:
            self.worker.cancel()
        else:
            self.recolour_bar.hide()

    def _recolour_done(self, variations: list[Take]) -> None:
        played = self.worker.take if self.worker is not None else None
        self._end_recolour()
        if played is None:
            return
        compare = CompareDialog(self.parent, played, variations)
        self.compare = compare
        compare.listen.connect(self._listen)
        compare.stopRequested.connect(lambda: self.bridge.call("stop the replay", self.engine.replayer.stop))
        compare.kept.connect(lambda which: self._kept(which, played, compare.recoloured))
        compare.show()

    def _listen(self, take: Take) -> None:
        self.bridge.call("replay", self.engine.replay, take)

    def _kept(self, which: str, played: Take, recoloured: Take) -> None:
        self.compare = None
        if which != "recoloured":
            self.tap.setFocus()
            return
        self.take_dir.mkdir(parents=True, exist_ok=True)
        stem = (played.path.stem if played.path else self.engine.take_path.stem if self.engine.take_path
                else time.strftime("take-%Y%m%d-%H%M%S"))
        target = self.take_dir / f"{stem}-recoloured{TAKE_SUFFIX}"
        self.shown.replace_line(recoloured, played, played.path or self.engine.take_path)

        def saved(p):
            if self.shown.document is recoloured:
                self.shown.set_path(Path(p))
            self.banner.show_message(f"kept the recoloured take (saved as {p}); export it with Ctrl+E", "info")

        tasks.run_in_thread(lambda: save_take(recoloured, target), saved,
                            lambda msg: self.banner.show_message(f"could not save the recoloured take: {msg}",
                                                                 "error"), name="save-recoloured")
        self.tap.setFocus()
