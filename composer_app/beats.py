"""Beats: the rhythm features the models see, and how they are derived from notes.

A melody is a :class:`~composer_app.notes.Notes` (starts, ends and pitches in seconds). The models see
note ``i`` as a *beat*:

* ``rest_i = start_i - end_{i-1}`` (for the first note, ``start_0``), clipped at 0 for overlapping notes;
* ``dur_i = end_i - start_i``.

*Offline* models see ``(rest_i, dur_i)`` for the whole take. *Live* models decide the pitch at key-down,
when ``dur_i`` is not known yet, so they see ``(rest_i, dur_{i-1})`` (``dur_{-1} = 0``). Both go through a
:class:`FeatureSpec` (clamping and scaling) recorded in every checkpoint, so a model is always fed the
features it was trained on. The original project's checkpoints use raw seconds (``FeatureSpec.raw()``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from composer_app.notes import Notes

OFFLINE = "offline"
LIVE = "live"
KINDS = (OFFLINE, LIVE)


def rests_and_durations(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest before each note and each note's duration, in seconds (rests of overlapping notes are 0)."""
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    prev_end = np.concatenate([[0.0], ends[:-1]])
    rests = np.maximum(starts - prev_end, 0.0)
    durs = np.maximum(ends - starts, 0.0)
    return rests, durs


def offline_beats(rests: np.ndarray, durs: np.ndarray) -> np.ndarray:
    """``(rest_i, dur_i)``: what an offline model sees."""
    return np.stack([rests, durs], axis=-1).astype(np.float32)


def live_beats(rests: np.ndarray, durs: np.ndarray) -> np.ndarray:
    """``(rest_i, dur_{i-1})``: all that is known at key-down of note ``i``."""
    prev_durs = np.concatenate([[0.0], np.asarray(durs, dtype=np.float64)[:-1]])
    return np.stack([rests, prev_durs], axis=-1).astype(np.float32)


def beats_for_kind(kind: str, rests: np.ndarray, durs: np.ndarray) -> np.ndarray:
    if kind == OFFLINE:
        return offline_beats(rests, durs)
    if kind == LIVE:
        return live_beats(rests, durs)
    raise ValueError(f"unknown model kind {kind!r} (expected one of {KINDS})")


def melody_to_beats(melody: Notes, kind: str = OFFLINE) -> tuple[np.ndarray, np.ndarray]:
    """Split a melody into raw-second beats for ``kind`` and integer pitches."""
    return beats_for_kind(kind, *melody.rests_and_durations()), melody.pitches


def beats_to_onsets(rests: np.ndarray, durs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`rests_and_durations`: note starts and ends in seconds."""
    rests = np.asarray(rests, dtype=np.float64)
    durs = np.asarray(durs, dtype=np.float64)
    starts = np.empty_like(rests)
    ends = np.empty_like(rests)
    t = 0.0
    for i, (r, d) in enumerate(zip(rests, durs, strict=True)):
        starts[i] = t + r
        ends[i] = starts[i] + d
        t = ends[i]
    return starts, ends


def previous_pitches(pitches: np.ndarray, start_token: int = 0) -> np.ndarray:
    """Teacher-forcing input: the previous pitch, ``start_token`` (0) before the first note."""
    pitches = np.asarray(pitches, dtype=np.int64)
    return np.concatenate([[start_token], pitches[:-1]]).astype(np.int64)


#: Seconds a log-scaled feature counts in, and the longest a rest or note is clamped to: any trained model's values
#: lie far inside; outside, features overflow (log_unit 1e-320) or mean nothing.
LOG_UNIT_RANGE = (1e-3, 60.0)
MAX_SECONDS_RANGE = (1e-2, 3600.0)


@dataclass(frozen=True)
class FeatureSpec:
    """How raw-second beats become model inputs.

    ``max_seconds`` clamps very long rests and durations (a pause to think must not look like nothing the
    model has seen). ``log_scale`` maps ``x`` to ``log1p(x / log_unit)``, which makes tempo changes a shift
    rather than a stretch and keeps short notes apart. ``raw()`` is the original project's convention.
    """

    max_seconds: float | None = 4.0
    log_scale: bool = True
    log_unit: float = 0.05

    @classmethod
    def raw(cls) -> FeatureSpec:
        return cls(max_seconds=None, log_scale=False)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        return cls(**{k: d[k] for k in ("max_seconds", "log_scale", "log_unit") if k in d})

    def problem(self) -> str | None:
        """What makes this spec unusable, in words (None: usable). A ``log_unit`` of 1e-320 is positive but
        ``x / log_unit`` overflows to infinity and the model then plays NaN: the units are held to a range
        where every rhythm gives finite features."""
        if not isinstance(self.log_scale, bool):
            return f"log_scale must be true or false, not {self.log_scale!r}"
        for name, value, (lo, hi) in (("log_unit", self.log_unit, LOG_UNIT_RANGE),
                                      ("max_seconds", self.max_seconds, MAX_SECONDS_RANGE)):
            if name == "max_seconds" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                return f"{name} must be a number of seconds in {lo:g}..{hi:g}, not {value!r}"
        return None

    def apply(self, beats):
        """Transform raw-second beats (numpy array or torch tensor, last axis = 2)."""
        x = beats
        if self.max_seconds is not None:
            x = x.clip(0.0, self.max_seconds)
        if self.log_scale:
            if isinstance(x, np.ndarray):
                x = np.log1p(x / self.log_unit).astype(np.float32)
            else:
                x = (x / self.log_unit).log1p()
        return x
