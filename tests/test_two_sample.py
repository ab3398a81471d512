import numpy as np
import pytest

from composer_app.melody_features import feature_matrix
from composer_app.two_sample import classifier_accuracy, real_vs_real


def _walks(rng, count, steps, length=40):
    """Random walks over ``steps`` from a random start: one "style" of melody."""
    return [np.cumsum(np.concatenate([[rng.integers(55, 70)], rng.choice(steps, length - 1)])) for _ in range(count)]


def test_one_style_cannot_be_told_from_itself_and_two_styles_can():
    rng = np.random.default_rng(0)
    tunes = feature_matrix(_walks(rng, 160, [-2, -1, 0, 1, 2]))
    same = feature_matrix(_walks(rng, 160, [-2, -1, 0, 1, 2]))
    leaps = feature_matrix(_walks(rng, 160, [-7, -5, 0, 5, 7]))
    assert classifier_accuracy(tunes, same) < 0.65
    assert classifier_accuracy(tunes, leaps) > 0.95
    assert real_vs_real(tunes) < 0.65


def test_the_sets_are_evened_out_and_the_figure_reproduces():
    rng = np.random.default_rng(1)
    a = feature_matrix(_walks(rng, 200, [-2, 0, 2]))
    b = feature_matrix(_walks(rng, 60, [-2, 0, 2]))
    # 200 vs 60 would let "always say the larger set" score 0.77: the larger set is cut to 60 first.
    assert classifier_accuracy(a, b) < 0.7
    assert classifier_accuracy(a, b, seed=3) == classifier_accuracy(a, b, seed=3)


def test_too_few_melodies_is_said():
    tiny = feature_matrix([[60, 62, 64]] * 3)
    with pytest.raises(ValueError, match="at least 5"):
        classifier_accuracy(tiny, tiny)


def test_the_feature_that_gives_a_set_away_is_the_one_whose_shuffling_costs_most():
    """scripts/what_gives_it_away.py: permutation importance names the feature that separates the two sets."""
    import runpy
    from pathlib import Path

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "what_gives_it_away.py"), run_name="script")
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(200, 5)), rng.normal(size=(200, 5))
    generated[:, 3] += 2.0  # only feature 3 tells the sets apart
    falls = script["permutation_importance"](real, generated)
    assert int(np.argmax(falls)) == 3 and falls[3] > 0.2 and np.all(np.delete(falls, 3) < 0.05)
