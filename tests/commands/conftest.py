"""Fixtures shared by the command tests."""

import numpy as np
import pytest


@pytest.fixture
def ckpt(tiny_checkpoint):
    """A tiny untrained offline lstm_attn checkpoint (generation needs a model, not a good one)."""
    return tiny_checkpoint("lstm_attn", "offline")


@pytest.fixture
def rhythm_file(tmp_path):
    """A factory writing a seeded random rhythm as a ``.npy`` file: ``rhythm_file(rests, durations, n)`` ->
    ``(path, array (n, 2))`` with each rest and duration drawn from the given choices."""

    def write(rests, durations, n: int, name: str = "beats.npy"):
        rng = np.random.default_rng(0)
        arr = np.stack([rng.choice(rests, n), rng.choice(durations, n)], 1)
        path = tmp_path / name
        np.save(path, arr)
        return path, arr

    return write
