"""The melody memory's fast path: NumPy arrays updated in place, for live steps and whole-rhythm sessions.

:class:`models.memory.MelodyMemory` is the reference (``forward``, ``step``); this module computes the same
numbers per beat with the weights folded for a few rows at a time: the query, key
and sentinel score come from one product of the decoder state plus one table row per remembered pitch (the
pitch embedding folded into the projection), and the pointer's mass is summed per pitch with one
``bincount``. A beat's cost stays flat: ``window`` keys at most.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

#: Must match :data:`models.memory.EPSILON`.
EPSILON = np.float32(1e-9)


class MemoryPlan:
    """Derived weights of a :class:`models.memory.MelodyMemory` (rebuilt when its parameters change)."""

    def __init__(self, memory):
        weight = torch.cat([memory.query.weight, memory.key.weight, memory.sentinel.weight]).detach()
        bias = torch.cat([memory.query.bias, memory.key.bias, memory.sentinel.bias]).detach()
        pitch_dim = memory.pitch_embed.embedding_dim
        state_dim = weight.shape[1] - memory.context * pitch_dim - 4
        embed = memory.pitch_embed.weight.detach()
        self.state_part = weight[:, :state_dim].t().contiguous().numpy()
        self.pitch_tables = []
        for k in range(memory.context):
            columns = weight[:, state_dim + k * pitch_dim: state_dim + (k + 1) * pitch_dim]
            table = embed @ columns.t() + (bias if k == 0 else 0)
            self.pitch_tables.append(table.contiguous().numpy())
        self.beat_part = weight[:, state_dim + memory.context * pitch_dim:].t().contiguous().numpy()  # (4, 2K+1)
        self.key_dim, self.window, self.context = memory.key_dim, memory.window, memory.context
        self.num_notes = memory.num_notes
        self.scale = np.float32(1 / math.sqrt(memory.key_dim))

    def rows(self, batch: int) -> MemoryRows:
        return MemoryRows(batch, self.window, self.key_dim, self.context)

    def advance(self, rows: MemoryRows, logits: np.ndarray, h: np.ndarray, beat: np.ndarray,
                prev_pitch: np.ndarray) -> np.ndarray:
        """One beat on ``rows`` in place (see :meth:`models.memory.MelodyMemory.step`): returns
        the log-probabilities (B, N) from the model's ``logits`` (B, N) and decoder state ``h`` (B, S)."""
        t, k = rows.t, self.key_dim
        if t > 0:
            slot = (t - 1) % self.window
            rows.keys[:, slot] = rows.pending
            rows.values[:, slot] = prev_pitch
        rows.history[:, 1:] = rows.history[:, :-1]
        rows.history[:, 0] = prev_pitch
        z = h @ self.state_part
        for lag, table in enumerate(self.pitch_tables):
            z += table[rows.history[:, lag]]
        z += beat @ self.beat_part[:2]
        z += rows.beat @ self.beat_part[2:]
        filled = min(t, self.window)
        scores = np.empty((len(z), filled + 1), dtype=np.float32)
        scores[:, 0] = z[:, 2 * k]
        np.matmul(rows.keys[:, :filled], z[:, :k, None], out=scores[:, 1:, None])
        scores[:, 1:] *= self.scale
        attention = _softmax(scores)
        probs = _softmax(logits)
        probs *= attention[:, :1]
        if filled:
            n = self.num_notes
            flat = (rows.values[:, :filled] + n * np.arange(len(z))[:, None]).ravel()
            probs += np.bincount(flat, attention[:, 1:].ravel(), minlength=len(z) * n).reshape(-1, n)
        rows.pending[:] = z[:, k:2 * k]
        rows.beat[:] = beat
        rows.t = t + 1
        probs += EPSILON
        return np.log(probs, out=probs)


class MemoryRows:
    """A memory's per-row arrays: the ring of keys and their pitches, the key waiting for its pitch, the last
    ``context`` pitches, the previous beat; ``t`` notes seen (every row advances together)."""

    def __init__(self, batch: int, window: int, key_dim: int, context: int):
        self.keys = np.zeros((batch, window, key_dim), dtype=np.float32)
        self.values = np.zeros((batch, window), dtype=np.int64)
        self.pending = np.zeros((batch, key_dim), dtype=np.float32)
        self.history = np.zeros((batch, context), dtype=np.int64)
        self.beat = np.zeros((batch, 2), dtype=np.float32)
        self.t = 0

    def reorder(self, rows: np.ndarray) -> None:
        """Row ``i`` continues from what row ``rows[i]`` was (beam search)."""
        for name in ("keys", "values", "pending", "history", "beat"):
            setattr(self, name, getattr(self, name)[rows])

    @classmethod
    def of_state(cls, state: dict[str, Tensor]) -> MemoryRows:
        """Fresh arrays holding a model state's ``recall_*`` entries (states are never changed in place)."""
        rows = cls.__new__(cls)
        rows.keys = state["recall_keys"].numpy().copy()
        rows.values = state["recall_values"].numpy().copy()
        rows.pending = state["recall_pending"].numpy().copy()
        rows.history = state["recall_history"].numpy().copy()
        rows.beat = state["recall_beat"].numpy().copy()
        t = state["recall_t"].numpy()
        rows.t = int(t[0]) if t.size else 0
        return rows

    def as_state(self) -> dict[str, Tensor]:
        batch = len(self.keys)
        return {"recall_keys": torch.from_numpy(self.keys), "recall_values": torch.from_numpy(self.values),
                "recall_pending": torch.from_numpy(self.pending),
                "recall_history": torch.from_numpy(self.history), "recall_beat": torch.from_numpy(self.beat),
                "recall_t": torch.full((batch,), self.t, dtype=torch.long)}


def _softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax (a new array)."""
    e = x - x.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


class SessionMemory:
    """A memory inside a whole-rhythm session: its plan, its rows kept in place, and the rhythm's beats."""

    def __init__(self, plan: MemoryPlan, batch: int, beats: np.ndarray):
        self.plan, self.rows, self.beats = plan, plan.rows(batch), beats

    def apply(self, t: int, logits: np.ndarray, h: np.ndarray, prev_pitch: np.ndarray) -> np.ndarray:
        """Log-probabilities of beat ``t`` from the model's ``logits`` and decoder state ``h``."""
        return self.plan.advance(self.rows, logits, h, self.beats[t], prev_pitch)

    def reorder(self, rows: np.ndarray) -> None:
        self.rows.reorder(rows)


def memory_step(plan: MemoryPlan, state: dict[str, Tensor], logits: Tensor, h: Tensor, beat: Tensor,
                prev_pitch: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """:meth:`models.memory.MelodyMemory.step` on the plan: log-probabilities and the new ``recall_*``
    entries (the state's own are left as they are)."""
    rows = MemoryRows.of_state(state)
    log_probs = plan.advance(rows, logits.numpy(), h.numpy(), beat.numpy(), prev_pitch.numpy())
    return torch.from_numpy(log_probs), rows.as_state()
