"""How many CPU threads a job gets.

Steps run on one torch thread (live, the audio callback needs the other core, and two
threads gave 4-40 ms tails). Generating a whole rhythm from the command line has the machine to itself:
there the largest single piece of work, the offline models' bidirectional encoder over the whole rhythm,
splits over the cores (:func:`models.kernels.split_threads`: 40 -> 20 ms for ``lstm_attn``); every other
operation stays on one thread (a few rows at a time: split, they cost more in hand-offs than they save).

NumPy's BLAS (OpenBLAS) keeps a thread pool of its own. Beside torch's OpenMP threads, still spinning
after a split operation, the two pools fight for the same cores, so NumPy's BLAS runs one thread
meanwhile: it only ever multiplies a few rows here, where a second thread buys nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np  # noqa: F401  (loaded before the scan below, which must see its BLAS)
import torch
from threadpoolctl import ThreadpoolController

from models.kernels import split_threads


@cache
def _blas_pools():
    """The BLAS libraries loaded in this process (the scan takes milliseconds: done once)."""
    return ThreadpoolController().select(user_api="blas")


@contextmanager
def whole_rhythm_threads(threads: int) -> Iterator[None]:
    """For the duration: torch on one thread except the encoders (on ``threads``), NumPy's BLAS on one.
    Torch's setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _blas_pools().limit(limits=1), split_threads(threads):
            yield
    finally:
        torch.set_num_threads(previous)
