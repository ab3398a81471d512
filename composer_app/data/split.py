"""Train / validation / test split by tune, with duplicate tunes always on the same side.

Folk collections repeat themselves: the same tune appears in two collections, or twice in one, often in
another key or written in other note values. A random split would put copies on both sides and make
validation scores flattering. So each tune gets a :func:`fingerprint` that ignores key and tempo (pitch
intervals, and onset gaps and durations relative to the tune's median gap), and its split is a hash of the
fingerprint and the seed (:func:`split_of`): identical fingerprints always land in the same split, and the
split of a tune never depends on which other tunes were loaded.
"""

from __future__ import annotations

import hashlib

import numpy as np

from composer_app.notes import Notes

SPLITS = ("train", "valid", "test")
DEFAULT_FRACTIONS = (0.9, 0.05, 0.05)
#: Rhythm is compared on a grid of 1/12 of the median gap between onsets (covers triplets and dotted notes).
RHYTHM_GRID = 12


def fingerprint(notes: Notes) -> str:
    """Key- and tempo-independent identity of a melody (hex digest).

    Transposed copies, and copies written in doubled or halved note values, get the same fingerprint.
    """
    intervals = np.diff(notes.pitches)
    starts, ends = notes.starts, notes.ends
    gaps = np.diff(starts)
    positive = gaps[gaps > 1e-9]
    unit = float(np.median(positive)) if len(positive) else max(float(np.median(ends - starts)), 1e-9)
    gap_q = np.rint(gaps / unit * RHYTHM_GRID).astype(np.int64)
    dur_q = np.rint((ends - starts) / unit * RHYTHM_GRID).astype(np.int64)
    h = hashlib.blake2b(digest_size=16)
    for part in (intervals, gap_q, dur_q):
        h.update(part.astype("<i8").tobytes())
        h.update(b"|")
    return h.hexdigest()


def check_fractions(fractions) -> tuple[float, float, float]:
    """Validate ``(train, valid, test)`` fractions: three non-negative numbers, normalised to sum 1."""
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(f < 0 for f in fr) or sum(fr) <= 0:
        raise ValueError(
            f"split fractions must be three non-negative numbers (train, valid, test), got {fractions!r}"
        )
    total = sum(fr)
    return fr[0] / total, fr[1] / total, fr[2] / total


def split_of(fp: str, seed: int = 0, fractions=DEFAULT_FRACTIONS) -> str:
    """Which split a fingerprint belongs to, for a given seed: a stable hash, not a random draw."""
    train, valid, _ = check_fractions(fractions)
    digest = hashlib.blake2b(f"{int(seed)}\0{fp}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0**64
    if u < train:
        return "train"
    if u < train + valid:
        return "valid"
    return "test"


def assign_splits(melodies, seed: int = 0, fractions=DEFAULT_FRACTIONS) -> list[str]:
    """Split name for each melody (a :class:`~composer_app.notes.Notes`), in order."""
    fractions = check_fractions(fractions)
    return [split_of(fingerprint(m), seed, fractions) for m in melodies]
