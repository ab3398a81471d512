"""Bars and beats on the take's clock, for drawing: a tempo in quarter notes per minute and a metre.

As in MIDI files, the tempo counts quarter notes; a beat is one unit of the metre's denominator (an eighth in
6/8), and bar 1 begins at the take's time 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

METRES = {"4/4": (4, 4), "3/4": (3, 4), "6/8": (6, 8)}


@dataclass(frozen=True)
class BeatGrid:
    bpm: float
    beats_per_bar: int = 4
    beat_unit: int = 4
    origin_s: float = 0.0

    def __post_init__(self):
        if not (self.bpm > 0 and math.isfinite(self.bpm)):
            raise ValueError(f"tempo must be a positive number of beats per minute, not {self.bpm}")

    @classmethod
    def of(cls, bpm: float, metre: str, origin_s: float = 0.0) -> BeatGrid:
        """The grid of ``bpm`` and a metre named as in :data:`METRES` ('4/4', '3/4', '6/8')."""
        if metre not in METRES:
            raise ValueError(f"unknown time signature {metre!r}: choose one of {', '.join(METRES)}")
        beats, unit = METRES[metre]
        return cls(float(bpm), beats, unit, origin_s)

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm * 4.0 / self.beat_unit

    @property
    def bar_s(self) -> float:
        return self.beat_s * self.beats_per_bar

    def lines(self, t0: float, t1: float):
        """``(time, bar number from 1, beat in bar from 0)`` of every beat from ``t0`` to ``t1`` (seconds)."""
        first = max(0, math.floor((t0 - self.origin_s) / self.beat_s))
        k = first
        while True:
            t = self.origin_s + k * self.beat_s
            if t > t1:
                return
            yield t, k // self.beats_per_bar + 1, k % self.beats_per_bar
            k += 1
