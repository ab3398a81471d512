"""What a melody's pitches look like, as a fixed list of numbers: the input of the two-sample test.

A listener tells a generated line from a tune by what it *does*: how far it leaps and how often, how wide it
ranges, whether it stays in a key, whether it repeats notes, motifs and whole phrases, whether it gets stuck
on one pitch or locks into a short loop, and how it ends. :func:`melody_features` measures each of these on
one melody; :data:`FEATURE_NAMES` says what every number is. The numbers see only pitches in order (real and
generated melodies share their rhythm in the test), and every one is a share, a count of semitones or a
count of pitches, so melodies of different lengths compare.

The loop test (:func:`ends_in_loop`) is also what the app's loop guard (:mod:`composer_app.loop_guard`)
keeps a line from doing.
"""

from __future__ import annotations

import numpy as np

#: Intervals wider than this many semitones count in the outermost bins of the interval histogram.
INTERVAL_CLIP = 12
#: A melody "ends in a loop" when its last LOOP_NOTES notes repeat with a period of at most LOOP_PERIOD notes.
LOOP_NOTES = 16
LOOP_PERIOD = 4
#: Lengths (in notes) of the interval patterns whose repetition is measured: a motif, a bar, a phrase.
PATTERN_NOTES = (3, 4, 6)
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])

FEATURE_NAMES: tuple[str, ...] = (
    *(f"interval_{i:+d}" for i in range(-INTERVAL_CLIP, INTERVAL_CLIP + 1)),  # share of each step (clipped)
    "pitch_range",          # highest minus lowest pitch, semitones
    "distinct_pitches",     # how many different pitches
    "pc_entropy_bits",      # entropy of the pitch-class distribution
    "key_fit",              # share of notes in the best-fitting major or minor scale
    "mean_abs_interval",    # mean leap size, semitones
    "same_pitch_repeats",   # share of steps that repeat the previous pitch
    "leaps_over_fourth",    # share of steps wider than 5 semitones
    *(f"repeated_{n}_note_patterns" for n in PATTERN_NOTES),  # share of n-note interval shapes heard before
    "direction_changes",    # share of consecutive moving steps that turn (up then down or back)
    "longest_run",          # longest run of one pitch, notes
    "loop",                 # 1 when the last 16 notes repeat with a period of at most 4
    "last_minus_first",     # last pitch minus first pitch, semitones
    "ends_on_tonic",        # 1 when the last pitch class is the tonic of the best-fitting scale
    "top_pitch_class",      # share of the most used pitch class
    "top_two_pitch_classes",  # share of the two most used pitch classes
    "pitch_spread",         # standard deviation of the pitches, semitones
)


def repeated_pattern_share(pitches, notes: int) -> float:
    """Share of a melody's ``notes``-note interval patterns that already occurred earlier in the same melody.

    A pattern is the intervals between consecutive notes, so a motif played again in another key counts as
    a repeat; earlier occurrences may overlap the later one. NaN for a melody too short to hold one pattern.
    """
    steps = np.diff(np.asarray(pitches, dtype=np.int64))
    length = notes - 1
    seen: set[tuple[int, ...]] = set()
    repeated = total = 0
    for i in range(len(steps) - length + 1):
        pattern = tuple(steps[i:i + length].tolist())
        repeated += pattern in seen
        total += 1
        seen.add(pattern)
    return repeated / total if total else float("nan")


def shortest_period(tail, max_period: int = LOOP_PERIOD) -> int:
    """The smallest period ``p <= max_period`` with ``tail[i] == tail[i - p]`` throughout, or 0 if none."""
    tail = np.asarray(tail)
    for p in range(1, max_period + 1):
        if len(tail) > p and np.array_equal(tail[p:], tail[:-p]):
            return p
    return 0


def ends_in_loop(pitches, notes: int = LOOP_NOTES, max_period: int = LOOP_PERIOD) -> bool:
    """True when the last ``notes`` pitches repeat with a period of at most ``max_period`` (a line stuck in a
    short cycle: one pitch, two alternating, or a three- or four-note figure over and over)."""
    pitches = np.asarray(pitches)
    return len(pitches) >= notes and shortest_period(pitches[-notes:], max_period) > 0


def best_scale(pitches) -> tuple[int, float]:
    """``(tonic pitch class, share of notes in its scale)`` of the best-fitting major or minor scale."""
    counts = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, minlength=12).astype(float)
    share = counts / max(counts.sum(), 1.0)
    best_tonic, best_fit = 0, -1.0
    for tonic in range(12):
        for scale in (_MAJOR, _MINOR):
            fit = float(share[(tonic + scale) % 12].sum())
            if fit > best_fit + 1e-12:
                best_tonic, best_fit = tonic, fit
    return best_tonic, best_fit


def longest_run(pitches) -> int:
    """The most notes of one pitch in a row."""
    p = np.asarray(pitches)
    if len(p) == 0:
        return 0
    breaks = np.flatnonzero(np.diff(p) != 0)
    edges = np.concatenate([[-1], breaks, [len(p) - 1]])
    return int(np.diff(edges).max())


def melody_features(pitches) -> np.ndarray:
    """The :data:`FEATURE_NAMES` numbers of one melody (at least two notes), as float64."""
    p = np.asarray(pitches, dtype=np.int64)
    if len(p) < 2:
        raise ValueError("a melody needs at least two notes to describe")
    steps = np.diff(p)
    clipped = np.clip(steps, -INTERVAL_CLIP, INTERVAL_CLIP) + INTERVAL_CLIP
    histogram = np.bincount(clipped, minlength=2 * INTERVAL_CLIP + 1) / len(steps)
    pcs = np.bincount(p % 12, minlength=12).astype(float) / len(p)
    nonzero = pcs[pcs > 0]
    tonic, fit = best_scale(p)
    moving = np.sign(steps[steps != 0])
    turns = float((moving[1:] != moving[:-1]).mean()) if len(moving) > 1 else 0.0
    ordered = np.sort(pcs)[::-1]
    patterns = [repeated_pattern_share(p, n) for n in PATTERN_NOTES]
    values = [
        *histogram,
        float(p.max() - p.min()),
        float(len(np.unique(p))),
        float(-(nonzero * np.log2(nonzero)).sum()),
        fit,
        float(np.abs(steps).mean()),
        float((steps == 0).mean()),
        float((np.abs(steps) > 5).mean()),
        *(0.0 if np.isnan(x) else x for x in patterns),
        turns,
        float(longest_run(p)),
        float(ends_in_loop(p)),
        float(p[-1] - p[0]),
        float(p[-1] % 12 == tonic),
        float(ordered[0]),
        float(ordered[:2].sum()),
        float(p.std()),
    ]
    return np.asarray(values, dtype=np.float64)


def feature_matrix(melodies) -> np.ndarray:
    """One row of :func:`melody_features` per melody of two notes or more (shorter ones are left out)."""
    rows = [melody_features(m) for m in melodies if len(m) >= 2]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
