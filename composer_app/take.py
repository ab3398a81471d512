"""A take: the notes played (or recoloured), with the tempo and metre they were played in, in seconds.

Shaped like pretty_midi's notes: each :class:`TakeNote` has ``start`` and ``end`` in seconds since the take's
time 0 (bar 1 beat 1), ``pitch`` and ``velocity``, plus what the live model saw (its beat) and where the note came
from. A :class:`Take` holds the notes and a header (model, settings, instrument, tempo, metre); it turns into the
:class:`~composer_app.notes.Notes` the rest of the app uses, a MIDI file, or the ``.ectake`` document a user saves.

On disk times stay integer nanoseconds (:func:`~composer_app.clock.s_to_ns`), as every take file written so far has
them. How long the model took to step for each note is a diagnostic of the engine, not part of the note: the take
keeps it apart (:attr:`Take.step_us`), files keep it on each note's record as they always have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from composer_app.atomic import atomic_write
from composer_app.clock import ns_to_s, s_to_ns
from composer_app.errors import UserError
from composer_app.musical_time import DEFAULT_BPM, parse_time_signature, shown
from composer_app.notes import Notes
from composer_app.pitches import contour_of

#: The format every take file (saved take or journal) names in its header.
FORMAT = "everybody-compose-take/1"
FORMAT_FAMILY = "everybody-compose-take/"
TAKE_SUFFIX = ".ectake"
#: Duration given to a note whose end is unknown (the app died while it was held, or it still sounds).
UNFINISHED_NOTE_S = 0.25
#: ``header["origin"]``: time 0 of the take is its first note, or the downbeat after a count-in.
ORIGIN_FIRST_NOTE = "first-note"
ORIGIN_DOWNBEAT = "downbeat"
#: The latest time a take file may hold (about 31 years, in nanoseconds) and the highest note number: a file
#: beyond them is damaged, and its values must not reach the roll, the models or a MIDI file.
MAX_FILE_NS = 10**18 - 1
MAX_NOTE_INDEX = 10**9


def seconds_from_file(file_ns) -> float:
    """A take file's integer nanoseconds as seconds (a ValueError for anything but a time in a take's range)."""
    return ns_to_s(whole(file_ns, 0, MAX_FILE_NS, "time"))


def whole(value, lo: int, hi: int, name: str) -> int:
    """``value`` from a file as an int in ``lo..hi`` (an integral float is accepted; a ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi \
            or value != int(value):
        raise ValueError(f"{name} must be a whole number in {lo}..{hi}, not {shown(value)}")
    return int(value)


def seconds(value, name: str) -> float:
    """A non-negative, finite number of seconds (or microseconds) from a file; a ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= ns_to_s(MAX_FILE_NS):
        raise ValueError(f"{name} must be a number of seconds, not {shown(value)}")
    return float(value)


@dataclass
class TakeNote:
    """One note: ``start``/``end`` in seconds since the take's time 0 (``end`` None while it sounds); the beat
    the live model saw (``rest_s``, ``prev_dur_s``), the key it came from, and the contour the key asked for."""

    index: int
    start: float
    pitch: int
    velocity: int = 100
    end: float | None = None
    rest_s: float = 0.0
    prev_dur_s: float = 0.0
    source: str = ""
    direction: int | None = None  # +1 up, -1 down, 0 same; None: not steered
    locked: bool = False  # the player keeps this note: no recolour changes it

    def to_record(self, step_us: float = 0.0) -> dict:
        """The note as a ``.ectake`` document holds it, with the model's ``step_us`` for it (the take keeps that
        apart, files beside the note as they always have); ``locked`` only when set: older readers ignore it."""
        record = {"index": self.index, "start_ns": s_to_ns(self.start), "pitch": self.pitch,
                  "velocity": self.velocity, "rest_s": round(self.rest_s, 6), "prev_dur_s": round(self.prev_dur_s, 6),
                  "source": self.source, "end_ns": None if self.end is None else s_to_ns(self.end),
                  "step_us": round(step_us, 1), "direction": self.direction}
        if self.locked:
            record["locked"] = True
        return record

    @classmethod
    def from_record(cls, record: dict) -> TakeNote:
        """A note of a ``.ectake`` document, every field held to its range (a ValueError in words when it is
        not one: a damaged file must never put pitch 10**30 or an infinite time into the app). The record's
        ``step_us`` is not the note's: :meth:`Take.from_document` reads it with :func:`step_us_of`."""
        if not isinstance(record, dict):
            raise ValueError(f"a note is a {type(record).__name__}, not a table")
        end = record.get("end_ns")
        direction = record.get("direction")
        source = record.get("source", "")
        return cls(whole(record["index"], 0, MAX_NOTE_INDEX, "index"), seconds_from_file(record["start_ns"]),
                   whole(record["pitch"], 0, 127, "pitch"), whole(record["velocity"], 1, 127, "velocity"),
                   None if end is None else seconds_from_file(end),
                   seconds(record.get("rest_s", 0.0), "rest_s"), seconds(record.get("prev_dur_s", 0.0), "prev_dur_s"),
                   source[:64] if isinstance(source, str) else "",
                   None if direction is None else whole(direction, -1, 1, "direction"),
                   record.get("locked") is True)


def step_us_of(record: dict) -> float:
    """The model's step + draw time, in microseconds, that a note's record (saved take or journal line) holds;
    0.0 when it holds none (a ValueError when it is not a time)."""
    return seconds(record.get("step_us", 0.0), "step_us")


@dataclass
class Take:
    """A take's notes and header (format, creation time, model, settings, ``program``, ``tempo_bpm``,
    ``time_signature``, ``origin``). Time 0 is bar 1 beat 1: the first note, or a count-in's downbeat.

    ``step_us`` maps a note's index to how long the live model took to step and draw it (microseconds): a
    diagnostic of the engine kept beside the notes, not in them, so that a note is only what was played."""

    header: dict = field(default_factory=lambda: {"format": FORMAT})
    notes: list[TakeNote] = field(default_factory=list)
    closed: bool = False
    path: Path | None = None
    events: list[dict] = field(default_factory=list)  # mid-take settings/model changes, in order
    warnings: list[str] = field(default_factory=list)  # damaged journal lines skipped when it was read
    step_us: dict[int, float] = field(default_factory=dict)  # note index -> model step + draw, microseconds

    def __len__(self) -> int:
        return len(self.notes)

    # -- what it was played in ----------------------------------------------------------------------------------
    @property
    def tempo_bpm(self) -> float:
        """Quarter notes per minute (120 when it was played without one)."""
        return float(self.header.get("tempo_bpm", DEFAULT_BPM))

    @property
    def time_signature(self):
        """The metre (:class:`~composer_app.musical_time.TimeSignature`; 4/4 when it has none)."""
        return parse_time_signature(self.header.get("time_signature", "4/4"))

    @property
    def program(self) -> int:
        """The General MIDI instrument it was played with."""
        return int(self.header.get("program", 0))

    @property
    def duration(self) -> float:
        """Seconds from time 0 to the last end (or start, for a sounding note)."""
        return max((n.end if n.end is not None else n.start for n in self.notes), default=0.0)

    # -- new takes from this one --------------------------------------------------------------------------------
    def copy(self) -> Take:
        """A deep copy (the engine's take keeps changing while it plays)."""
        return Take(dict(self.header), [replace(n) for n in self.notes], self.closed, self.path,
                    [dict(e) for e in self.events], list(self.warnings), dict(self.step_us))

    def ended_at(self, at: float | None = None) -> Take:
        """A copy whose sounding notes end at ``at`` seconds (a nanosecond after their start at the earliest),
        or, without ``at``, :data:`UNFINISHED_NOTE_S` after they start."""
        out = self.copy()
        for n in out.notes:
            if n.end is None:
                n.end = n.start + UNFINISHED_NOTE_S if at is None else max(at, n.start + 1e-9)
        return out

    def recoloured(self, pitches, info: dict) -> Take:
        """This take with new ``pitches``: same starts, ends, velocities and locks; ``info`` goes into the
        header. A locked note keeps its pitch whatever ``pitches`` says."""
        out = self.copy()
        out.path = None
        for note, pitch in zip(out.notes, pitches, strict=True):
            if not note.locked:
                note.pitch = int(pitch)
        out.header["recoloured"] = info
        return out

    def kept_pitches(self, chosen=None) -> np.ndarray:
        """The ``fixed`` pitches of a recolouring: -1 for each note to compose again — those at the positions
        ``chosen`` (all when None) that are not locked — and the pitch of every other note."""
        from composer_app.infill import fixed_pitches

        change = np.ones(len(self.notes), dtype=bool)
        if chosen is not None:
            change[:] = False
            change[list(chosen)] = True
        return fixed_pitches([n.pitch for n in self.notes], change, np.array([n.locked for n in self.notes], bool))

    @classmethod
    def from_rhythm(cls, rests, durs, pitch: int = 60, **header) -> Take:
        """A take holding a rhythm's beats (``rests``/``durs`` in seconds), every note ``pitch``."""
        from composer_app.beats import beats_to_onsets

        starts, ends = beats_to_onsets(rests, durs)
        notes = []
        prev_dur = 0.0
        for i, (s, e, r, d) in enumerate(zip(starts, ends, rests, durs, strict=True)):
            notes.append(TakeNote(i, float(s), pitch, 100, max(float(e), float(s) + 1e-3), float(r), prev_dur,
                                  "rhythm"))
            prev_dur = float(d)
        return cls({"format": FORMAT, "program": 0, **header}, notes, closed=True)

    def starting_at_first_note(self) -> Take:
        """This take with time 0 moved to its first note (takes recorded before takes began at their first tap
        carry the wait before it). Changes the take in place and returns it."""
        if not self.notes or self.notes[0].start == 0:
            return self
        shift = min(n.start for n in self.notes)
        for n in self.notes:
            n.start -= shift
            if n.end is not None:
                n.end = max(n.start, n.end - shift)
        self.header["origin"] = ORIGIN_FIRST_NOTE
        return self

    # -- other shapes of the same notes -------------------------------------------------------------------------
    def to_melody(self, now: float | None = None) -> Notes:
        """The notes as :class:`~composer_app.notes.Notes` (velocities included); a sounding note ends at ``now``
        when given, else :data:`UNFINISHED_NOTE_S` after its start."""
        def end(n: TakeNote) -> float:
            if n.end is not None:
                return n.end
            return max(now, n.start) if now is not None else n.start + UNFINISHED_NOTE_S

        return Notes(np.array([n.start for n in self.notes], dtype=np.float64),
                     np.array([end(n) for n in self.notes], dtype=np.float64),
                     np.array([n.pitch for n in self.notes], dtype=np.int64), self.velocities())

    def velocities(self) -> np.ndarray:
        """MIDI velocities of the notes (int, 1-127)."""
        return np.array([n.velocity for n in self.notes], dtype=np.int64)

    def rhythm(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rests, durs)`` of the notes in seconds, as the offline models see them."""
        return self.to_melody().rests_and_durations()

    def contour(self) -> np.ndarray:
        """Direction of each note from the one before (+1 up, -1 down, 0 same; 0 for the first note)."""
        return contour_of([n.pitch for n in self.notes])

    def asked_contour(self) -> np.ndarray:
        """Per note the direction its key asked for (a steer key, a MIDI key's height), else the one the played
        pitches took: the line a recolouring is steered along."""
        played = self.contour()
        return np.array([played[i] if n.direction is None else n.direction for i, n in enumerate(self.notes)],
                        dtype=np.int64)

    def export_midi(self, path, **options) -> Path:
        """Write a MIDI file (:func:`composer_app.export.write_midi`; options ``program``, ``tempo_bpm``,
        ``time_signature``, ``quantize`` ...), by default in the instrument, tempo and metre played."""
        from composer_app.export import write_midi

        options.setdefault("program", self.program)
        options.setdefault("tempo_bpm", self.tempo_bpm)
        options.setdefault("time_signature", self.time_signature)
        return write_midi(path, self.to_melody(), **options)

    # -- the saved document -------------------------------------------------------------------------------------
    def to_document(self) -> dict:
        """The ``.ectake`` JSON document."""
        return {"header": {**self.header, "format": FORMAT}, "events": self.events,
                "notes": [n.to_record(self.step_us.get(n.index, 0.0)) for n in self.notes]}

    @classmethod
    def from_document(cls, doc: dict, path: Path | None = None) -> Take:
        """A take from its ``.ectake`` document; UserError when the document is not one."""
        try:
            if not isinstance(doc.get("notes"), list) or not isinstance(doc.get("header"), dict):
                raise ValueError("it has no list of notes under a header")
            notes = [TakeNote.from_record(n) for n in doc["notes"]]
            step_us = {note.index: step_us_of(record) for note, record in zip(notes, doc["notes"], strict=True)}
            header = dict(doc["header"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise UserError(f"{path} is not a valid take file: {exc}") from None
        events = doc.get("events", [])
        events = [dict(e) for e in events if isinstance(e, dict)] if isinstance(events, list) else []
        return cls(header, notes, closed=True, path=path, events=events, step_us=step_us)


def check_format(path, header: dict) -> None:
    """UserError unless ``header`` names the take format this version reads."""
    fmt = str(header.get("format", ""))
    if not fmt.startswith(FORMAT_FAMILY):
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
