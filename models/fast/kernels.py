"""The building blocks of the fast path: few-row dense products, the LSTM cell's pointwise part, folded
weights, and the cache that keeps a model's derived weights until its parameters change.

A live step multiplies one row (a beam search five) by each weight matrix, and the rest of a step is a dozen
elementwise operations on a few hundred numbers. At that size the cost is the call, not the arithmetic, and
NumPy dispatches an operation several times faster than torch: so steps run on NumPy arrays (views of the
same memory as a state's tensors) in fp32, except the products with large matrices (see :class:`Dense`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

#: From this many weights (1 MB in fp32) a few-row product is limited by reading the matrix, not by arithmetic.
HALF_MIN_WEIGHTS = 1 << 18


class Dense:
    """``y = x W^T + b`` for a few NumPy rows ``x`` (B, in) -> (B, out).

    A large matrix whose weights are exactly representable in fp16 (every shipped checkpoint is stored in
    fp16) is kept in fp16 for FBGEMM's fp16-weight product, which reads half the bytes and accumulates in
    fp32: the same products to the rounding of the accumulation order, and the offline lstm_attn's Recolour
    in well under half the time (docs/performance.md). Other weights, or a torch without FBGEMM, stay fp32.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None):
        weight = weight.detach().float()
        self.out_features, self.in_features = weight.shape
        self.bias = None if bias is None else bias.detach().float().contiguous().numpy()
        self.half = _pack_half(weight) if weight.numel() >= HALF_MIN_WEIGHTS else None
        self.matrix = weight.t().contiguous().numpy() if self.half is None else None
        self._half_bias = torch.from_numpy(self.bias) if self.bias is not None else torch.zeros(self.out_features)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if self.half is not None:
            x = torch.from_numpy(np.ascontiguousarray(rows))
            return torch.fbgemm_linear_fp16_weight(x, self.half, self._half_bias).numpy()
        y = rows @ self.matrix
        if self.bias is not None:
            y += self.bias
        return y

    def apply(self, x: Tensor) -> Tensor:
        """For a tensor ``x`` of any leading shape (..., in), e.g. a whole rhythm's encoder outputs."""
        rows = x.detach().reshape(-1, self.in_features).float().contiguous().numpy()
        return torch.from_numpy(self(rows)).reshape(*x.shape[:-1], self.out_features)

    @classmethod
    def of(cls, linear: nn.Linear) -> Dense:
        return cls(linear.weight, linear.bias)


def _pack_half(weight: Tensor) -> Tensor | None:
    """``weight`` packed for FBGEMM's fp16-weight product, or None where that would change the numbers (not
    fp16-exact) or FBGEMM is missing. The functions' one-time deprecation notices are taken here, silently,
    by one call."""
    if not torch.equal(weight.half().float(), weight) or "fbgemm" not in torch.backends.quantized.supported_engines:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            packed = torch.fbgemm_pack_gemm_matrix_fp16(weight.contiguous())
            torch.fbgemm_linear_fp16_weight(weight.new_zeros(1, weight.shape[1]), packed,
                                                     weight.new_zeros(weight.shape[0]))
    except (RuntimeError, AttributeError):  # a CPU or a torch build without it
        return None
    return packed


def sigmoid_gates_first(w: Tensor) -> Tensor:
    """The rows of an LSTM weight or bias reordered from PyTorch's gate order (i, f, g, o) to (i, f, o, g):
    the three sigmoid gates side by side, so a step applies one sigmoid to one block."""
    i, f, g, o = w.chunk(4, 0)
    return torch.cat([i, f, o, g], 0)


def lstm_update(gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pointwise part of an LSTM cell: new ``(h, c)`` from the pre-activations (B, 4H) in the gate order
    of :func:`sigmoid_gates_first` and the cell (B, H). One vectorised ``torch.sigmoid`` for the three sigmoid
    gates, the rest in NumPy."""
    hidden = c.shape[-1]
    s = torch.sigmoid(torch.from_numpy(gates[:, :3 * hidden])).numpy()
    cell_input = np.tanh(gates[:, 3 * hidden:])
    c_new = s[:, hidden:2 * hidden] * c
    cell_input *= s[:, :hidden]
    c_new += cell_input
    h = np.tanh(c_new)
    h *= s[:, 2 * hidden:]
    return h, c_new


def recurrent_weights(rnn: nn.LSTM | nn.RNN, suffix: str = "_l0") -> tuple[Tensor, Tensor]:
    """One direction of an ``nn.LSTM``/``nn.RNN`` layer as one weight over ``[x; h]`` and one bias (both
    biases summed): one product per step instead of two."""
    w = torch.cat([getattr(rnn, "weight_ih" + suffix), getattr(rnn, "weight_hh" + suffix)], dim=1)
    return w, getattr(rnn, "bias_ih" + suffix) + getattr(rnn, "bias_hh" + suffix)


def lstm_dense(lstm: nn.LSTM) -> Dense:
    """:func:`recurrent_weights` of an LSTM as a :class:`Dense` whose outputs come in :func:`lstm_update`'s
    gate order."""
    return Dense(*(sigmoid_gates_first(w) for w in recurrent_weights(lstm)))


def affine_rows(weight: Tensor, bias: Tensor) -> np.ndarray:
    """``[W^T; b]`` (in + 1, out) in fp32: for input rows that end in a 1, one product gives ``x W^T + b``
    and can be written straight into a caller's buffer (``np.matmul(..., out=)``)."""
    return torch.cat([weight.detach().t(), bias.detach()[None]], 0).float().contiguous().numpy()


def embedding_table(embedding: nn.Embedding, linear: nn.Linear, columns: slice) -> np.ndarray:
    """``linear`` applied to every embedding row, for the input columns the embedding feeds (plus the bias):
    a (num_notes, out) table, so a step looks a row up instead of multiplying."""
    return (embedding.weight @ linear.weight[:, columns].t() + linear.bias).detach().float().contiguous().numpy()


def fold_beat_layer(fc: nn.Linear, w_ih: Tensor, b_ih: Tensor) -> tuple[Tensor, Tensor]:
    """A dense layer on the beat (2 numbers) folded into the LSTM input weights it feeds:
    ``W_ih (W_fc b + b_fc) + b_ih = (W_ih W_fc) b + (W_ih b_fc + b_ih)``."""
    return w_ih @ fc.weight, w_ih @ fc.bias + b_ih


def scratch(local, shape: tuple[int, ...]) -> Tensor:
    """A float32 work buffer of ``shape`` kept in ``local`` (a ``threading.local``): reused while the shape
    stays, so a step does not allocate megabytes; per thread, so concurrent generations never share it."""
    buf = getattr(local, "buffer", None)
    if buf is None or buf.shape != shape:
        buf = local.buffer = torch.empty(shape)
    return buf


class PlanCache:
    """An inference plan derived from a module's parameters, rebuilt by :meth:`refresh` when a parameter
    changed since the last build (its object, storage or version counter, which every in-place update bumps:
    optimiser steps, ``load_state_dict``). Steps read :attr:`plan` without checking: weights changed in the
    middle of a sequence take effect from the next start."""

    def __init__(self, build: Callable[[nn.Module], Any]):
        self._build = build
        self._key: tuple | None = None
        self.plan: Any = None

    def refresh(self, module: nn.Module) -> Any:
        params = tuple(module.parameters())
        if any(p.device.type != "cpu" for p in params):
            raise ValueError("per-beat steps run on the CPU: move the model there first (model.cpu())")
        key = tuple((id(p), p.data_ptr(), p._version) for p in params)
        if key != self._key:
            with torch.no_grad():
                self.plan = self._build(module)
            self._key = key
        return self.plan
