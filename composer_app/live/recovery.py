"""Reading takes back: journals (also those a crash left), saved ``.ectake`` files, and crash recovery.

:func:`load_take` reads either kind, tolerating what a crash leaves in a journal (a cut-short last line, NUL
blocks, a damaged line). :func:`find_recoverable_takes` lists journals without their ``closed`` line that no
running app still writes; :func:`dismiss_recoverable` marks one as dealt with.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import numpy as np

from composer_app.errors import UserError
from composer_app.file_checks import check_regular_file
from composer_app.live.journal import JOURNAL_SUFFIX, default_take_dir, fcntl
from composer_app.take import (
    FORMAT,
    UNFINISHED_NOTE_S,
    Take,
    TakeNote,
    check_format,
    seconds_from_file,
    whole,
)

log = logging.getLogger(__name__)


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
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nested past the parser's depth
            if i == last and not data.endswith(b"\n"):
                continue  # the write the crash interrupted
            why = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "is not a take event"
            warnings.append(f"line {i + 1} {why} and was skipped")
            continue
        records.append((i + 1, rec))
    return records


def _time(rec: dict) -> float:
    """A record's time in the take, in seconds (files hold integer nanoseconds)."""
    t = rec["t"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < 1e18:
        raise ValueError(f"bad time {t!r}")
    return seconds_from_file(t)


def _event_note(rec: dict) -> TakeNote:
    pitch, vel = int(rec["pitch"]), int(rec.get("vel", 100))
    if not 0 <= pitch <= 127 or not 1 <= vel <= 127:
        raise ValueError(f"pitch {pitch} or velocity {vel} out of range")
    direction = rec.get("dir")
    return TakeNote(int(rec["i"]), _time(rec), pitch, vel, None, float(rec.get("rest", 0.0)),
                    float(rec.get("prev_dur", 0.0)), str(rec.get("src", "")),
                    None if direction is None else int(np.sign(int(direction))))


def _apply_event(take: Take, rec: dict) -> float | None:
    """Apply one journal event to ``take``; returns its time (None if it has none). Raises on a bad event."""
    kind = rec.get("type")
    t = _time(rec) if "t" in rec else None
    if kind == "on":
        note, step_us = _event_note(rec), float(rec.get("step_us", 0.0))  # both read before the take changes
        take.notes.append(note)
        take.step_us[note.index] = step_us
    elif kind == "off":
        i = int(rec["i"])
        if take.notes and take.notes[-1].index == i:
            take.notes[-1].end = max(t, take.notes[-1].start)
    elif kind == "undo":
        if take.notes:
            take.step_us.pop(take.notes.pop().index, None)
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


def _clean_header(take: Take) -> None:
    """Drop a damaged tempo, metre or instrument from the header, with a warning: they must not stop the notes
    from being used, nor reach the tempo bar, a MIDI file or the synth."""
    problem = _timing_problem(take.header)
    if problem:
        take.warnings.append(f"the take's tempo or metre was damaged ({problem}); 120 BPM 4/4 is used")
        take.header.pop("tempo_bpm", None)
        take.header.pop("time_signature", None)
    if "program" in take.header:
        try:
            whole(take.header["program"], 0, 127, "the instrument (program)")
        except ValueError as exc:
            take.warnings.append(f"{exc}; the piano is used")
            take.header.pop("program")


#: The largest take file read: an hour of playing is a few MB; a bigger file is damaged or not a take, and
#: parsing it would only fill memory (a crashed 10-million-line journal took 5 GB).
MAX_TAKE_BYTES = 32 << 20


def read_take_bytes(path: Path) -> bytes:
    """The bytes of a take file, after checking it is a regular file of a take's size (a pipe or a device such
    as /dev/zero is never read: it would never end)."""
    check_regular_file(path, "a take", MAX_TAKE_BYTES, missing=f"no such take file: {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read take {path}: {exc.strerror or exc}") from None


def _replay_journal(path: Path, records: list[tuple[int, dict]], warnings: list[str]) -> Take:
    if records and records[0][1].get("type") == "header":
        header = {k: v for k, v in records[0][1].items() if k != "type"}
        events = records[1:]
    else:
        warnings.append("the header line is damaged: the model and settings it was played with are unknown")
        header, events = {"format": FORMAT}, records
    take = Take(header=header, path=path)
    last_t = 0.0
    for line, rec in events:
        try:
            t = _apply_event(take, rec)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            warnings.append(f"line {line} is a damaged event ({exc}) and was skipped")
            continue
        if t is not None:
            last_t = max(last_t, t)
    for n in take.notes:  # a note held when the app died: it ended no later than the last thing written
        if n.end is None:
            n.end = last_t if last_t > n.start else n.start + UNFINISHED_NOTE_S
    return take


def _looks_like_journal(path: Path, data: bytes) -> bool:
    if path.suffix.lower() == JOURNAL_SUFFIX:
        return True
    first = data.split(b"\n", 1)[0].strip(b"\x00 \t\r")
    try:
        head = json.loads(first.decode("utf-8"))
    except (ValueError, RecursionError):
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
    data = read_take_bytes(path)
    if _looks_like_journal(path, data):
        warnings: list[str] = []
        records = _parse_lines(data, warnings)
        if not records:
            raise UserError(f"{path} holds no readable take event")
        if records[0][1].get("type") == "header":
            check_format(path, records[0][1])
        take = _replay_journal(path, records, warnings)
        take.warnings = warnings
        for w in warnings:
            log.warning("%s: %s", path, w)
    else:
        try:
            doc = json.loads(data.decode("utf-8"), parse_constant=lambda name: None)  # NaN/Infinity: no value
        except (ValueError, RecursionError):
            raise UserError(f"{path} is not a take file (or it is corrupt)") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("header"), dict):
            raise UserError(f"{path} is not a take file (no take header)")
        check_format(path, doc["header"])
        take = Take.from_document(doc, path)
    _clean_header(take)
    if "origin" not in take.header and "created" in take.header:  # played live before takes began at a note
        take.starting_at_first_note()
    return take


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
