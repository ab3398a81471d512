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
import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from composer_app.atomic import atomic_write, fsync_folder
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

log = logging.getLogger(__name__)


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
    direction: int | None = None  # the contour asked for by the key (+1 up, -1 down, 0 same), if any

    @property
    def start_s(self) -> float:
        return self.start_ns / 1e9

    @property
    def end_s(self) -> float | None:
        return None if self.end_ns is None else self.end_ns / 1e9


#: ``header["origin"]``: time 0 of the take is its first note, or the downbeat after a count-in.
ORIGIN_FIRST_NOTE = "first-note"
ORIGIN_DOWNBEAT = "downbeat"


@dataclass
class Take:
    """A take in memory. ``header`` holds format, creation time, model, settings, tempo (``tempo_bpm``), metre
    (``time_signature``, "4/4") and ``origin``. Time 0 is bar 1 beat 1: the first note, or a count-in's downbeat.
    """

    header: dict = field(default_factory=dict)
    notes: list[TakeNote] = field(default_factory=list)
    closed: bool = False
    path: Path | None = None
    events: list[dict] = field(default_factory=list)  # mid-take settings/model changes, in order
    warnings: list[str] = field(default_factory=list)  # damaged journal lines skipped when it was read

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

    @property
    def tempo_bpm(self) -> float:
        """The take's tempo in quarter notes per minute (120 when it was played without one)."""
        from composer_app.musical_time import DEFAULT_BPM

        return float(self.header.get("tempo_bpm", DEFAULT_BPM))

    @property
    def time_signature(self):
        """The take's metre (:class:`~composer_app.musical_time.TimeSignature`; 4/4 when it has none)."""
        from composer_app.musical_time import parse_time_signature

        return parse_time_signature(self.header.get("time_signature", "4/4"))

    def export_midi(self, path, **options) -> Path:
        """Write the take as a MIDI file with :func:`composer_app.export.write_midi` (options: ``program``,
        ``tempo_bpm``, ``time_signature``, ``quantize`` ...); the instrument, tempo and metre played live are
        the defaults, so bar 1 beat 1 of the file is the take's start. The take itself is never changed."""
        from composer_app.export import write_midi

        melody = self.to_melody()
        options.setdefault("program", int(self.header.get("program", 0)))
        options.setdefault("tempo_bpm", self.tempo_bpm)
        options.setdefault("time_signature", self.time_signature)
        return write_midi(path, melody[:, 0], melody[:, 1], melody[:, 2].astype(int), self.velocities(), **options)

    def contour(self) -> np.ndarray:
        """Direction of each note from the one before (+1 up, -1 down, 0 same; 0 for the first note): what
        ``generate(..., contour=)`` steers a Recolour of this take along."""
        from composer_app.sampling import contour_of

        return contour_of([n.pitch for n in self.notes])

    def starting_at_first_note(self) -> Take:
        """This take with time 0 moved to its first note (takes recorded before takes began at their first tap
        carry the wait before it)."""
        if not self.notes or self.notes[0].start_ns == 0:
            return self
        shift = min(n.start_ns for n in self.notes)
        for n in self.notes:
            n.start_ns -= shift
            if n.end_ns is not None:
                n.end_ns = max(n.start_ns, n.end_ns - shift)
        self.header["origin"] = ORIGIN_FIRST_NOTE
        return self

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

    def close(self, t_ns: int) -> None:
        """Write the ``closed`` line; the journal's thread then syncs and closes the file (:meth:`wait_closed`
        waits for that). Safe to call twice."""
        if self._closed:
            return
        if self._file is not None:
            self._write_line({"type": "closed", "t": int(t_ns)})
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


# -- reading --------------------------------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a take value")


def _parse_lines(data: bytes, warnings: list[str]) -> list[tuple[int, dict]]:
    """``(line number, record)`` of every readable line. A damaged line (not UTF-8, not JSON, NaN or Infinity)
    is skipped with a warning; a NUL block (left by a crash on some file systems) is dropped and what follows
    it on the line is kept; a cut-short last line (the write a crash interrupted) is dropped silently."""
    lines = data.split(b"\n")
    last = max((i for i, raw in enumerate(lines) if raw.strip(b"\x00 \t\r")), default=-1)
    records = []
    for i, raw in enumerate(lines):
        text = raw.strip(b"\x00 \t\r")
        if not text:
            if raw.strip():
                warnings.append(f"line {i + 1} held only NUL bytes and was skipped")
            continue
        try:
            rec = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            if i == last and not data.endswith(b"\n"):
                continue  # the write the crash interrupted
            why = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "is not a take event"
            warnings.append(f"line {i + 1} {why} and was skipped")
            continue
        records.append((i + 1, rec))
    return records


def _time(rec: dict) -> int:
    t = rec["t"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1e18:
        raise ValueError(f"bad time {t!r}")
    return int(t)


def _event_note(rec: dict) -> TakeNote:
    pitch, vel = int(rec["pitch"]), int(rec.get("vel", 100))
    if not 0 <= pitch <= 127 or not 1 <= vel <= 127:
        raise ValueError(f"pitch {pitch} or velocity {vel} out of range")
    direction = rec.get("dir")
    return TakeNote(int(rec["i"]), _time(rec), pitch, vel, float(rec.get("rest", 0.0)),
                    float(rec.get("prev_dur", 0.0)), str(rec.get("src", "")), None, float(rec.get("step_us", 0.0)),
                    None if direction is None else int(np.sign(int(direction))))


def _apply_event(take: Take, rec: dict) -> int | None:
    """Apply one journal event to ``take``; returns its time (None if it has none). Raises on a bad event."""
    kind = rec.get("type")
    t = _time(rec) if "t" in rec else None
    if kind == "on":
        take.notes.append(_event_note(rec))
    elif kind == "off":
        i = int(rec["i"])
        if take.notes and take.notes[-1].index == i:
            take.notes[-1].end_ns = max(int(t), take.notes[-1].start_ns)
    elif kind == "undo":
        if take.notes:
            take.notes.pop()
    elif kind == "settings":
        if _timing_problem(rec):
            raise ValueError(_timing_problem(rec))
        take.events.append({k: v for k, v in rec.items() if k != "type"})
        for key in _HEADER_SETTINGS:
            if key in rec:
                take.header[key] = rec[key]
    elif kind == "closed":
        take.closed = True
    return t


#: Settings events that change what the header says of the whole take.
_HEADER_SETTINGS = ("program", "tempo_bpm", "time_signature", "origin")


def _timing_problem(record: dict) -> str | None:
    """What is wrong with a record's tempo or time signature, if anything (None: fine or absent)."""
    from composer_app.musical_time import check_tempo, parse_time_signature

    try:
        if "tempo_bpm" in record:
            check_tempo(record["tempo_bpm"])
        if "time_signature" in record:
            parse_time_signature(record["time_signature"])
    except UserError as exc:
        return str(exc)
    return None


def _replay_journal(path: Path, records: list[tuple[int, dict]], warnings: list[str]) -> Take:
    if records and records[0][1].get("type") == "header":
        header = {k: v for k, v in records[0][1].items() if k != "type"}
        events = records[1:]
    else:
        warnings.append("the header line is damaged: the model and settings it was played with are unknown")
        header, events = {"format": FORMAT}, records
    take = Take(header=header, path=path)
    last_t = 0
    for line, rec in events:
        try:
            t = _apply_event(take, rec)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            warnings.append(f"line {line} is a damaged event ({exc}) and was skipped")
            continue
        if t is not None:
            last_t = max(last_t, t)
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


def _looks_like_journal(path: Path, data: bytes) -> bool:
    if path.suffix == JOURNAL_SUFFIX:
        return True
    first = data.split(b"\n", 1)[0].strip(b"\x00 \t\r")
    try:
        head = json.loads(first.decode("utf-8"))
    except ValueError:
        return False
    return isinstance(head, dict) and head.get("type") == "header"


def load_take(path) -> Take:
    """Read a take: a journal or a saved ``.ectake`` file.

    A journal's damaged lines are skipped: every readable event is kept and ``take.warnings`` says what was
    skipped (also logged). Takes recorded before takes began at their first note are moved to start there.

    Raises
    ------
    UserError
        The file is missing, not a take, from a newer version, or an ``.ectake`` document that is corrupt.
    """
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no such take file: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read take {path}: {exc.strerror or exc}") from None
    if _looks_like_journal(path, data):
        warnings: list[str] = []
        records = _parse_lines(data, warnings)
        if not records:
            raise UserError(f"{path} holds no readable take event")
        if records[0][1].get("type") == "header":
            _check_format(path, records[0][1])
        take = _replay_journal(path, records, warnings)
        take.warnings = warnings
        for w in warnings:
            log.warning("%s: %s", path, w)
    else:
        try:
            doc = json.loads(data.decode("utf-8"))
        except ValueError:
            raise UserError(f"{path} is not a take file (or it is corrupt)") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("header"), dict):
            raise UserError(f"{path} is not a take file (no take header)")
        _check_format(path, doc["header"])
        take = _from_document(path, doc)
    problem = _timing_problem(take.header)
    if problem:  # a damaged tempo or metre must not stop the notes from being used
        take.warnings.append(f"the take's tempo or metre was damaged ({problem}); 120 BPM 4/4 is used")
        take.header.pop("tempo_bpm", None)
        take.header.pop("time_signature", None)
    if "origin" not in take.header and "created" in take.header:  # played live before takes began at a note
        take.starting_at_first_note()
    return take


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

    Journals a running instance is still writing are skipped. A journal that cannot be read at all is offered
    when it is more than a cut-short header (opening it tells the user what is wrong); whatever one file holds,
    the others are still found.
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else default_take_dir()
    try:
        paths = list(folder.iterdir()) if folder.is_dir() else []
    except OSError as exc:
        log.warning("cannot list the takes folder %s: %s", folder, exc)
        return []
    found: list[tuple[float, Path]] = []
    for path in paths:
        try:
            if _recoverable(path):
                found.append((path.stat().st_mtime, path))
        except Exception:  # one strange file never hides the others
            log.exception("skipped %s while looking for takes to recover", path)
    return [p for _, p in sorted(found, key=lambda item: item[0], reverse=True)]


def _recoverable(path: Path) -> bool:
    if not _TAKE_NAME.fullmatch(path.name) or not path.is_file():
        return False
    try:
        tail = _tail(path)
    except OSError:
        return False
    if '"type":"closed"' in tail or _held_elsewhere(path):
        return False
    try:
        take = load_take(path)
    except UserError:
        return path.stat().st_size > 512
    return not take.closed and bool(take.notes)


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
