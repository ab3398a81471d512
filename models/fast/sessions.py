"""Whole-rhythm sessions: a known rhythm decoded beat by beat for a batch of rows (beams), state in place.

Sampling and beam search over a whole rhythm use a :class:`Session`. A model's fast path may offer its own
(precomputing what depends on the rhythm alone, keeping its buffers in place); :class:`StepSession` runs any
model's fast ``start``/``step`` instead. Sessions give the same scores as steps (tested).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from models.streaming import repeat_state, select_state


class Session(Protocol):
    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        """Scores (B, num_notes) of the next beat, given each row's previous pitch (B,). The caller may
        overwrite the returned array."""
        ...

    def reorder(self, rows: np.ndarray) -> None:
        """Row ``i`` continues from what row ``rows[i]`` was (beam search keeping, copying, dropping beams)."""
        ...


class RhythmSession:
    """Base of the dedicated sessions: counts the beats of a rhythm ``length`` beats long."""

    def __init__(self, length: int):
        self.length = length
        self.t = 0

    def next_beat(self) -> int:
        """The index of the beat to decode now (and move on), or IndexError past the rhythm's end."""
        t = self.t
        if t >= self.length:
            raise IndexError(f"stepped past the end of the rhythm ({self.length} beats)")
        self.t = t + 1
        return t


class StepSession(RhythmSession):
    """Any steps' ``start``/``step`` as a :class:`Session`, for models and kinds without a dedicated one."""

    def __init__(self, steps, beats: Tensor, batch_size: int):
        super().__init__(beats.shape[1])
        self.steps = steps
        self.state = repeat_state(steps.start(1, beats=beats), batch_size)
        self.beats = beats[0].unsqueeze(1).expand(-1, batch_size, beats.shape[2]).unbind(0)  # (B, 2) views

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        beat = self.beats[self.next_beat()]
        logits, self.state = self.steps.step(self.state, beat, torch.from_numpy(prev_pitch))
        return logits.numpy()

    def reorder(self, rows: np.ndarray) -> None:
        self.state = select_state(self.state, torch.from_numpy(rows))
