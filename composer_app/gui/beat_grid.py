"""Bars and beats on the take's clock, for drawing: a tempo (quarter notes per minute) and a metre.

Bar 1 begins at the take's time 0 (its first tap, or the count-in's downbeat), as in the exported MIDI file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from composer_app.musical_time import TimeSignature, check_tempo, parse_time_signature


@dataclass(frozen=True)
class BeatGrid:
    bpm: float
    metre: TimeSignature = TimeSignature()

    @classmethod
    def of(cls, bpm: float, metre) -> BeatGrid:
        """The grid of ``bpm`` and ``metre`` ('4/4', '3/4', '6/8', ...); UserError for nonsense."""
        return cls(check_tempo(bpm), parse_time_signature(metre))

    @property
    def beats_per_bar(self) -> int:
        return self.metre.numerator

    @property
    def beat_s(self) -> float:
        return self.metre.beat_s(self.bpm)

    @property
    def bar_s(self) -> float:
        return self.metre.bar_s(self.bpm)

    def lines(self, t0: float, t1: float):
        """``(time, bar number from 1, beat in bar from 0)`` of every beat from ``t0`` to ``t1`` (seconds)."""
        k = max(0, math.floor(t0 / self.beat_s))
        while (t := k * self.beat_s) <= t1:
            yield t, k // self.beats_per_bar + 1, k % self.beats_per_bar
            k += 1
