"""Takes: what was played live (beats, the pitches that sounded, velocities), in memory and on disk.

A :class:`Take` is the in-memory record: notes with start/end times relative to the take's start, pitch,
velocity, and the beat the model saw. :meth:`Take.to_melody` gives the ``(n, 3)`` ``(start, end, pitch)``
array every other part of the app uses.

On disk a take being played is an **append-only JSON-lines journal** (:class:`TakeJournal`): one header line
(format, model, sampling settings, instrument), then one line per event (``on``, ``off``, ``undo``,
``settings``), and a ``closed`` line when the take ends normally. Each line is written and flushed to the OS at
once, so killing the process loses nothing already played; a background thread ``fsync``\\s at most once a
second, so an OS crash or power cut loses at most the last second. A journal without its ``closed`` line was left
by a crash: :func:`find_recoverable_takes` lists those, skipping journals another running instance still holds
(an advisory ``flock``). :func:`load_take` reads journals and user files, tolerating a truncated last line.

A take the user saves is one JSON document (``.ectake``), written atomically (:func:`save_take`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from composer_app.atomic import atomic_write
from composer_app.errors import UserError

try:  # advisory locks tell a live take from a crashed one; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

FORMAT = "everybody-compose-take/1"
JOURNAL_SUFFIX = ".jsonl"
TAKE_SUFFIX = ".ectake"
#: Duration given to a note whose release was never written (the app died while it was held).
UNFINISHED_NOTE_S = 0.25
SYNC_INTERVAL_S = 1.0


def default_take_dir() -> Path:
    """``<user data dir>/everybody-compose/takes``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("everybody-compose")) / "takes"


@dataclass
class TakeNote:
    """One note of a take. Times are nanoseconds since the take started; ``end_ns`` is None while it sounds."""

    index: int
    start_ns: int
    pitch: int
    velocity: int
    rest_s: float = 0.0
    prev_dur_s: float = 0.0
    source: str = ""
    end_ns: int | None = None
    step_us: float = 0.0

    @property
    def start_s(self) -> float:
        return self.start_ns / 1e9

    @property
    def end_s(self) -> float | None:
        return None if self.end_ns is None else self.end_ns / 1e9


@dataclass
class Take:
    """A take in memory. ``header`` holds format, creation time, model and settings at the start."""

    header: dict = field(default_factory=dict)
    notes: list[TakeNote] = field(default_factory=list)
    closed: bool = False
    path: Path | None = None
    events: list[dict] = field(default_factory=list)  # mid-take settings/model changes, in order

    def __len__(self) -> int:
        return len(self.notes)

    @property
    def duration_s(self) -> float:
        if not self.notes:
            return 0.0
        return max(n.end_ns if n.end_ns is not None else n.start_ns for n in self.notes) / 1e9

    def to_melody(self, now_ns: int | None = None) -> np.ndarray:
        """``(n, 3)`` float array of ``(start, end, pitch)`` in seconds since the take started.

        A note still sounding ends at ``now_ns`` (relative to the take) when given, else at its start plus
        :data:`UNFINISHED_NOTE_S`.
        """
        out = np.zeros((len(self.notes), 3), dtype=np.float64)
        for row, n in zip(out, self.notes, strict=True):
            end = n.end_ns
            if end is None:
                end = max(now_ns, n.start_ns) if now_ns is not None else n.start_ns + int(UNFINISHED_NOTE_S * 1e9)
            row[:] = (n.start_ns / 1e9, end / 1e9, n.pitch)
        return out

    def velocities(self) -> np.ndarray:
        """MIDI velocities of the notes (int, 1-127)."""
        return np.array([n.velocity for n in self.notes], dtype=np.int64)

    def export_midi(self, path, **options) -> Path:
        """Write the take as a MIDI file with :func:`composer_app.export.write_midi` (options: ``program``,
        ``tempo_bpm`` ...); the instrument played live is the default program."""
        from composer_app.export import write_midi

        melody = self.to_melody()
        options.setdefault("program", int(self.header.get("program", 0)))
        return write_midi(path, melody[:, 0], melody[:, 1], melody[:, 2].astype(int), self.velocities(), **options)

    def to_document(self) -> dict:
        """The ``.ectake`` JSON document."""
        return {"header": {**self.header, "format": FORMAT}, "events": self.events,
                "notes": [_note_dict(n) for n in self.notes]}


def _note_dict(n: TakeNote) -> dict:
    d = asdict(n)
    d["rest_s"] = round(d["rest_s"], 6)
    d["prev_dur_s"] = round(d["prev_dur_s"], 6)
    d["step_us"] = round(d["step_us"], 1)
    return d


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

    The file is created when the first line is written (a take nobody played leaves no file). Every method is
    called with the engine's lock held; only the fsync thread runs beside it, and it only calls ``os.fsync``.
    """

    def __init__(self, folder, header: dict, sync_interval_s: float = SYNC_INTERVAL_S):
        self.folder = Path(folder).expanduser()
        self.header = {"type": "header", "format": FORMAT, **header}
        self.path: Path | None = None
        self.sync_interval_s = sync_interval_s
        self._file = None
        self._dirty = False
        self._closed = False
        self._lock = threading.Lock()  # file object vs. the fsync thread
        self._wake = threading.Event()
        self._syncer: threading.Thread | None = None
        self.error: str | None = None  # set (once) when the disk refused a write; playing goes on

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
            try:
                self._file.write(line)
                self._file.flush()
            except (OSError, ValueError) as exc:
                self._fail(exc if isinstance(exc, OSError) else OSError(str(exc)))
                return
            self._dirty = True

    def _sync_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.sync_interval_s)
            self.sync()

    def sync(self) -> None:
        """``fsync`` what was written (the fsync thread calls this at most once per ``sync_interval_s``)."""
        with self._lock:
            if self._file is None or not self._dirty:
                return
            try:
                os.fsync(self._file.fileno())
            except (OSError, ValueError):
                return
            self._dirty = False

    def close(self, t_ns: int) -> None:
        """Write the ``closed`` line, sync and close. Safe to call twice."""
        if self._closed:
            return
        if self._file is not None:
            self._write_line({"type": "closed", "t": int(t_ns)})
        self._closed = True
        self._wake.set()
        if self._syncer is not None:
            self._syncer.join(timeout=2)
        with self._lock:
            if self._file is not None:
                try:
                    os.fsync(self._file.fileno())
                except OSError:
                    pass
                self._file.close()
                self._file = None


# -- reading --------------------------------------------------------------------------------------------------


def _parse_lines(path: Path, text: str) -> list[dict]:
    lines = text.split("\n")
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except ValueError:
            last = all(not rest.strip() for rest in lines[i + 1:])
            if last:  # the write the crash interrupted
                break
            raise UserError(f"{path} is corrupt: line {i + 1} is not a take event") from None
        records.append(rec)
    return records


def _replay_journal(path: Path, records: list[dict]) -> Take:
    header = records[0]
    take = Take(header={k: v for k, v in header.items() if k != "type"}, path=path)
    last_t = 0
    try:
        for rec in records[1:]:
            kind = rec.get("type")
            if "t" in rec:
                last_t = max(last_t, int(rec["t"]))
            if kind == "on":
                take.notes.append(TakeNote(int(rec["i"]), int(rec["t"]), int(rec["pitch"]), int(rec.get("vel", 100)),
                                           float(rec.get("rest", 0.0)), float(rec.get("prev_dur", 0.0)),
                                           str(rec.get("src", "")), None, float(rec.get("step_us", 0.0))))
            elif kind == "off":
                i = int(rec["i"])
                if take.notes and take.notes[-1].index == i:
                    take.notes[-1].end_ns = int(rec["t"])
            elif kind == "undo":
                if take.notes:
                    take.notes.pop()
            elif kind == "settings":
                take.events.append({k: v for k, v in rec.items() if k != "type"})
                if "program" in rec:
                    take.header["program"] = int(rec["program"])
            elif kind == "closed":
                take.closed = True
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path} is corrupt: an event is missing {exc}") from None
    for n in take.notes:  # a note held when the app died: it ended no later than the last thing written
        if n.end_ns is None:
            n.end_ns = last_t if last_t > n.start_ns else n.start_ns + int(UNFINISHED_NOTE_S * 1e9)
    return take


def _from_document(path: Path, doc: dict) -> Take:
    try:
        notes = [TakeNote(**{k: v for k, v in n.items() if k in TakeNote.__dataclass_fields__}) for n in doc["notes"]]
        header = dict(doc["header"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path} is not a valid take file: {exc}") from None
    return Take(header=header, notes=notes, closed=True, path=path, events=list(doc.get("events", [])))


def load_take(path) -> Take:
    """Read a take: a journal (tolerating a truncated last line) or a saved ``.ectake`` file.

    Raises
    ------
    UserError
        The file is missing, not a take, from a newer version, or corrupt (a damaged line before the end).
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no such take file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read take {path}: {exc}") from None
    first = text.split("\n", 1)[0]
    try:
        head = json.loads(first)
    except ValueError:
        head = None
    if isinstance(head, dict) and head.get("type") == "header":
        _check_format(path, head)
        return _replay_journal(path, _parse_lines(path, text))
    try:
        doc = json.loads(text)
    except ValueError:
        raise UserError(f"{path} is not a take file (or it is corrupt)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("header"), dict):
        raise UserError(f"{path} is not a take file (no take header)")
    _check_format(path, doc["header"])
    return _from_document(path, doc)


def _check_format(path: Path, header: dict) -> None:
    fmt = str(header.get("format", ""))
    if not fmt.startswith("everybody-compose-take/"):
        raise UserError(f"{path} is not an Everybody Compose take")
    if fmt != FORMAT:
        raise UserError(f"{path} was written by a newer version ({fmt}); this version reads {FORMAT}")


def save_take(take: Take, path) -> Path:
    """Write ``take`` as one ``.ectake`` JSON document, atomically (temp file renamed over the target)."""
    path = Path(path).expanduser()
    if path.suffix == "":
        path = path.with_suffix(TAKE_SUFFIX)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(take.to_document(), f, indent=1)

    return atomic_write(path, write, "save take")


def _held_elsewhere(path: Path) -> bool:
    """True when a running app still writes this journal (it holds the flock)."""
    if fcntl is None:
        return False
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        return True
    return False


_TAKE_NAME = re.compile(r"take-.*\.jsonl$")


def find_recoverable_takes(data_dir=None) -> list[Path]:
    """Journals left by a crash or a kill (no ``closed`` line, at least one note), newest first.

    Journals a running instance is still writing are skipped; so are unreadable ones (their error shows when
    the user opens them with :func:`load_take`).
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else default_take_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if not _TAKE_NAME.fullmatch(path.name) or not path.is_file():
            continue
        try:
            tail = _tail(path)
        except OSError:
            continue
        if '"type":"closed"' in tail or _held_elsewhere(path):
            continue
        try:
            take = load_take(path)
        except UserError:
            if path.stat().st_size > 512:  # offered anyway (opening it tells the user what is wrong), unless
                found.append(path)  # it is only a cut-short header: nothing was played into it
            continue
        if not take.closed and take.notes:
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _tail(path: Path, size: int = 256) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        f.seek(max(0, end - size))
        return f.read().decode("utf-8", errors="replace")


def dismiss_recoverable(path, reason: str = "dismissed") -> None:
    """Mark a crashed journal as dealt with (recovered or declined) so it is not offered again; the notes stay."""
    path = Path(path)
    try:
        with open(path, "r+b") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):  # drop the line the crash cut short: it would sit mid-file
                f.truncate(data.rfind(b"\n") + 1)
            f.seek(0, os.SEEK_END)
            f.write(json.dumps({"type": "closed", "reason": reason, "t": 0}, separators=(",", ":")).encode() + b"\n")
    except OSError as exc:
        raise UserError(f"cannot update {path}: {exc.strerror or exc}") from None
