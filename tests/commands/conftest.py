"""Fixtures shared by the command tests."""

import pytest
import torch

import models
from composer_app.beats import FeatureSpec
from composer_app.checkpoints import save_checkpoint


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A tiny untrained offline lstm_attn checkpoint (generation needs a model, not a good one)."""
    torch.manual_seed(0)
    model = models.build("lstm_attn", hidden_dim=16, kind="offline")
    path = tmp_path_factory.mktemp("ck") / "tiny.pt"
    save_checkpoint(path, model, "lstm_attn", "offline", FeatureSpec())
    return path
