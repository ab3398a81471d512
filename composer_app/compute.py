"""How many CPU threads a job gets.

The live path runs one torch thread (DESIGN.md section 3: the audio callback needs the other core, and two
threads gave 4-40 ms tails). Generating a whole rhythm from the command line has the machine to itself:
there the bidirectional encoder and the decoder's large products (:class:`models.kernels.Dense`) split over
torch's threads, about 1.2x faster for ``lstm_attn`` on two cores (bench generate).

NumPy's BLAS (OpenBLAS) keeps a thread pool of its own. Beside torch's busy OpenMP threads the two pools
fight for the same cores: ``attention_rnn``, whose step multiplies its attention scores in NumPy, ran 1.5x
slower with two threads each. So while torch runs several threads, NumPy's BLAS runs one: it only ever
multiplies a few rows here, where a second thread buys nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np  # noqa: F401  (loaded before the scan below, which must see its BLAS)
import torch
from threadpoolctl import ThreadpoolController


@cache
def _blas_pools():
    """The BLAS libraries loaded in this process (the scan takes milliseconds: done once)."""
    return ThreadpoolController().select(user_api="blas")


@contextmanager
def whole_rhythm_threads(threads: int) -> Iterator[None]:
    """Torch on ``threads`` threads and NumPy's BLAS on one, for the duration; both restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        with _blas_pools().limit(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)
