"""The within-tune short-term baseline: probabilities computed by hand on tiny melodies, and its mix weight."""

import numpy as np
import pytest

from composer_app import short_term as stm

U = 1 / 128  # the uniform share of one pitch


def test_hand_computed_probabilities_of_an_alternating_tune():
    probs, longest = stm.predictions([60, 62, 60, 62, 60])
    # Notes 0-2: no context seen before (the order-1 context 62 and the order-2 context 60 62 are new at note 2).
    for i in range(3):
        assert probs[i] == pytest.approx(np.full(128, U))
    # Note 3 (62): order 1, context 60, was followed once by 62: 1/(1+1), escape 1/2 to the uniform.
    assert probs[3, 62] == pytest.approx(1 / 2 + 1 / 2 * U)
    assert probs[3, 60] == pytest.approx(1 / 2 * U)
    # Note 4 (60): order 3 (62 60 62) unseen; order 2 (60 62) -> {60: 1}: 1/2, escape 1/2;
    # order 1 (62) -> {60: 1}: 1/2 of the 1/2 left, escape 1/4; then 1/4 spread over 128 pitches.
    assert probs[4, 60] == pytest.approx(1 / 2 + 1 / 4 + 1 / 4 * U)
    assert probs[4, 62] == pytest.approx(1 / 4 * U)
    assert list(longest) == [0, 0, 0, 1, 2]
    assert probs.sum(1) == pytest.approx(np.ones(5))


def test_an_order_with_several_followers_shares_by_count_and_escapes_by_distinct():
    probs, longest = stm.predictions([60, 62, 60, 64, 60, 62])
    # Note 4 (60): contexts 64 / 60 64 / 62 60 64 never seen: uniform.
    assert probs[4] == pytest.approx(np.full(128, U))
    # Note 5 (62): order 2 (64 60) unseen; order 1 (60) -> {62: 1, 64: 1}: total 2, distinct 2,
    # so 1/4 each and escape 2/4 to the uniform.
    assert probs[5, 62] == pytest.approx(1 / 4 + 1 / 2 * U)
    assert probs[5, 64] == pytest.approx(1 / 4 + 1 / 2 * U)
    assert probs[5, 61] == pytest.approx(1 / 2 * U)
    assert longest[5] == 1


def test_the_longest_context_comes_first_and_counts_repeat():
    model = stm.ShortTermModel()
    for p in [60, 62, 64, 60, 62, 64, 60, 62]:
        model.update(p)
    probs, longest = model.predict()
    # Order 3 (64 60 62) -> {64: 1}: 1/2, escape 1/2; order 2 (60 62) -> {64: 2}: 2/3 of 1/2, escape 1/6;
    # order 1 (62) -> {64: 2}: 2/3 of 1/6, escape 1/18; uniform 1/18 over 128.
    assert longest == 3
    assert probs[64] == pytest.approx(1 / 2 + 1 / 3 + 1 / 9 + 1 / 18 * U)
    assert probs.sum() == pytest.approx(1.0)


def test_mix_weight_grows_with_the_matched_order_up_to_one_half():
    assert list(stm.mix_weight([0, 1, 2, 3])) == pytest.approx([0, 1 / 6, 1 / 3, 1 / 2])
    model = np.full((2, 128), U)
    short = np.zeros((2, 128))
    short[:, 60] = 1.0
    mixed = stm.mixed_probabilities(model, short, np.array([0, 3]))
    assert mixed[0] == pytest.approx(model[0])  # nothing matched: the model alone
    assert mixed[1, 60] == pytest.approx(0.5 * U + 0.5)
    assert mixed.sum(1) == pytest.approx([1.0, 1.0])
