import numpy as np
import pytest

from composer_app.loop_guard import LoopGuard


def _played(guard: LoopGuard, pitches) -> LoopGuard:
    for p in pitches:
        guard.push(np.atleast_1d(np.asarray(p)))
    return guard


def _uniform(rows: int = 1) -> np.ndarray:
    return np.full((rows, 128), -np.log(128), dtype=np.float32)


@pytest.mark.parametrize("line,banned", [
    ([60, 62] * 5 + [60], [60, 62]),  # 11 notes of a 2-cycle: the 12th may not continue it (nor stay on 2)
    ([60, 64, 67] * 3 + [60, 64], [67]),  # a 3-note figure
    ([55, 57, 59, 60] * 2 + [55, 57, 59], [60]),  # a 4-note figure
    ([70] * 11, [70]),  # one pitch
])
def test_a_cycle_may_not_reach_the_guard_length(line, banned):
    guard = _played(LoopGuard(12), line)
    assert np.flatnonzero(guard.banned()[0]).tolist() == banned
    logp = guard.apply_(_uniform())
    assert np.isinf(logp[0, banned]).all() and np.exp(logp[0]).sum() == pytest.approx(1.0, abs=1e-5)


def banned(guard: LoopGuard) -> list[list[int]]:
    return [np.flatnonzero(row).tolist() for row in guard.banned()]


def test_a_phrase_or_a_broken_cycle_is_left_alone():
    assert banned(_played(LoopGuard(12), [60, 62] * 5 + [64])) == [[]]
    assert banned(_played(LoopGuard(12), [60, 62, 64, 65, 67] * 3)) == [[]]  # period 5: a phrase
    assert banned(_played(LoopGuard(12), [60, 62] * 4)) == [[]]  # not yet long enough
    off = _played(LoopGuard(0), [60] * 30)
    assert banned(off) == [[]] and off.apply_(_uniform())[0, 60] > -np.inf


def test_a_line_collapsed_onto_two_pitches_must_find_a_third():
    guard = _played(LoopGuard(12), [72, 72, 77, 77, 72, 77, 77, 72, 72, 77, 72])
    assert banned(guard) == [[72, 77]]
    logp = guard.apply_(_uniform())
    assert np.isinf(logp[0, [72, 77]]).all() and np.exp(logp[0]).sum() == pytest.approx(1.0, abs=1e-5)
    assert banned(_played(LoopGuard(12), [72, 72, 77, 77, 72, 77, 79, 72, 72, 77, 72])) == [[]]


def test_runs_of_one_pitch_are_capped():
    assert banned(_played(LoopGuard(0, max_run=4), [67, 60, 60, 60, 60])) == [[60]]
    assert banned(_played(LoopGuard(0, max_run=4), [60, 60, 60, 62])) == [[]]


def test_rows_follow_their_own_lines_and_reorder():
    guard = _played(LoopGuard(5, rows=2), [[60, 60], [62, 61], [60, 65], [62, 67]])
    assert banned(guard) == [[60, 62], []]  # row 0 has used two pitches only
    guard.reorder(np.array([1, 1]))
    assert banned(guard) == [[], []]


def test_a_row_whose_only_pitch_is_banned_keeps_it():
    guard = _played(LoopGuard(4), [60, 60, 60])
    only = np.full((1, 128), -np.inf, dtype=np.float32)
    only[0, 60] = 0.0
    assert guard.apply_(only.copy())[0, 60] == 0.0


def test_three_pitches_may_not_fill_twenty_notes():
    line = [69, 70, 72, 72, 70, 69, 72, 72, 70, 72, 69, 70, 72, 72, 72, 70, 69, 72, 70]  # 19 notes, 3 pitches
    assert banned(_played(LoopGuard(12), line)) == [[69, 70, 72]]
    assert banned(_played(LoopGuard(12), [67] + line[1:])) == [[]]  # a fourth pitch in the window


def test_the_quick_check_never_hides_a_refusal():
    rng = np.random.default_rng(0)
    for _ in range(600):
        notes, max_run, rows = int(rng.choice([0, 4, 8, 12])), int(rng.choice([0, 1, 2, 4])), int(rng.choice([1, 3]))
        guard = LoopGuard(notes, rows=rows, max_run=max_run)
        pool = rng.choice(np.arange(55, 80), size=int(rng.integers(2, 8)), replace=False)
        for _ in range(int(rng.integers(0, 30))):
            guard.push(rng.choice(pool, size=rows))
            if guard.active and guard._free_to_go():
                assert not guard._rules().any()
