"""The split is by tune, fixed by the seed, and keeps duplicates (transposed or re-timed copies) together."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from composer_app.data.split import assign_splits, check_fractions, split_of
from composer_app.data.split import fingerprint as notes_fingerprint
from composer_app.notes import Notes


def _random_tunes(n, seed=0):
    rng = np.random.default_rng(seed)
    tunes = []
    for _ in range(n):
        k = int(rng.integers(8, 40))
        durs = rng.choice([0.25, 0.5, 0.75, 1.0], size=k)
        starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
        pitches = 60 + rng.integers(-12, 13, size=k)
        tunes.append(np.stack([starts, starts + durs, pitches], axis=1))
    return tunes


def fingerprint(rows) -> str:
    return notes_fingerprint(Notes.from_rows(rows))


def splits(tunes, seed):
    return assign_splits([Notes.from_rows(t) for t in tunes], seed=seed)


def test_fingerprint_ignores_key_and_tempo_but_not_the_tune():
    tune = _random_tunes(1, seed=3)[0]
    transposed = tune + [0, 0, 5]
    slower = tune * [1.5, 1.5, 1]
    assert fingerprint(tune) == fingerprint(transposed) == fingerprint(slower)
    other_pitch = tune.copy()
    other_pitch[4, 2] += 1
    other_rhythm = tune.copy()
    other_rhythm[4, 1] -= 0.125  # a shorter note (a rest appears)
    assert len({fingerprint(tune), fingerprint(other_pitch), fingerprint(other_rhythm)}) == 3


def test_split_is_deterministic_and_depends_on_seed():
    tunes = _random_tunes(300)
    a = splits(tunes, 0)
    assert a == splits(tunes, 0)
    assert a != splits(tunes, 1)
    # a tune's split does not depend on the other tunes loaded with it
    assert splits(tunes[100:200], 0) == a[100:200]


def test_duplicates_always_land_on_the_same_side():
    tunes = _random_tunes(200)
    copies = [t + [0, 0, 7] for t in tunes]  # transposed copies
    for seed in range(5):
        assert splits(tunes, seed) == splits(copies, seed)


def test_fractions_are_respected():
    fps = [f"{i:08x}" for i in range(20000)]
    counts = Counter(split_of(fp, seed=0) for fp in fps)
    assert counts["train"] / 20000 == pytest.approx(0.90, abs=0.01)
    assert counts["valid"] / 20000 == pytest.approx(0.05, abs=0.006)
    assert counts["test"] / 20000 == pytest.approx(0.05, abs=0.006)
    counts = Counter(split_of(fp, seed=0, fractions=(8, 2, 0)) for fp in fps)
    assert counts["test"] == 0 and counts["valid"] / 20000 == pytest.approx(0.2, abs=0.01)


def test_bad_fractions():
    assert check_fractions((90, 5, 5)) == pytest.approx((0.9, 0.05, 0.05))
    with pytest.raises(ValueError):
        check_fractions((0.9, 0.1))
    with pytest.raises(ValueError):
        check_fractions((1.0, -0.1, 0.1))
