"""Thread settings for whole-rhythm generation: set for the job, restored after, and results unchanged."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from composer_app.compute import whole_rhythm_threads
from composer_app.sampling import SamplingSettings, generate
from models.kernels import split_count

from .test_sampling import DURS, RESTS


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_whole_rhythm_threads_splits_only_the_large_work_and_restores_everything():
    previous_torch, previous_blas = torch.get_num_threads(), blas_threads()
    torch.set_num_threads(2)
    try:
        with whole_rhythm_threads(2):
            assert torch.get_num_threads() == 1  # every operation on one thread...
            assert split_count() == 2  # ...and the encoders' two directions at once
            assert all(n == 1 for n in blas_threads())  # NumPy's OpenBLAS here; none found elsewhere is fine
        assert torch.get_num_threads() == 2 and blas_threads() == previous_blas
        assert split_count() == 1
        with pytest.raises(KeyError), whole_rhythm_threads(2):
            raise KeyError("a failed generation")
        assert torch.get_num_threads() == 2 and blas_threads() == previous_blas and split_count() == 1
    finally:
        torch.set_num_threads(previous_torch)


@pytest.mark.parametrize("strategy", ["stochastic", "beam"])
def test_generation_on_two_threads_gives_the_same_melody(tiny_model, strategy):
    """lstm_attn at its shipped size with float16-exact weights (as shipped): its encoder runs on two threads,
    which must not change a seeded melody."""
    loaded = tiny_model("lstm_attn", "offline", hidden_dim=384)
    with torch.no_grad():
        for p in loaded.model.parameters():
            p.copy_(p.half().float())
    settings = SamplingSettings(strategy=strategy, num_beams=5, beam_prob=0.5)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = generate(loaded, RESTS, DURS, settings, seed=3)
        with whole_rhythm_threads(2):
            two = generate(loaded, RESTS, DURS, settings, seed=3)
    finally:
        torch.set_num_threads(previous)
    assert np.array_equal(one, two)
