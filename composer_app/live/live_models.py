"""Which model plays live: the shipped live checkpoints, a user's file, or (benchmarks only) an untrained one.

Kept apart from the engine so the GUI can list and load models without touching sound.
"""

from __future__ import annotations

from pathlib import Path

import models
from composer_app import stand_ins
from composer_app.beats import LIVE
from composer_app.checkpoints import LoadedModel, default_checkpoint, load_checkpoint
from composer_app.errors import UserError

DEFAULT_ARCHITECTURE = "lstm_attn"


def load_live_model(spec: str | Path | LoadedModel = DEFAULT_ARCHITECTURE) -> LoadedModel:
    """A live model from an architecture name (its shipped ``checkpoints/<arch>_live.pt``), a checkpoint path,
    or an already loaded model.

    Raises
    ------
    UserError
        The shipped checkpoint is missing (with how to make it), the file is not a checkpoint, or the model is
        an offline one (it needs the whole rhythm up front, so it cannot play live).
    """
    if isinstance(spec, LoadedModel):
        if spec.kind != LIVE:
            raise UserError(f"{spec.label} cannot play live: it needs the whole rhythm up front. Choose a live model.")
        return spec
    if isinstance(spec, str) and spec in models.ARCHITECTURES:
        path = default_checkpoint(spec, LIVE)
        if not path.exists():
            raise UserError(
                f"no shipped live model for {models.LABELS[spec]}: {path} is missing. Train it with "
                f"`everybody-compose train -m {spec} --live --preset shipped --ship`, or choose a checkpoint file.")
        return load_checkpoint(path, spec, LIVE)
    return load_checkpoint(spec, kind=LIVE)


def untrained_live_model(architecture: str, seed: int = 0) -> LoadedModel:
    """An untrained live model of the shipped size (benchmarks and tests before any checkpoint is shipped)."""
    return stand_ins.untrained_shipped_size(architecture, LIVE, seed)


def shipped_or_untrained(architecture: str) -> tuple[LoadedModel, bool]:
    """The shipped live model if there is one, else an untrained one of its size; ``(model, is_shipped)``."""
    return stand_ins.shipped_or_untrained(architecture, LIVE)
