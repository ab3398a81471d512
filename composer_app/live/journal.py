"""The journal of the take being played: an append-only JSON-lines file that survives a crash.

One header line (format, model, sampling settings, instrument, tempo, metre), then one line per event (``on``,
``off``, ``undo``, ``settings``), and a ``closed`` line when the take ends normally; times are integer
nanoseconds since the take's time 0. Each line is written and flushed to the OS at once, so killing the process
loses nothing already played; a background thread ``fsync``\\s at most once a second, so an OS crash or power cut
loses at most the last second. An advisory ``flock`` tells a take still being played from one a crash left
(:mod:`composer_app.live.recovery` reads them back).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
from pathlib import Path

from composer_app.atomic import fsync_folder
from composer_app.clock import s_to_ns
from composer_app.take import FORMAT, TakeNote

try:  # advisory locks tell a live take from a crashed one; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

JOURNAL_SUFFIX = ".jsonl"
SYNC_INTERVAL_S = 1.0

log = logging.getLogger(__name__)


def default_take_dir() -> Path:
    """``<user data dir>/everybody-compose/takes``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("everybody-compose")) / "takes"


def note_on_record(note: TakeNote, step_us: float = 0.0) -> dict:
    """The journal line of a note that began (times in the take's seconds, written as nanoseconds), with how long
    the model took to step for it (``step_us``, a diagnostic the take keeps apart from the note)."""
    record = {"type": "on", "i": note.index, "t": s_to_ns(note.start), "pitch": note.pitch, "vel": note.velocity,
              "rest": round(note.rest_s, 6), "prev_dur": round(note.prev_dur_s, 6), "src": note.source,
              "step_us": round(step_us, 1)}
    if note.direction is not None:
        record["dir"] = note.direction
    return record


def note_off_record(note: TakeNote) -> dict:
    """The journal line of a note that ended."""
    return {"type": "off", "i": note.index, "t": s_to_ns(note.end)}


def new_take_path(folder: Path, now: _dt.datetime | None = None) -> Path:
    """A fresh journal name in ``folder``: ``take-YYYYmmdd-HHMMSS-<pid>.jsonl`` (unique within the folder)."""
    now = now or _dt.datetime.now()
    stem = f"take-{now:%Y%m%d-%H%M%S}-{os.getpid()}"
    path = folder / f"{stem}{JOURNAL_SUFFIX}"
    k = 1
    while path.exists():
        path = folder / f"{stem}-{k}{JOURNAL_SUFFIX}"
        k += 1
    return path


class TakeJournal:
    """The append-only file of the take being played (see the module docstring).

    The file is created when the first line is written (a take nobody played leaves no file). Lines are written
    and flushed on the caller's thread (the engine's, with its lock held), which costs a ``write`` call; every
    ``fsync`` (of the file, and of its folder once it exists) runs on the journal's own thread without any lock a
    writer needs, so a slow disk never delays a key-down. A failed write stops the journal, a failed sync does
    not; both are reported once each through ``on_error(message)`` (called on whichever thread saw it).
    """

    def __init__(self, folder, header: dict, sync_interval_s: float = SYNC_INTERVAL_S, on_error=None):
        self.folder = Path(folder).expanduser()
        self.header = {"type": "header", "format": FORMAT, **header}
        self.path: Path | None = None
        self.sync_interval_s = sync_interval_s
        self.on_error = on_error
        self._file = None
        self._dirty = False
        self._closed = False
        self._lock = threading.Lock()  # the file object: writes vs. the syncer's final close; never held in fsync
        self._wake = threading.Event()
        self._syncer: threading.Thread | None = None
        self.error: str | None = None  # set (once) when the disk refused a write; playing goes on
        self.sync_error: str | None = None  # set when an fsync failed: what was written may not be on disk

    def _open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = new_take_path(self.folder)
            self._file = open(self.path, "x", encoding="utf-8")  # noqa: SIM115 - lives as long as the journal
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._fail(exc)
            return
        self._write_line(self.header)
        self._syncer = threading.Thread(target=self._sync_loop, name="take-fsync", daemon=True)
        self._syncer.start()

    def _fail(self, exc: OSError) -> None:
        self.error = f"the take cannot be saved to {self.path or self.folder}: {exc.strerror or exc}"
        self._file = None
        self._report(self.error)

    def _report(self, message: str) -> None:
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                log.exception("take journal error listener failed")

    def write(self, record: dict) -> None:
        """Append one event line (creating the file on the first event)."""
        if self._closed or self.error:
            return
        if self._file is None:
            self._open()
            if self._file is None:
                return
        self._write_line(record)

    def _write_line(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                return
            try:
                self._file.write(line)
                self._file.flush()
            except (OSError, ValueError) as exc:
                self._fail(exc if isinstance(exc, OSError) else OSError(str(exc)))
                return
            self._dirty = True

    def _sync_loop(self) -> None:
        self._sync_folder()
        while not self._closed:
            self._wake.wait(self.sync_interval_s)
            self.sync()
        self.sync()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _sync_folder(self) -> None:
        try:
            fsync_folder(self.folder)
        except OSError as exc:
            self._sync_failed(exc)

    def sync(self) -> None:
        """``fsync`` what was written (the journal's thread calls this at most once per ``sync_interval_s``)."""
        with self._lock:
            if self._file is None or not self._dirty:
                return
            try:
                fd = self._file.fileno()
            except ValueError:  # closed under us: nothing left to sync
                return
            self._dirty = False
        try:
            os.fsync(fd)  # outside the lock: writers go on meanwhile
        except OSError as exc:
            self._sync_failed(exc)

    def _sync_failed(self, exc: OSError) -> None:
        message = f"the take may not be safe on disk ({self.path or self.folder}): {exc.strerror or exc}"
        if self.sync_error is None:
            self._report(message)
        self.sync_error = message

    def close(self, at: float) -> None:
        """Write the ``closed`` line (``at``: seconds in the take); the journal's thread then syncs and closes
        the file (:meth:`wait_closed` waits for that). Safe to call twice."""
        if self._closed:
            return
        if self._file is not None:
            self._write_line({"type": "closed", "t": s_to_ns(at)})
        self._closed = True
        self._wake.set()
        if self._syncer is None:
            with self._lock:
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """Wait until a closed journal is synced and its file closed; False if that took over ``timeout``."""
        if self._syncer is None:
            return True
        self._syncer.join(timeout)
        return not self._syncer.is_alive()
