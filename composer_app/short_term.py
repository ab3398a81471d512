"""The within-tune short-term model: a baseline that remembers what followed short contexts earlier in a melody.

Tunes repeat and vary their own phrases. This untrained predictor (IDyOM's "short-term model", Pearce 2005)
counts, for each note, which pitches followed the same previous 1, 2 and 3 pitches earlier in the same
melody, and blends the orders PPM-C style (Cleary & Witten): from the longest order down, an order whose
context was seen before adds ``count / (total + distinct)`` to each pitch it saw follow, and passes on
``distinct / (total + distinct)`` as escape to the next order; what escapes every order is spread uniformly
over the 128 pitches. An order whose context was never seen passes everything on.

``evaluate --baselines`` scores it alone and mixed into a model's distribution with weight
``0.5 * min(1, longest matched order / 3)`` (:func:`mixed_probabilities`), so a learned melody memory can be
judged against this cheap trick. It is a baseline for comparison, not part of the models.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

MAX_ORDER = 3
NUM_PITCHES = 128
#: The weight of the short-term model in the mix when its longest order matched.
MAX_MIX_WEIGHT = 0.5


class ShortTermModel:
    """Counts of what followed each context of 1..``max_order`` pitches so far in one melody."""

    def __init__(self, max_order: int = MAX_ORDER, num_pitches: int = NUM_PITCHES):
        self.max_order = max_order
        self.num_pitches = num_pitches
        self.history: list[int] = []
        self.counts: dict[tuple[int, ...], Counter] = defaultdict(Counter)

    def predict(self) -> tuple[np.ndarray, int]:
        """Probabilities of the next pitch ``(num_pitches,)`` and the longest order whose context was seen."""
        probs = np.zeros(self.num_pitches)
        escape = 1.0
        longest = 0
        for order in range(min(self.max_order, len(self.history)), 0, -1):
            followers = self.counts.get(tuple(self.history[-order:]))
            if not followers:
                continue
            longest = max(longest, order)
            total, distinct = sum(followers.values()), len(followers)
            for pitch, count in followers.items():
                probs[pitch] += escape * count / (total + distinct)
            escape *= distinct / (total + distinct)
        probs += escape / self.num_pitches
        return probs, longest

    def update(self, pitch: int) -> None:
        """Record that ``pitch`` followed each context of the melody so far, then append it."""
        for order in range(1, min(self.max_order, len(self.history)) + 1):
            self.counts[tuple(self.history[-order:])][pitch] += 1
        self.history.append(int(pitch))


def predictions(pitches, max_order: int = MAX_ORDER, num_pitches: int = NUM_PITCHES) -> tuple[np.ndarray, np.ndarray]:
    """For each note of a melody, the short-term model's distribution given the notes before it.

    Returns ``(probs (n, num_pitches), longest (n,))``: the first note's distribution is uniform.
    """
    model = ShortTermModel(max_order, num_pitches)
    n = len(pitches)
    probs = np.empty((n, num_pitches))
    longest = np.zeros(n, dtype=np.int64)
    for i, pitch in enumerate(pitches):
        probs[i], longest[i] = model.predict()
        model.update(int(pitch))
    return probs, longest


def mix_weight(longest, max_order: int = MAX_ORDER) -> np.ndarray:
    """The short-term model's share of the mix: ``0.5 * min(1, longest / max_order)`` (0 when nothing matched)."""
    return MAX_MIX_WEIGHT * np.minimum(1.0, np.asarray(longest, dtype=np.float64) / max_order)


def mixed_probabilities(model_probs, short_term_probs, longest) -> np.ndarray:
    """``(1 - w) p_model + w p_short_term`` per note, with ``w`` from :func:`mix_weight`."""
    w = mix_weight(longest)[:, None]
    return (1.0 - w) * np.asarray(model_probs, dtype=np.float64) + w * short_term_probs
