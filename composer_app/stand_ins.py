"""Untrained models of the shipped sizes: for benchmarks, tests, and a stand-in while a shipped model is missing.

Their sizes are the training config's ``[shipped.*]`` tables, so this module, not :mod:`composer_app.checkpoints`,
is where loading models meets the training recipe.
"""

from __future__ import annotations

import torch

import models
from composer_app.beats import FeatureSpec
from composer_app.checkpoints import LoadedModel, default_checkpoint, load_checkpoint


def untrained_shipped_size(architecture: str, kind: str, seed: int = 0) -> LoadedModel:
    """An untrained model of the shipped size (``[shipped.<arch>]`` in the training config, and its
    ``[shipped.<arch>.<kind>]`` sub-table where the kinds ship at different sizes).

    It costs exactly what the trained one costs per step, but its pitches are noise.
    """
    from composer_app.training.config import load_config, model_config

    cfg = load_config(architecture, "ours", "shipped", kind=kind)
    torch.manual_seed(seed)
    model = models.build(architecture, **model_config(architecture, cfg, kind)).eval()
    return LoadedModel(model, architecture, kind, FeatureSpec(), "(untrained, shipped size)")


def shipped_or_untrained(architecture: str, kind: str) -> tuple[LoadedModel, bool]:
    """The shipped model, or an untrained one of the shipped size; ``(model, is_shipped)`` so callers can say
    which they measured."""
    path = default_checkpoint(architecture, kind)
    if path.exists():
        return load_checkpoint(path, architecture, kind), True
    return untrained_shipped_size(architecture, kind), False
