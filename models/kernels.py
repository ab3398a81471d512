"""Inference kernels for per-beat steps: few-row dense layers, the LSTM cell's pointwise part, cached plans.

A live step multiplies one row (a beam search five) by each weight matrix, and the rest of a step is a
dozen elementwise operations on a few hundred numbers. At that size the cost is the call, not the
arithmetic: NumPy dispatches an operation in about a microsecond, torch in several (``torch.tanh`` on
5 x 1024 numbers takes 15 us, ``np.tanh`` 3), and torch's fp32 GEMM for so few rows (MKL's small-``m`` path)
reaches a third of what OpenBLAS behind NumPy does on the AMD machines we measured. So steps run on NumPy
arrays (views of the same memory as the state's tensors, no copies) and :class:`Dense` multiplies with
NumPy's ``matmul``, except for large matrices: there FBGEMM's fp16-weight GEMM reads half the bytes and
accumulates in fp32, about 1.7x faster for five rows. For weights *exactly* representable in fp16 — every
shipped checkpoint is stored in float16 — that computes the same products (to rounding of the
accumulation order); other weights (a freshly trained model, an original-format checkpoint in fp32) stay
in fp32.

Whole-rhythm generation (sampling and beam search over a known rhythm, offline kinds) may run the decoder's
recurrent matrix — the one product of every beam at every beat — in int8 instead where it is large
(``lstm_attn``'s; :data:`INT8_MIN_WEIGHTS`): :class:`Int8Dense`, FBGEMM's dynamic int8 linear, the kernel
``torch.ao.quantization.quantize_dynamic`` gives ``nn.LSTM``. In fp16/fp32 that product runs at this CPU's
fp32 FMA rate (five rows of 1536 x 768: ~140 us), in int8 in ~50 us, and the shipped model's test NLL moves
in the fourth decimal (README, "Whole-melody generation"). Sessions take it when asked (``int8=True``);
``step()`` and live play never do.

Steps run on one torch thread (live, the audio needs the other core). Within :func:`split_threads` — a
whole rhythm generated with cores to spare — the whole-rhythm encoders run their two directions on two
threads at once. Nothing else splits: at a few rows, a product split over two threads waits ~40 us for the
second one to wake on this VM, and small elementwise operations split over threads cost more in hand-offs.

:class:`PlanCache` keeps the derived arrays of a model (matrices, tables folded from embeddings); every
``start()`` rebuilds them if a parameter changed since (training, ``load_state_dict``), so a sequence
never steps on stale weights.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from models.streaming import RhythmSession


def _fbgemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines and hasattr(torch, "fbgemm_linear_fp16_weight")


FBGEMM = _fbgemm_available()

# The two FBGEMM fp16 functions carry a deprecation notice in torch 2.x, and from 2.13 so does making the
# int8 weight tensor (torch.quantize_per_channel) for Int8Dense; Dense falls back to NumPy and Int8Dense to
# the exact product where they are missing. Filtered once here: a catch_warnings per call costs microseconds.
warnings.filterwarnings("ignore", message=r"fbgemm_\w+ is deprecated", category=UserWarning)
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel",
                        category=UserWarning)


def _int8_linear_op():
    """FBGEMM's dynamic int8 linear, or None in a build without it. The overload itself: calling it skips the
    op packet's overload resolution (a few us a call)."""
    try:
        return torch.ops.quantized.linear_dynamic.default if FBGEMM else None
    except (AttributeError, RuntimeError):
        return None


INT8_LINEAR = _int8_linear_op()

# Below this many weights (1 MB in fp32) the matrix stays in the core's L2 cache and NumPy's fp32 GEMM is
# as fast as FBGEMM's fp16 one or faster; above it, reading half the bytes wins (measured for 1-5 rows).
PACK_MIN_WEIGHTS = 1 << 18
# From this many weights on, the int8 product (Int8Dense) pays over a whole search: with lstm_attn's 1536 x 768
# decoder a 512-beat beam search took 0.77x the time of the exact one; with attention_rnn's 1024 x 512 one,
# whose searches go mostly to attention, 1.02x (a loss): that one stays exact.
INT8_MIN_WEIGHTS = 1 << 20


class _SplitThreads(threading.local):
    count = 1


_SPLIT = _SplitThreads()


@contextmanager
def split_threads(count: int) -> Iterator[None]:
    """Within, in this thread: ``count`` cores are free for this work, so whole-rhythm encoders run their two
    directions at once (:class:`FoldedBeatLSTM`); everything else stays on torch's current setting (one
    thread, in the app and in generation)."""
    previous = _SPLIT.count
    _SPLIT.count = max(1, count)
    try:
        yield
    finally:
        _SPLIT.count = previous


def split_count() -> int:
    """The core count :func:`split_threads` set in this thread (1 outside it)."""
    return _SPLIT.count


@cache
def _second_core() -> ThreadPoolExecutor:
    """One worker thread for the second direction of whole-rhythm encoders (made on first use)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder-direction")


def fp16_exact(weight: Tensor) -> bool:
    """True when every entry of ``weight`` survives a round trip through float16 unchanged."""
    return bool(torch.equal(weight.to(torch.float16).to(weight.dtype), weight))


class Dense:
    """``y = x W^T + b`` for a few NumPy rows ``x`` (B, in) -> (B, out), float32.

    Large fp16-exact weights are packed for FBGEMM (``allow_fp16=False`` forbids it); the rest is a
    transposed fp32 matrix for NumPy. :meth:`apply` takes a tensor of any leading shape (whole sequences).
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None, allow_fp16: bool = True):
        weight = weight.detach().float()
        self.out_features, self.in_features = weight.shape
        self.bias = None if bias is None else bias.detach().float().contiguous().numpy()
        self.packed = None
        if allow_fp16 and FBGEMM and weight.numel() >= PACK_MIN_WEIGHTS and fp16_exact(weight):
            try:
                self.packed = torch.fbgemm_pack_gemm_matrix_fp16(weight.contiguous())
            except RuntimeError:  # a CPU FBGEMM does not support
                self.packed = None
        # No fp32 copy beside a packed matrix; unpacked, the fp32 one transposed (rows @ matrix).
        self.matrix = weight.t().contiguous().numpy() if self.packed is None else None
        # FBGEMM wants a bias tensor: a zero one stands in for none.
        self._fbgemm_bias = torch.from_numpy(self.bias) if self.bias is not None else torch.zeros(self.out_features)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if self.packed is not None:
            x = torch.from_numpy(np.ascontiguousarray(rows))
            return torch.fbgemm_linear_fp16_weight(x, self.packed, self._fbgemm_bias).numpy()
        y = rows @ self.matrix
        if self.bias is not None:
            y += self.bias
        return y

    def apply(self, x: Tensor) -> Tensor:
        """For a tensor ``x`` of any leading shape (..., in), e.g. a whole rhythm's encoder outputs."""
        rows = x.detach().reshape(-1, self.in_features).contiguous().numpy()
        return torch.from_numpy(self(rows)).reshape(*x.shape[:-1], self.out_features)

    @classmethod
    def of(cls, linear: nn.Linear) -> Dense:
        return cls(linear.weight, linear.bias)


class Int8Dense:
    """``y = x W^T + b`` for a few NumPy rows in int8 arithmetic: ``W`` quantized once per output row
    (symmetric, 8 bits), the input rows quantized at each call over their own range, products summed in int32
    and scaled back (FBGEMM's dynamic int8 linear). About 2.8x faster than the fp16-weight GEMM for five rows
    of 1536 x 768, and the weights take a quarter of the fp32 bytes; the numbers differ from the exact product
    by the rounding of both sides (for the shipped ``lstm_attn``: no pitch's probability moves by 0.05 along
    a melody, tested, and its test NLL moved by 0.0004 nats a note).

    The input is quantized to 7 bits (``reduce_range``): on AVX2 CPUs without VNNI, FBGEMM sums pairs of
    8 x 8-bit products in 16 bits, which 8-bit inputs could overflow and 7-bit ones cannot. Build with
    :meth:`of_large`.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None):
        w = weight.detach().float()
        scale = (w.abs().amax(1) / 127).clamp_min(torch.finfo(torch.float32).tiny).double()
        q = torch.quantize_per_channel(w, scale, torch.zeros(len(w), dtype=torch.long), 0, torch.qint8)
        self.packed = torch.ops.quantized.linear_prepack(q, None if bias is None else bias.detach().float())

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return INT8_LINEAR(torch.from_numpy(np.ascontiguousarray(rows)), self.packed, True).numpy()

    @classmethod
    def of_large(cls, weight: Tensor, bias: Tensor | None = None) -> Int8Dense | None:
        """The int8 product of a matrix of at least :data:`INT8_MIN_WEIGHTS` weights, or None: for smaller
        ones it does not pay over a search, and FBGEMM may be missing (non-x86 CPUs)."""
        if INT8_LINEAR is None or weight.numel() < INT8_MIN_WEIGHTS:
            return None
        try:
            return cls(weight, bias)
        except (RuntimeError, AttributeError):  # a CPU FBGEMM does not support; a torch without the functions
            return None


def sigmoid_gates_first(w: Tensor) -> Tensor:
    """The rows of an LSTM weight or bias reordered from PyTorch's gate order (i, f, g, o) to (i, f, o, g):
    the three sigmoid gates side by side, so a step applies one sigmoid to one block."""
    i, f, g, o = w.chunk(4, 0)
    return torch.cat([i, f, o, g], 0)


def lstm_update(gates: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pointwise part of an LSTM cell: new ``(h, c)`` from the pre-activations (B, 4H) in the gate order
    of :func:`sigmoid_gates_first` and the cell (B, H). ``torch.sigmoid`` on the three sigmoid gates at once
    (vectorised: a quarter of the time of NumPy's four-operation sigmoid), the rest in NumPy (``np.tanh`` is
    several times faster than ``torch.tanh`` here)."""
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
    biases summed): one matrix read and one call per step instead of two."""
    w = torch.cat([getattr(rnn, "weight_ih" + suffix), getattr(rnn, "weight_hh" + suffix)], dim=1)
    return w, getattr(rnn, "bias_ih" + suffix) + getattr(rnn, "bias_hh" + suffix)


def lstm_dense(lstm: nn.LSTM, suffix: str = "_l0") -> Dense:
    """:func:`recurrent_weights` of an LSTM as a :class:`Dense` whose outputs come in the gate order
    :func:`lstm_update` takes."""
    return Dense(*(sigmoid_gates_first(w) for w in recurrent_weights(lstm, suffix)))


def lstm_int8(lstm: nn.LSTM, suffix: str = "_l0") -> Int8Dense | None:
    """The same product as :func:`lstm_dense`, in int8 (:meth:`Int8Dense.of_large`: None when small)."""
    return Int8Dense.of_large(*(sigmoid_gates_first(w) for w in recurrent_weights(lstm, suffix)))


def affine_rows(weight: Tensor, bias: Tensor) -> np.ndarray:
    """``[W^T; b]`` (in + 1, out) in fp32: for input rows that end in a 1, one product gives ``x W^T + b``
    and can be written straight into a caller's buffer (``np.matmul(..., out=)``)."""
    return torch.cat([weight.detach().t(), bias.detach()[None]], 0).float().contiguous().numpy()


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


def fold_beat_layer(fc: nn.Linear, w_ih: Tensor, b_ih: Tensor) -> tuple[Tensor, Tensor]:
    """A dense layer on the beat (2 numbers) folded into the LSTM input weights it feeds:
    ``W_ih (W_fc b + b_fc) + b_ih = (W_ih W_fc) b + (W_ih b_fc + b_ih)``. The beat then meets a ``4H x 2``
    matrix instead of ``H x 2`` followed by ``4H x H``."""
    return w_ih @ fc.weight, w_ih @ fc.bias + b_ih


class BeatEncoderCell:
    """A dense layer on the beat feeding a one-direction LSTM, stepped one beat at a time (live kinds), with
    the dense layer folded in (:func:`fold_beat_layer`) and the gates in :func:`lstm_update`'s order."""

    def __init__(self, fc: nn.Linear, lstm: nn.LSTM):
        w, b = fold_beat_layer(fc, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
        self.beat_weight = sigmoid_gates_first(w).t().contiguous().numpy()  # (2, 4H)
        self.hidden = Dense(sigmoid_gates_first(lstm.weight_hh_l0), sigmoid_gates_first(b))

    def __call__(self, beat: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gates = self.hidden(h)
        gates += beat @ self.beat_weight
        return lstm_update(gates, c)


class FoldedBeatLSTM:
    """A dense layer on the beat feeding an ``nn.LSTM`` (one layer, either direction count, batch first), run
    over a whole rhythm (offline kinds) with the dense layer folded into the LSTM's input weights
    (:func:`fold_beat_layer`).

    ``nn.LSTM`` first multiplies every step's input by ``W_ih`` in one product; fed the H-wide output of the
    dense layer that product is ``n x H x 4H`` per direction (600M multiply-adds for 512 beats at H = 384,
    a quarter of the offline encoder's time), fed the 2-number beat it is ``n x 2 x 4H``. The recurrence is
    unchanged, through the same ``torch.lstm`` kernel ``nn.LSTM`` calls.
    """

    def __init__(self, fc: nn.Linear, lstm: nn.LSTM):
        self.params = []
        for suffix in ("_l0", "_l0_reverse") if lstm.bidirectional else ("_l0",):
            w, b = fold_beat_layer(fc, getattr(lstm, "weight_ih" + suffix), getattr(lstm, "bias_ih" + suffix))
            self.params += [w, getattr(lstm, "weight_hh" + suffix), b, getattr(lstm, "bias_hh" + suffix)]
        self.params = [p.detach().contiguous() for p in self.params]
        self.directions = 2 if lstm.bidirectional else 1
        self.hidden = lstm.hidden_size

    def __call__(self, beats: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``beats`` (B, n, 2) -> outputs (B, n, directions * H) and final ``(h, c)`` (directions, B, H).

        Each direction runs as its own one-direction ``torch.lstm`` (the backward one on the reversed
        rhythm), at once on two threads within :func:`split_threads` and one after the other otherwise: the
        same arithmetic either way, so a seeded melody does not depend on the cores. At two threads per
        step, one bidirectional call spends more in hand-offs between its 2 x 512 small steps than it
        gains (``lstm_attn``: ~24 ms against ~20 for the two directions side by side, 40 on one core)."""
        if self.directions == 1:
            out, h, c = self._direction(beats, 0)
            return out, (h, c)
        if _SPLIT.count > 1:
            pending = _second_core().submit(self._direction, beats, 1)
            forward, backward = self._direction(beats, 0), pending.result()
        else:
            forward, backward = self._direction(beats, 0), self._direction(beats, 1)
        (out_f, h_f, c_f), (out_b, h_b, c_b) = forward, backward
        return torch.cat([out_f, out_b], 2), (torch.cat([h_f, h_b]), torch.cat([c_f, c_b]))

    def _direction(self, beats: Tensor, direction: int) -> tuple[Tensor, Tensor, Tensor]:
        """One direction over the rhythm: outputs (B, n, H) in the rhythm's order, final h and c (1, B, H)."""
        zero = beats.new_zeros(1, beats.shape[0], self.hidden)
        backward = direction == 1
        with torch.no_grad():  # grad mode is per thread: the worker's default would be on
            out, h, c = torch.lstm(beats.flip(1) if backward else beats, (zero, zero),
                                   self.params[4 * direction:4 * direction + 4], True, 1, 0.0, False, False, True)
        return (out.flip(1) if backward else out), h, c


def beat_encoders(fc: nn.Linear, lstm: nn.LSTM, live: bool) -> tuple[BeatEncoderCell | None, FoldedBeatLSTM | None]:
    """``(cell, whole-rhythm encoder)`` for an attention model's beat encoder: the live kind steps it one beat
    at a time, the offline kind encodes the whole rhythm; each plan builds only the one its kind uses."""
    return (BeatEncoderCell(fc, lstm), None) if live else (None, FoldedBeatLSTM(fc, lstm))


def scratch(local, shape: tuple[int, ...]) -> Tensor:
    """A float32 work buffer of ``shape`` kept in ``local`` (a ``threading.local``): reused while the shape
    stays, so a step does not allocate (and page-fault) megabytes; per thread, so concurrent
    generations with one model never share it."""
    buf = getattr(local, "buffer", None)
    if buf is None or buf.shape != shape:
        buf = local.buffer = torch.empty(shape)
    return buf


class PitchContextDecoder:
    """The decoder end both attention models share, once the context's share ``mixed`` of ``combine_fc`` is
    known: ``x = relu(table[prev] + mixed)`` (the previous pitch's share is a table row), one LSTM step over
    ``[x; h]``, the output layer.

    It works on a row block ``x_h`` (B, X + H) whose right part holds ``h`` (:meth:`rows` makes one):
    :meth:`advance` fills the left part, steps, and writes the new ``h`` back, so a session can keep one
    block for a whole rhythm and a functional step can use a fresh one. ``int8`` is the LSTM product in int8
    (offline plans, where it is large; None elsewhere), which whole-rhythm sessions may ask for.
    """

    def __init__(self, table: np.ndarray, decoder: Dense, output: Dense, int8: Int8Dense | None = None):
        self.table, self.decoder, self.output, self.int8 = table, decoder, output, int8
        self.width = table.shape[1]

    @classmethod
    def of(cls, embedding: nn.Embedding, combine_fc: nn.Linear, lstm: nn.LSTM, output: nn.Linear,
           offline: bool) -> PitchContextDecoder:
        """From a model's modules: ``combine_fc`` over ``[embedding(prev); context]``, the decoder ``lstm``,
        the ``output`` layer. Offline plans also keep the int8 product (:func:`lstm_int8`) for whole-rhythm
        sessions; live ones never use it."""
        table = embedding_table(embedding, combine_fc, slice(0, embedding.embedding_dim))
        return cls(table, lstm_dense(lstm), Dense.of(output), lstm_int8(lstm) if offline else None)

    def rows(self, h: np.ndarray) -> np.ndarray:
        x_h = np.empty((len(h), self.width + h.shape[1]), dtype=np.float32)
        x_h[:, self.width:] = h
        return x_h

    def hidden(self, x_h: np.ndarray) -> np.ndarray:
        return x_h[:, self.width:]

    def product(self, int8: bool) -> Dense | Int8Dense:
        """The LSTM product to use: the int8 one when asked for and there is one."""
        return self.int8 if int8 and self.int8 is not None else self.decoder

    def step(self, h: np.ndarray, c: np.ndarray, prev_pitch: np.ndarray,
             mixed: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """A functional step (``h`` and ``c`` are left as they are): the new ``h``, ``c`` and the logits, as
        tensors for a model's state. Always the exact product."""
        x_h = self.rows(h)
        c, logits = self.advance(x_h, c, prev_pitch, mixed, self.decoder)
        return torch.from_numpy(self.hidden(x_h)), torch.from_numpy(c), torch.from_numpy(logits)

    def advance(self, x_h: np.ndarray, c: np.ndarray, prev_pitch: np.ndarray, mixed: np.ndarray,
                product: Dense | Int8Dense) -> tuple[np.ndarray, np.ndarray]:
        """One step on ``x_h`` in place with the LSTM ``product`` (:meth:`product`): returns the new cell
        state and the logits."""
        x = x_h[:, :self.width]
        np.take(self.table, prev_pitch, axis=0, out=x, mode="clip")
        x += mixed
        np.maximum(x, 0.0, out=x)
        h, c = lstm_update(product(x_h), c)
        x_h[:, self.width:] = h
        return c, self.output(h)


class ContextDecoderSession(RhythmSession):
    """A session (:class:`models.streaming.Session`) over a :class:`PitchContextDecoder`: the rows ``x_h``
    and the cell ``c`` of every beam kept in place; a subclass gives each beat's ``mixed`` (:meth:`context`).
    ``int8``: the decoder's LSTM product in int8 where the plan has one (see the module docstring).
    ``memory``: the model's melody memory in the session (:class:`models.memory_plan.SessionMemory`)."""

    def __init__(self, head: PitchContextDecoder, h: np.ndarray, c: np.ndarray, length: int, int8: bool = False,
                 memory=None):
        super().__init__(length)
        self.head = head
        self.product = head.product(int8)
        self.x_h = head.rows(h)
        self.c = c
        self.memory = memory

    def context(self, t: int) -> np.ndarray:
        raise NotImplementedError

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        t = self.next_beat()
        mixed = self.context(t)
        self.c, logits = self.head.advance(self.x_h, self.c, prev_pitch, mixed, self.product)
        if self.memory is not None:
            logits = self.memory.apply(t, logits, self.head.hidden(self.x_h), prev_pitch)
        return logits

    def reorder(self, rows: np.ndarray) -> None:
        self.x_h[:] = self.x_h[rows]
        self.c = self.c[rows]
        if self.memory is not None:
            self.memory.reorder(rows)


def embedding_table(embedding: nn.Embedding, linear: nn.Linear, columns: slice) -> np.ndarray:
    """``linear`` applied to every embedding row, for the input columns the embedding feeds (plus the bias):
    a (num_notes, out) table, so a step looks a row up instead of multiplying."""
    return (embedding.weight @ linear.weight[:, columns].t() + linear.bias).detach().contiguous().numpy()

