"""Inference kernels for per-beat steps: few-row dense layers, the LSTM cell's pointwise part, cached plans.

A live step multiplies one row (a beam search five) by each weight matrix: the work is reading the weights,
and on CPUs the fp32 BLAS path for so few rows is slow (MKL's small-``m`` GEMM reaches a third of what the
hardware does on the AMD machines we measured). FBGEMM's fp16-weight GEMM reads half the bytes and
accumulates in fp32: for weights that are *exactly* representable in fp16 — every shipped checkpoint is
stored in float16 — it computes the same products as fp32 (to rounding of the accumulation order), about
2x faster. :class:`Dense` packs a weight that way only when the packing loses nothing, and otherwise (a
freshly trained model, an original-format checkpoint in fp32, a torch without FBGEMM) uses ``F.linear``.

:class:`PlanCache` keeps the derived tensors of a model (packed weights, tables folded from embeddings);
every ``start()`` rebuilds them if a parameter changed since (training, ``load_state_dict``), so a sequence
never steps on stale weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F


def _fbgemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines and hasattr(torch, "fbgemm_linear_fp16_weight")


FBGEMM = _fbgemm_available()
# The two FBGEMM functions carry a deprecation notice in torch 2.x; the project pins torch, and Dense falls
# back to F.linear where they are missing. Filtered once here: a catch_warnings per call costs microseconds.
warnings.filterwarnings("ignore", message=r"fbgemm_\w+ is deprecated", category=UserWarning)


def fp16_exact(weight: Tensor) -> bool:
    """True when every entry of ``weight`` survives a round trip through float16 unchanged."""
    return bool(torch.equal(weight.to(torch.float16).to(weight.dtype), weight))


class Dense:
    """``y = x W^T + b`` for a few rows ``x`` (B, in), with weights packed for that case when it is lossless
    (``allow_fp16=False`` forces the plain fp32 path). Calling it takes rows; :meth:`apply` any leading shape."""

    def __init__(self, weight: Tensor, bias: Tensor | None = None, allow_fp16: bool = True):
        weight = weight.detach().float().contiguous()
        self.bias = None if bias is None else bias.detach().float().contiguous()
        self.out_features, self.in_features = weight.shape
        self.packed = None
        if allow_fp16 and FBGEMM and weight.numel() and fp16_exact(weight):
            try:
                self.packed = torch.fbgemm_pack_gemm_matrix_fp16(weight)
            except RuntimeError:  # a CPU FBGEMM does not support
                self.packed = None
        # The fp32 matrix is kept only for the F.linear path: a packed one would be a second copy of the weights.
        self.weight = weight if self.packed is None else None
        # FBGEMM wants a bias tensor: a zero one stands in for none.
        self._fbgemm_bias = self.bias if self.bias is not None else torch.zeros(self.out_features)

    def __call__(self, rows: Tensor) -> Tensor:
        if self.packed is None:
            return F.linear(rows, self.weight, self.bias)
        return torch.fbgemm_linear_fp16_weight(rows, self.packed, self._fbgemm_bias)

    def apply(self, x: Tensor) -> Tensor:
        """For ``x`` of any leading shape (..., in), e.g. a whole rhythm's encoder outputs."""
        y = self(x.reshape(-1, self.in_features).contiguous())
        return y.reshape(*x.shape[:-1], self.out_features)

    @classmethod
    def of(cls, linear: nn.Linear) -> Dense:
        return cls(linear.weight, linear.bias)


def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """The pointwise part of an LSTM cell (PyTorch gate order i, f, g, o): new ``(h, c)`` from pre-activations.

    Done in NumPy on views of the same memory: for a few rows the work is a dozen tiny elementwise
    operations, and NumPy dispatches each in about half the time torch does (~9 vs ~16 us per cell).
    ``sigmoid(x) = (tanh(x/2) + 1) / 2``.
    """
    hidden = c.shape[-1]
    g, c_prev = gates.numpy(), c.numpy()
    s = np.tanh(g * 0.5)
    s *= 0.5
    s += 0.5
    c_new = s[:, hidden:2 * hidden] * c_prev
    c_new += s[:, :hidden] * np.tanh(g[:, 2 * hidden:3 * hidden])
    h = np.tanh(c_new)
    h *= s[:, 3 * hidden:]
    return torch.from_numpy(h), torch.from_numpy(c_new)


def recurrent_dense(rnn: nn.LSTM | nn.RNN, suffix: str = "_l0") -> Dense:
    """One direction of an ``nn.LSTM``/``nn.RNN`` layer as a single Dense over ``[x; h]`` (both biases):
    one matrix read and one call per step instead of two."""
    w = torch.cat([getattr(rnn, "weight_ih" + suffix), getattr(rnn, "weight_hh" + suffix)], dim=1)
    return Dense(w, getattr(rnn, "bias_ih" + suffix) + getattr(rnn, "bias_hh" + suffix))


class PlanCache:
    """An inference plan derived from a module's parameters, refreshed when a sequence starts.

    :meth:`refresh` (called by every model's ``start()``) rebuilds the plan when a parameter changed since
    the last build: its object, storage or version counter (bumped by every in-place update: optimiser
    steps, ``load_state_dict``, ``.copy_``; ``.to()``/``.half()`` change the storage). Steps then read
    :attr:`plan` without checking (a check costs microseconds a beat): weights changed in the middle of a
    sequence take effect from the next ``start()``.
    """

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


class BeatEncoderCell:
    """A dense layer on the beat (2 numbers) feeding a one-direction LSTM, folded into one cell for steps.

    ``W_ih (W_fc x + b_fc) + b = (W_ih W_fc) x + (W_ih b_fc + b)``: the beat meets a ``4H x 2`` matrix
    instead of ``H x 2`` followed by ``4H x H``.
    """

    def __init__(self, fc: nn.Linear, lstm: nn.LSTM):
        w_ih = lstm.weight_ih_l0
        self.beat_weight = (w_ih @ fc.weight).t().contiguous().numpy()  # (2, 4H)
        self.hidden = Dense(lstm.weight_hh_l0, w_ih @ fc.bias + lstm.bias_ih_l0 + lstm.bias_hh_l0)

    def __call__(self, beat: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        gates = self.hidden(h)
        gates.numpy()[:] += beat.numpy() @ self.beat_weight
        return lstm_update(gates, c)


def scratch(local, shape: tuple[int, ...]) -> Tensor:
    """A float32 work buffer of ``shape`` kept in ``local`` (a ``threading.local``): reused while the shape
    stays, so a step does not allocate (and page-fault) megabytes; per thread, so concurrent
    generations with one model never share it."""
    buf = getattr(local, "buffer", None)
    if buf is None or buf.shape != shape:
        buf = local.buffer = torch.empty(shape)
    return buf


def relu_mix_and_hidden(table: Tensor, prev_pitch: Tensor, mixed: Tensor, h: Tensor) -> Tensor:
    """The decoder LSTM's input ``[relu(table[prev] + mixed); h]`` (B, X + H): a table row per previous
    pitch plus the context's share (``mixed`` (B or 1, X)), then the hidden state. In place on the looked-up
    rows: under inference mode these few torch calls cost less than building the array in NumPy."""
    x = table.index_select(0, prev_pitch)
    x += mixed
    return torch.cat((x.relu_(), h), 1)


def embedding_table(embedding: nn.Embedding, linear: nn.Linear, columns: slice) -> Tensor:
    """``linear`` applied to every embedding row, for the input columns the embedding feeds (plus the bias):
    a (num_notes, out) table, so a step looks a row up instead of multiplying."""
    return (embedding.weight @ linear.weight[:, columns].t() + linear.bias).contiguous()
