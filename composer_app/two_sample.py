"""Can a classifier tell generated melodies from real ones? A two-sample test on melody features.

Averages can match while every single melody gives itself away, so the test asks the sharper question: a
gradient-boosted classifier (scikit-learn's :class:`~sklearn.ensemble.HistGradientBoostingClassifier`) learns
to tell the two sets apart from :func:`composer_app.melody_features.melody_features`, and its 5-fold
cross-validated accuracy is the score. 0.5: it cannot tell them apart; 1.0: every melody gives itself away.

The figure has a floor that is not 0.5: two samples of *real* tunes differ too, by chance and by style. So
the same test is run between two random halves of the real set (:func:`real_vs_real`) and reported beside it.
Both numbers are noisy on small sets (about ±0.03 at 500 melodies a side): compare them at the same size.
"""

from __future__ import annotations

import numpy as np

FOLDS = 5


def classifier_accuracy(first: np.ndarray, second: np.ndarray, seed: int = 0, folds: int = FOLDS) -> float:
    """Cross-validated accuracy at telling feature rows ``first`` (n, F) from ``second`` (m, F).

    The two sets are cut to the same size (a random subset of the larger one) so that 0.5 is chance; each
    fold trains on the others and is scored on itself, stratified so every fold holds both sets.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    size = min(len(first), len(second))
    if size < folds:
        raise ValueError(f"a two-sample test needs at least {folds} melodies on each side, not {size}")
    first = first[rng.permutation(len(first))[:size]]
    second = second[rng.permutation(len(second))[:size]]
    x = np.concatenate([first, second])
    y = np.concatenate([np.zeros(size, dtype=int), np.ones(size, dtype=int)])
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One thread: a few hundred rows gain nothing from OpenMP, and its threads spin against any other work
    # on the machine (a test took minutes instead of a second beside one busy process).
    with threadpool_limits(1):
        return float(cross_val_score(make_classifier(size, seed), x, y, cv=splits, scoring="accuracy").mean())


def make_classifier(size: int, seed: int = 0):
    """The test's classifier for ``size`` melodies a side. Leaves of at least 20 melodies (scikit-learn's
    default) where the sets are large; small sets need smaller leaves or the trees cannot split at all (and the
    test would always say "cannot tell")."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                          min_samples_leaf=min(20, max(2, size // 10)), random_state=seed)


def real_vs_real(real: np.ndarray, seed: int = 0) -> float:
    """The same test between two random halves of the real melodies: how far from 0.5 chance alone goes."""
    order = np.random.default_rng(seed + 1).permutation(len(real))
    half = len(real) // 2
    return classifier_accuracy(real[order[:half]], real[order[half:2 * half]], seed=seed)
