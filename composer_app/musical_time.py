"""Musical time: tempo, metre and the quantize grid, in seconds and quarter notes.

A tempo is quarter notes per minute, as MIDI files and DAWs count it, whatever the metre (6/8 at 120 BPM has
six eighth notes of 0.25 s in a bar). Time 0 of a take is bar 1 beat 1. Quantizing moves note times onto a grid
for export only: a take always keeps the timing that was played.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass

import numpy as np

from composer_app.clock import ns_to_s, s_to_ns
from composer_app.errors import UserError

MIN_BPM = 10.0
MAX_BPM = 400.0
DEFAULT_BPM = 120.0
#: The metres offered in the app; :func:`parse_time_signature` accepts any n/d with d a power of two up to 32.
TIME_SIGNATURES = ("4/4", "3/4", "6/8")
#: Quantize grids: name -> step in quarter notes (``"off"`` keeps the played timing).
GRIDS = {"off": None, "1/8": 0.5, "1/16": 0.25, "1/8t": 1.0 / 3.0}
_GRID_ALIASES = {"none": "off", "": "off", "1/8 triplets": "1/8t", "1/8 triplet": "1/8t", "1/8triplets": "1/8t"}


def check_tempo(bpm) -> float:
    """``bpm`` as a float, or a UserError saying the range it must be in."""
    try:
        value = float(bpm)
    except (TypeError, ValueError):
        raise UserError(f"tempo must be a number of beats per minute, not {bpm!r}") from None
    if not MIN_BPM <= value <= MAX_BPM:
        raise UserError(f"tempo must be between {MIN_BPM:g} and {MAX_BPM:g} BPM, not {shown(bpm)}")
    return value


def shown(value, most: int = 24) -> str:
    """``value`` as a message shows it: a 5,000-digit number from a damaged file is cut short, not echoed."""
    if value is None:
        return "no value"
    text = value if isinstance(value, str) else repr(value) if isinstance(value, int | float) else type(value).__name__
    if isinstance(value, int) and abs(value) > 10**most:  # repr of a huge int would be slow and long
        return "a number of more than 24 digits"
    return text if len(text) <= most else f"{text[:most]}… ({len(text)} characters)"


@dataclass(frozen=True)
class TimeSignature:
    """A metre: ``numerator`` beats of note value ``1/denominator`` in a bar."""

    numerator: int = 4
    denominator: int = 4

    def __post_init__(self):
        parts = (self.numerator, self.denominator)
        if not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in parts) \
                or not 1 <= self.numerator <= 32 or self.denominator not in (1, 2, 4, 8, 16, 32):
            raise UserError(f"not a time signature: {shown(self.numerator)}/{shown(self.denominator)} "
                            "(try 4/4, 3/4, 6/8)")
        object.__setattr__(self, "numerator", int(self.numerator))  # NumPy integers become plain ones
        object.__setattr__(self, "denominator", int(self.denominator))

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def beat_quarters(self) -> float:
        """Length of one counted beat (the denominator's note value) in quarter notes."""
        return 4.0 / self.denominator

    @property
    def bar_quarters(self) -> float:
        return self.numerator * self.beat_quarters

    def beat_s(self, bpm: float) -> float:
        return self.beat_quarters * 60.0 / bpm

    def bar_s(self, bpm: float) -> float:
        return self.bar_quarters * 60.0 / bpm


def parse_time_signature(value) -> TimeSignature:
    """``"3/4"``, ``(3, 4)`` or a :class:`TimeSignature` -> :class:`TimeSignature`; a UserError for anything else
    (``["x", 4]``, nested lists, infinities, 5,000 digits: what a damaged take header may hold)."""
    if isinstance(value, TimeSignature):
        return value
    if isinstance(value, tuple | list) and len(value) == 2:
        return TimeSignature(*value)
    m = re.fullmatch(r"\s*(\d{1,3})\s*/\s*(\d{1,3})\s*", value) if isinstance(value, str) else None
    if not m:
        raise UserError(f"not a time signature: {shown(value)} (try 4/4, 3/4, 6/8)")
    return TimeSignature(int(m.group(1)), int(m.group(2)))


def parse_grid(value) -> str:
    """A quantize grid's name (``off``, ``1/8``, ``1/16``, ``1/8t``) from what a user typed."""
    name = _GRID_ALIASES.get(str(value if value is not None else "off").strip().lower(),
                             str(value).strip().lower() if value is not None else "off")
    if name not in GRIDS:
        raise UserError(f"unknown quantize grid {value!r}; choose one of {', '.join(GRIDS)}")
    return name


def grid_step_s(grid: str, bpm: float) -> float | None:
    """Seconds between grid lines of ``grid`` at ``bpm`` (None for ``off``)."""
    quarters = GRIDS[parse_grid(grid)]
    return None if quarters is None else quarters * 60.0 / check_tempo(bpm)


def quantize(starts, ends, bpm: float, grid: str) -> tuple[np.ndarray, np.ndarray]:
    """Note starts and ends moved onto ``grid`` at ``bpm`` (time 0 is a grid line), for a monophonic line.

    Each start goes to its nearest grid line; two notes that land on the same line are kept apart by moving the
    later one to the next line. Each end goes to its nearest line, lasts at least one step, and never overlaps
    the next note. ``off`` returns copies of the played times.
    """
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    step = grid_step_s(grid, bpm)
    if step is None or starts.size == 0:
        return starts.copy(), ends.copy()
    order = np.argsort(starts, kind="stable")
    k_start = np.rint(starts[order] / step).astype(np.int64)
    for i in range(1, k_start.size):
        k_start[i] = max(k_start[i], k_start[i - 1] + 1)
    k_end = np.maximum(np.rint(ends[order] / step).astype(np.int64), k_start + 1)
    k_end[:-1] = np.minimum(k_end[:-1], k_start[1:])
    q_start = np.empty_like(starts)
    q_end = np.empty_like(ends)
    q_start[order] = k_start * step
    q_end[order] = k_end * step
    return q_start, q_end


class TapTempo:
    """Tempo from tapped beats: the median interval of the last few taps (a pause starts over)."""

    def __init__(self, taps: int = 4, reset_after_s: float = 2.0):
        self.taps = max(2, int(taps))
        self.reset_after_ns = s_to_ns(reset_after_s)
        self._times: list[int] = []

    def tap(self, t_ns: int) -> float | None:
        """Record a tap at ``t_ns`` (nanoseconds); returns the tempo in BPM once two taps are in, else None."""
        if self._times and not 0 < t_ns - self._times[-1] <= self.reset_after_ns:
            self._times.clear()
        self._times = [*self._times[-(self.taps - 1):], int(t_ns)]
        if len(self._times) < 2:
            return None
        interval_s = ns_to_s(float(np.median(np.diff(self._times))))
        return float(np.clip(60.0 / interval_s, MIN_BPM, MAX_BPM))
