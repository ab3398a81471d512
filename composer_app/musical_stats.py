"""Musical sense, measured: simple statistics of a melody's pitches, for generated and real melodies alike.

Likelihood says how well a model predicts; these say whether what it *plays* looks like music: how wide
it ranges, how many pitch classes it uses and how evenly, whether it stays in a key, how far it leaps,
how often it repeats a note, and how often it brings back a motif it played before. Each statistic is
computed per melody and averaged.
"""

from __future__ import annotations

import numpy as np

from composer_app.rhythm import rhythm_from_notes

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
STATS = ("pitch_range", "pitch_classes", "pc_entropy_bits", "scale_consistency", "mean_abs_interval",
         "repeat_rate", "repeated_patterns")
#: Notes in a motif for :func:`repeated_pattern_share` (its shape is the ``MOTIF_NOTES - 1`` intervals).
MOTIF_NOTES = 4


def repeated_pattern_share(pitches, notes: int = MOTIF_NOTES) -> float:
    """Share of a melody's ``notes``-note interval patterns that already occurred earlier in the same melody.

    A pattern is the intervals between consecutive notes (3 for 4 notes), so a motif played again in another
    key counts as a repeat; earlier occurrences may overlap the later one. NaN for a melody too short to hold
    one pattern. Tunes repeat and vary their own phrases: a model that forgets them repeats less than they do.
    """
    steps = np.diff(np.asarray(pitches, dtype=int))
    length = notes - 1
    seen: set[tuple[int, ...]] = set()
    repeated = total = 0
    for i in range(len(steps) - length + 1):
        pattern = tuple(steps[i:i + length].tolist())
        repeated += pattern in seen
        total += 1
        seen.add(pattern)
    return repeated / total if total else float("nan")


def melody_stats(pitches) -> dict:
    p = np.asarray(pitches, dtype=int)
    pcs = np.bincount(p % 12, minlength=12).astype(float)
    dist = pcs / max(pcs.sum(), 1)
    nz = dist[dist > 0]
    best = 0.0
    for tonic in range(12):
        for scale in (MAJOR, MINOR):
            best = max(best, float(dist[(tonic + scale) % 12].sum()))
    steps = np.diff(p)
    return {
        "pitch_range": float(p.max() - p.min()) if len(p) else 0.0,
        "pitch_classes": float((pcs > 0).sum()),
        "pc_entropy_bits": float(-(nz * np.log2(nz)).sum()),
        "scale_consistency": best,
        "mean_abs_interval": float(np.abs(steps).mean()) if len(steps) else 0.0,
        "repeat_rate": float((steps == 0).mean()) if len(steps) else 0.0,
        "repeated_patterns": repeated_pattern_share(p),
    }


def average_stats(melodies_pitches) -> dict:
    """Each statistic averaged over the melodies of two notes or more that define it (NaN when none does)."""
    rows = [melody_stats(p) for p in melodies_pitches if len(p) >= 2]
    out = {}
    for k in STATS:
        values = [r[k] for r in rows if not np.isnan(r[k])]
        out[k] = float(np.mean(values)) if values else float("nan")
    return out


def compare_generated(loaded, melodies, profile: str = "default", seed: int = 0, max_melodies: int = 200) -> dict:
    """Generate a melody for the rhythm of each real melody; statistics of both side by side."""
    from composer_app.sampling import generate, settings_from_profile

    settings = settings_from_profile(profile)
    real, generated = [], []
    for i, notes in enumerate(melodies[:max_melodies]):
        notes = np.asarray(notes)
        rests, durs = rhythm_from_notes(notes)
        generated.append(generate(loaded, rests, durs, settings, seed=seed + i))
        real.append(notes[np.argsort(notes[:, 0], kind="stable"), 2].astype(int))
    return {"profile": profile, "melodies": len(real), "generated": average_stats(generated),
            "real": average_stats(real)}


def format_comparison(result: dict) -> str:
    lines = [f"  musical statistics over {result['melodies']} melodies (profile {result['profile']}):",
             f"    {'statistic':20s} {'generated':>10s} {'real':>10s}"]
    for k in STATS:
        lines.append(f"    {k:20s} {result['generated'][k]:10.3f} {result['real'][k]:10.3f}")
    return "\n".join(lines)
