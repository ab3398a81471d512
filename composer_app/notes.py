"""Notes: the one shape a melody has when it passes from one module to another.

A melody is one note after another: each note's start and end in seconds, its MIDI pitch and its velocity —
pretty_midi's ``Note`` fields, held as four parallel arrays so that beats, features and MIDI files are made from
them in one step. :class:`Notes` keeps them sorted by start and of one length, so no caller sorts a melody
again or wonders which column of a bare array is the pitch. Inside a module a melody may be any array that
suits the work (the corpus cache stores ``(n, 3)`` rows: :meth:`Notes.rows`, :meth:`Notes.from_rows`); what
crosses a module boundary is a :class:`Notes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The velocity of a note whose source says none (a corpus tune, a rhythm file): pretty_midi's usual 100.
DEFAULT_VELOCITY = 100


@dataclass(frozen=True, eq=False)
class Notes:
    """A monophonic melody: ``starts``/``ends`` (float seconds), ``pitches`` and ``velocities`` (int MIDI
    numbers), one entry per note, sorted by start (stable, so notes that start together keep their order).

    Made from anything array-like of equal length; times must be finite. Velocities default to
    :data:`DEFAULT_VELOCITY`. Pitches and velocities are rounded to whole MIDI numbers; their range is the
    caller's to check (a data filter says why it skips a tune, a file check names the bad note)."""

    starts: np.ndarray
    ends: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray | None = None

    def __post_init__(self):
        starts = np.asarray(self.starts, dtype=np.float64).reshape(-1)
        ends = np.asarray(self.ends, dtype=np.float64).reshape(-1)
        pitches = _whole(self.pitches)
        velocities = np.full(len(starts), DEFAULT_VELOCITY, dtype=np.int64) if self.velocities is None \
            else _whole(self.velocities)
        if not len(starts) == len(ends) == len(pitches) == len(velocities):
            raise ValueError(f"a melody needs as many ends, pitches and velocities as starts: {len(starts)} "
                             f"starts, {len(ends)} ends, {len(pitches)} pitches, {len(velocities)} velocities")
        if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
            raise ValueError("melody has NaN or infinite values")
        order = np.argsort(starts, kind="stable")
        for name, values in (("starts", starts), ("ends", ends), ("pitches", pitches), ("velocities", velocities)):
            object.__setattr__(self, name, values[order])

    # -- other shapes in and out ----------------------------------------------------------------------------------
    @classmethod
    def from_rows(cls, rows) -> Notes:
        """Notes from ``(start, end, pitch)`` rows (an ``(n, 3)`` array, a list of triples)."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        return cls(arr[:, 0], arr[:, 1], arr[:, 2])

    @classmethod
    def from_beats(cls, rests, durs, pitches=None) -> Notes:
        """Notes where a rhythm's beats put them (``rests`` before and ``durs`` of each note, in seconds); the
        pitches are 0 until given."""
        from composer_app.beats import beats_to_onsets

        starts, ends = beats_to_onsets(rests, durs)
        return cls(starts, ends, np.zeros(len(starts), dtype=np.int64) if pitches is None else pitches)

    @classmethod
    def empty(cls) -> Notes:
        return cls(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))

    def rows(self) -> np.ndarray:
        """The ``(n, 3)`` float rows ``(start, end, pitch)``, for storage (velocities are left out)."""
        return np.stack([self.starts, self.ends, self.pitches.astype(np.float64)], axis=-1).reshape(-1, 3)

    # -- views --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index) -> Notes:
        """The notes at ``index`` (a slice, a boolean mask or positions), still sorted."""
        if isinstance(index, tuple):
            raise TypeError("Notes are not an (n, 3) array: use .starts, .ends, .pitches or .rows()")
        return Notes(self.starts[index], self.ends[index], self.pitches[index], self.velocities[index])

    def with_pitches(self, pitches) -> Notes:
        """The same rhythm and velocities with other pitches (a recolouring)."""
        return Notes(self.starts, self.ends, pitches, self.velocities)

    def rests_and_durations(self) -> tuple[np.ndarray, np.ndarray]:
        """The rest before each note and each note's length in seconds: the rhythm as the models see it."""
        from composer_app.beats import rests_and_durations

        return rests_and_durations(self.starts, self.ends)

    @property
    def end_time(self) -> float:
        """When the last note ends (0 for no notes)."""
        return float(self.ends.max()) if len(self) else 0.0

    def __eq__(self, other) -> bool:
        """Equal note for note (times exactly)."""
        if not isinstance(other, Notes):
            return NotImplemented
        return len(self) == len(other) and all(np.array_equal(getattr(self, f), getattr(other, f))
                                               for f in ("starts", "ends", "pitches", "velocities"))

    __hash__ = None  # arrays inside: not hashable


def _whole(values) -> np.ndarray:
    """Whole MIDI numbers as int64 (a float pitch from a stored row is rounded, not truncated)."""
    arr = np.asarray(values).reshape(-1)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("melody has NaN or infinite values")
        arr = np.rint(arr)
    return arr.astype(np.int64)
