"""The window's file work: export (MIDI, WAV), save, open, and crash recovery, of the take shown.

All disk work runs in background tasks (:mod:`composer_app.gui.tasks`); the result or the reason it failed comes
back to the banner in plain words.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from composer_app import resources
from composer_app.errors import UserError
from composer_app.gui import tasks
from composer_app.gui.banner import MessageBanner
from composer_app.gui.shown_take import ShownTake
from composer_app.gui.tempo_bar import TempoBar
from composer_app.live.recovery import dismiss_recoverable, find_recoverable_takes, load_take
from composer_app.take import TAKE_SUFFIX, Take, save_take

ASSETS_RHYTHMS = resources.DEMO_RHYTHMS


class TakeFiles:
    """File actions on the take shown; ``kept_take_note()`` says where the live take is kept (Open take)."""

    def __init__(self, parent: QWidget, engine, store, take_dir: Path, shown: ShownTake, banner: MessageBanner,
                 tempo_bar: TempoBar, kept_take_note):
        self.parent = parent
        self.engine = engine
        self.store = store
        self.take_dir = Path(take_dir)
        self.shown = shown
        self.banner = banner
        self.tempo_bar = tempo_bar
        self.kept_take_note = kept_take_note

    # -- the take shown -------------------------------------------------------------------------------------------
    def shown_take(self) -> Take:
        """A private copy of the take shown (the live one is copied on the engine thread, between events).

        Blocks until the engine thread has made the copy: call it from a background task, never the GUI thread.
        """
        if self.shown.document is not None:
            return self.shown.document
        done = threading.Event()
        box: list[Take] = []

        def grab():
            box.append(self.engine.take.copy())
            done.set()

        self.engine.submit(grab)
        if not done.wait(5.0):
            raise UserError("the engine is busy; try again")
        return box[0]

    def shown_is_empty(self, then: str) -> bool:
        """True (and said in the banner) when the take shown has no notes: checked before a dialog opens, so
        the player is not asked for a file name only to hear the take is empty. ``then``: what would follow."""
        document = self.shown.document
        if (len(document.notes) if document is not None else len(self.engine.take.notes)):
            return False
        self.banner.show_message(f"The take is empty: play something first (z, x, space or a s d f j k l ;), "
                                 f"then {then}.", "info")
        return True

    # -- files ----------------------------------------------------------------------------------------------------
    def _default_dir(self) -> str:
        return self.store.get_str("paths/last_dir", str(Path.home())) or str(Path.home())

    def _remember_dir(self, path) -> None:
        self.store.set("paths/last_dir", str(Path(path).expanduser().parent))

    def _suggest_name(self, suffix: str) -> str:
        stem = (self.shown.path.stem if self.shown.path else
                self.engine.take_path.stem if self.engine.take_path else "take")
        return str(Path(self._default_dir()) / f"{stem}{suffix}")

    def export_midi_dialog(self) -> None:
        if self.shown_is_empty("export it"):
            return
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export MIDI", self._suggest_name(".mid"),
                                              "MIDI files (*.mid *.midi)")
        if path:
            self.export_midi(path)

    def export_midi(self, path) -> None:
        path = _with_suffix(path, ".mid")
        self._remember_dir(path)
        grid = self.tempo_bar.settings().quantize

        def write():  # the take's own tempo and metre; quantized in the file only
            take = self.shown_take()
            if not take.notes:
                raise UserError("the take is empty: play something first")
            return take.export_midi(path, quantize=grid)

        tasks.run_in_thread(write, lambda p: self.banner.show_message(f"exported {p}", "info"),
                            lambda msg: self.banner.show_message(f"MIDI export failed: {msg}", "error"),
                            name="export-midi")

    def export_wav_dialog(self) -> None:
        if self.shown_is_empty("export it"):
            return
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export WAV", self._suggest_name(".wav"), "WAV files (*.wav)")
        if path:
            self.export_wav(path)

    def export_wav(self, path) -> None:
        from composer_app.export import build_midi, render_audio, write_wav

        path = _with_suffix(path, ".wav")
        self._remember_dir(path)
        soundfont = self.engine.synth.soundfont

        def render():
            take = self.shown_take()
            if not take.notes:
                raise UserError("the take is empty: play something first")
            pm = build_midi(take.to_melody(), program=int(take.header.get("program", 0)))
            return write_wav(path, render_audio(pm, soundfont=soundfont))

        self.banner.show_message(f"rendering {path}…", "info")
        tasks.run_in_thread(render, lambda p: self.banner.show_message(f"exported {p}", "info"),
                            lambda msg: self.banner.show_message(f"WAV export failed: {msg}", "error"),
                            name="export-wav")

    def save_take_dialog(self) -> None:
        if self.shown_is_empty("save it"):
            return
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save take", self._suggest_name(TAKE_SUFFIX),
                                              f"Takes (*{TAKE_SUFFIX})")
        if path:
            self.save_take(path)

    def save_take(self, path) -> None:
        path = _with_suffix(path, TAKE_SUFFIX)
        self._remember_dir(path)

        def saved(p):
            if not self.shown.is_live:
                self.shown.set_path(p)
            self.banner.show_message(f"saved {p}", "info")

        tasks.run_in_thread(lambda: save_take(self.shown_take(), path), saved,
                            lambda msg: self.banner.show_message(f"could not save: {msg}", "error"),
                            name="save-take")

    def open_take_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open take", self._default_dir(),
                                              f"Takes (*{TAKE_SUFFIX} *.jsonl);;All files (*)")
        if path:
            self.open_take(path)

    def open_take(self, path) -> None:
        self._remember_dir(path)
        def opened(take):
            kept = self.kept_take_note() if self.shown.is_live else ""
            self.shown.show_document(take, Path(path))
            self.banner.show_message(f"opened {Path(path).name} ({len(take)} notes, {take.tempo_bpm:g} BPM "
                                     f"{take.time_signature}). Tapping starts a new take at its tempo; this one "
                                     f"stays in its file. {kept}".strip(), "info")

        tasks.run_in_thread(lambda: load_take(path), opened,
                            lambda msg: self.banner.show_message(f"could not open the take: {msg}", "error"),
                            name="open-take")

    def open_rhythm_dialog(self) -> None:
        start = ASSETS_RHYTHMS if ASSETS_RHYTHMS.is_dir() else Path(self._default_dir())
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open rhythm", str(start),
                                              "Rhythms (*.npy *.mid *.midi);;All files (*)")
        if path:
            self.open_rhythm(path)

    def open_rhythm(self, path) -> None:
        """A rhythm without a melody (``.npy`` of (rest, duration), or a MIDI file's timing): shown as a take
        of middle Cs, ready to be recoloured (Ctrl+G)."""

        def done(take):
            self.shown.show_document(take, None, name=f"rhythm {Path(path).name}")
            self.banner.show_message(f"{Path(path).name}: {len(take)} beats, all middle C for now. "
                                     "Recolour it (Ctrl+G) to give it a melody.", "info")

        tasks.run_in_thread(lambda: rhythm_take(path), done,
                            lambda msg: self.banner.show_message(f"could not open the rhythm: {msg}", "error"),
                            name="open-rhythm")

    # -- crash recovery -------------------------------------------------------------------------------------------
    def offer_recovery(self) -> str | None:
        """If a crash left a take in the data folder, ask whether to restore it. Returns the answer."""
        found = find_recoverable_takes(self.take_dir)
        if not found:
            return None
        path = found[0]
        answer = self.ask_recovery(path, len(found))
        if answer == "restore":
            try:
                take = load_take(path)
            except UserError as exc:
                self.banner.show_message(f"the take left by the crash cannot be restored: {exc}", "error")
                _dismiss(path, "unreadable")
                return answer
            _dismiss(path, "recovered")
            self.shown.show_document(take, path)
            damaged = f" Damaged lines were skipped: {'; '.join(take.warnings[:3])}." if take.warnings else ""
            self.banner.show_message(f"restored {len(take)} notes from {path.name} (left by a crash). "
                                     "Save or export it, or just tap to start a new take." + damaged,
                                     "warning" if take.warnings else "info")
        elif answer == "discard":
            _dismiss(path, "discarded")
        return answer

    def ask_recovery(self, path: Path, count: int) -> str:
        """The restore/discard question (a modal box at start-up, before any playing). Tests replace it."""
        try:
            n = len(load_take(path))
            what = f"{n} notes"
        except UserError:
            what = "a damaged take"
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Restore the last take?")
        box.setText(f"The app stopped unexpectedly while a take was being played ({what}, {path.name}).")
        more = f" ({count - 1} older one{'s' if count > 2 else ''} left too.)" if count > 1 else ""
        box.setInformativeText("Restore it to listen, save or export it?" + more)
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.exec()
        clicked = box.clickedButton()
        return "restore" if clicked is restore else "discard" if clicked is discard else "later"


def rhythm_take(path, pitch: int = 60) -> Take:
    """A take holding a rhythm file's beats (every note ``pitch``): what Recolour needs to sing it."""
    from composer_app.rhythm import load_rhythm

    rests, durs = load_rhythm(path)
    return Take.from_rhythm(rests, durs, pitch, rhythm=str(path))


def _with_suffix(path, suffix: str) -> Path:
    path = Path(path).expanduser()
    return path if path.suffix else path.with_suffix(suffix)


def _dismiss(path: Path, reason: str) -> None:
    try:
        dismiss_recoverable(path, reason)
    except UserError:
        pass
