"""Fixtures shared by the command tests."""

import pytest


@pytest.fixture
def ckpt(tiny_checkpoint):
    """A tiny untrained offline lstm_attn checkpoint (generation needs a model, not a good one)."""
    return tiny_checkpoint("lstm_attn", "offline")
