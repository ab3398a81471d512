"""Which melody features let the two-sample classifier tell generated lines from real ones.

    .venv/bin/python scripts/what_gives_it_away.py [--split valid] [--melodies 500] [--models lstm_attn/offline ...]

For each model, a line is generated with the default profile for the rhythm of each real tune (as ``evaluate
--sample`` does); then, per feature of ``composer_app.melody_features``: how much the cross-validated accuracy
falls when that feature is shuffled in the held-out fold (permutation importance, with the classifier of
``composer_app.two_sample``), the accuracy of that feature alone, and its mean over real and generated lines.
The features at the top are where to look next; the lab notebook (docs/what_it_plays.md) quotes a run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer_app.melody_features import FEATURE_NAMES, feature_matrix  # noqa: E402
from composer_app.two_sample import FOLDS, classifier_accuracy, make_classifier  # noqa: E402


def permutation_importance(real: np.ndarray, generated: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mean fall in held-out accuracy when each feature is shuffled, over the folds of the two-sample test."""
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    size = min(len(real), len(generated))
    x = np.concatenate([real[:size], generated[:size]])
    y = np.r_[np.zeros(size, int), np.ones(size, int)]
    rng = np.random.default_rng(seed)
    falls = np.zeros(x.shape[1])
    with threadpool_limits(1):
        for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
            model = make_classifier(size, seed)
            model.fit(x[train], y[train])
            base = model.score(x[test], y[test])
            for f in range(x.shape[1]):
                shuffled = x[test].copy()
                shuffled[:, f] = rng.permutation(shuffled[:, f])
                falls[f] += (base - model.score(shuffled, y[test])) / FOLDS
    return falls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="valid")
    ap.add_argument("--melodies", type=int, default=500)
    ap.add_argument("--models", nargs="+", default=["lstm_attn/offline", "attention_rnn/live"])
    ap.add_argument("--top", type=int, default=8)
    args = ap.parse_args()

    import torch

    from composer_app.checkpoints import default_checkpoint, load_checkpoint
    from composer_app.data.corpus import load_melodies
    from composer_app.musical_stats import generate_for_rhythms, real_pitches
    from composer_app.sampling import settings_from_profile

    torch.set_num_threads(1)
    melodies = [m.notes for m in load_melodies(args.split, progress=False)]
    real = feature_matrix(real_pitches(melodies, args.melodies))
    for spec in args.models:
        arch, kind = spec.split("/")
        loaded = load_checkpoint(default_checkpoint(arch, kind))
        lines = generate_for_rhythms(loaded, melodies, settings_from_profile("default"), 0, args.melodies)
        generated = feature_matrix(lines)
        falls = permutation_importance(real, generated)
        print(f"\n{spec}, {args.split} split, {len(real)} tunes: two-sample {classifier_accuracy(real, generated):.3f}")
        print("| feature | accuracy falls by, shuffled | alone | real mean | generated mean |")
        print("| --- | --- | --- | --- | --- |")
        for f in np.argsort(-falls)[: args.top]:
            alone = classifier_accuracy(real[:, [f]], generated[:, [f]])
            print(f"| {FEATURE_NAMES[f]} | {falls[f]:.3f} | {alone:.3f} | {real[:, f].mean():.3f} | "
                  f"{generated[:, f].mean():.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
