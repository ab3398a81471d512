"""Turning tunes into training batches, under two recipes.

* ``original`` reproduces the original project: per epoch one random window of ``seq_len`` notes per tune,
  tunes shorter than the window dropped, raw-second features, no augmentation.
* ``ours`` uses every note of every tune: each tune is cut into windows at a random offset every epoch;
  a tune shorter than the window is used whole. Windows are batched with others of the *same length*, so
  there is no padding at all (padding would leak into a bidirectional encoder). Each window is augmented
  with a random tempo (time-scaling) and transposition, because tapped timing is human and a player's
  melody has no fixed key.

A window that starts inside a tune keeps the tune's real previous pitch and previous duration as context; only
a tune's first note has the start token 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from composer_app.beats import FeatureSpec, beats_for_kind
from composer_app.notes import Notes


@dataclass
class Tune:
    rests: np.ndarray  # (n,) seconds
    durs: np.ndarray  # (n,) seconds
    pitches: np.ndarray  # (n,) int64

    @classmethod
    def from_notes(cls, notes: Notes) -> Tune:
        return cls(*notes.rests_and_durations(), notes.pitches.copy())

    def __len__(self) -> int:
        return len(self.pitches)


@dataclass
class Augment:
    tempo_min: float = 0.6
    tempo_max: float = 1.7
    tempo_prob: float = 0.8
    transpose: int = 5
    transpose_prob: float = 0.5


def _window_arrays(tune: Tune, lo: int, hi: int, kind: str, feats: FeatureSpec, rng, aug: Augment | None):
    rests = tune.rests[lo:hi].copy()
    prev_dur = tune.durs[lo - 1] if lo > 0 else 0.0
    durs = tune.durs[lo:hi].copy()
    pitches = tune.pitches[lo:hi].copy()
    prev_pitch = tune.pitches[lo - 1] if lo > 0 else 0
    if aug is not None:
        if rng.random() < aug.tempo_prob:
            scale = float(np.exp(rng.uniform(np.log(aug.tempo_min), np.log(aug.tempo_max))))
            rests *= scale
            durs *= scale
            prev_dur *= scale
        if aug.transpose and rng.random() < aug.transpose_prob:
            shift = int(rng.integers(-aug.transpose, aug.transpose + 1))
            if pitches.min() + shift >= 1 and pitches.max() + shift <= 127:
                pitches += shift
                if prev_pitch:
                    prev_pitch += shift
    beats = beats_for_kind(kind, rests, durs)
    if kind == "live":
        beats[0, 1] = prev_dur
    prev = np.concatenate([[prev_pitch], pitches[:-1]])
    return feats.apply(beats), prev, pitches


def epoch_windows(tunes: list[Tune], seq_len: int, recipe: str, rng: np.random.Generator):
    """``(tune index, lo, hi)`` spans for one epoch under ``recipe``."""
    spans = []
    for i, tune in enumerate(tunes):
        n = len(tune)
        if recipe == "original":
            if n >= seq_len:
                lo = int(rng.integers(0, n - seq_len + 1))
                spans.append((i, lo, lo + seq_len))
        elif n <= seq_len:
            spans.append((i, 0, n))
        else:
            offset = int(rng.integers(0, seq_len))
            starts = list(range(offset - seq_len, n, seq_len))
            for lo in starts:
                lo, hi = max(lo, 0), min(lo + seq_len, n)
                if hi - lo >= 2:
                    spans.append((i, lo, hi))
    return spans


def plan_batches(tunes, seq_len, batch_size, recipe, rng) -> list[list[tuple[int, int, int]]]:
    """One epoch's batches of ``(tune index, lo, hi)`` spans, in training order; every batch holds windows of
    one length, so an epoch has more batches than ``ceil(windows / batch_size)``: ``len()`` of this list is
    the real count (the learning-rate schedule and the progress bar go by it)."""
    spans = epoch_windows(tunes, seq_len, recipe, rng)
    by_len = defaultdict(list)
    for span in spans:
        by_len[span[2] - span[1]].append(span)
    batches = []
    for group in by_len.values():
        order = rng.permutation(len(group))
        for k in range(0, len(group), batch_size):
            batches.append([group[j] for j in order[k:k + batch_size]])
    return [batches[b] for b in rng.permutation(len(batches))]


def batch_tensors(tunes, batch, kind, feats, rng, augment: Augment | None):
    """``(beats, prev_notes, targets)`` tensors for one planned batch (augmented with ``rng``)."""
    arrays = [_window_arrays(tunes[i], lo, hi, kind, feats, rng, augment) for i, lo, hi in batch]
    beats = torch.from_numpy(np.stack([a[0] for a in arrays])).float()
    prev = torch.from_numpy(np.stack([a[1] for a in arrays])).long()
    target = torch.from_numpy(np.stack([a[2] for a in arrays])).long()
    return beats, prev, target


def iterate_batches(tunes, seq_len, batch_size, kind, feats, recipe, rng, augment: Augment | None):
    """Yield ``(beats, prev_notes, targets)`` tensors for one epoch; every batch holds windows of one length."""
    for batch in plan_batches(tunes, seq_len, batch_size, recipe, rng):
        yield batch_tensors(tunes, batch, kind, feats, rng, augment)

