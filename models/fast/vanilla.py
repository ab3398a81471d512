"""The Vanilla RNN's fast path: each layer one fp32 product over its whole input row, written into buffers."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from models.fast.kernels import affine_rows, embedding_table, recurrent_weights
from models.fast.sessions import RhythmSession
from models.fast.steps import FastSteps
from models.streaming import State, zeros


class VanillaRows:
    """The per-row buffers of a step, laid out so that each layer's input is one contiguous row block and
    its bias comes with its product: ``xh1 = [x, h1, 1]`` feeds layer 1, ``xh2 = [h1, h2, 1]`` layer 2, and
    ``xh2[:, H:] = [h2, 1]`` the output."""

    def __init__(self, batch: int, width: int, hidden: int):
        self.xh1 = np.empty((batch, width + hidden + 1), dtype=np.float32)
        self.xh2 = np.empty((batch, 2 * hidden + 1), dtype=np.float32)
        self.xh1[:, -1] = self.xh2[:, -1] = 1.0
        self.pre = np.empty((batch, hidden), dtype=np.float32)
        self.x = self.xh1[:, :width]
        self.h1_in = self.xh1[:, width:width + hidden]
        self.h1 = self.xh2[:, :hidden]
        self.h2 = self.xh2[:, hidden:2 * hidden]
        self.h2_out = self.xh2[:, hidden:]

    def reorder(self, rows: np.ndarray) -> None:
        self.xh1[:] = self.xh1[rows]
        self.xh2[:] = self.xh2[rows]


class VanillaPlan:
    """The residual layer's share of the pitch embedding as a table; each layer one fp32 matrix over its
    whole input row with the bias as its last row (see :class:`VanillaRows`)."""

    def __init__(self, model):
        fc = model.concat_input_fc
        embedding = model.note_embedding.weight.detach().float()
        self.width = embedding.shape[1] + 2
        self.hidden = model.layer1.hidden_size
        # The layer's input row for a pitch before the beat is added: [0, 0, embedding].
        self.inputs = torch.cat([embedding.new_zeros(len(embedding), 2), embedding], 1).numpy()
        self.residual_table = embedding_table(model.note_embedding, fc, slice(2, None))
        self.residual_beat = fc.weight[:, :2].detach().float().t().contiguous().numpy()
        self.layer1 = affine_rows(*recurrent_weights(model.layer1))
        self.layer2 = affine_rows(*recurrent_weights(model.layer2))
        self.output = affine_rows(model.notes_output.weight, model.notes_output.bias)

    def beat_shares(self, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What beats (n, 2) bring to :meth:`advance`: their share of the residual layer and the beats as
        layer-input rows ``[rest, dur, 0...]``."""
        inputs = np.zeros((len(beats), self.width), dtype=np.float32)
        inputs[:, :2] = beats
        return beats @ self.residual_beat, inputs

    def advance(self, rows: VanillaRows, pitch: np.ndarray, beat_residual: np.ndarray,
                beat_inputs: np.ndarray) -> np.ndarray:
        """One beat on ``rows`` in place; returns the logits."""
        residual = self.residual_table[pitch]
        residual += beat_residual
        np.maximum(residual, residual * np.float32(0.01), out=residual)  # leaky_relu
        x = rows.x
        np.take(self.inputs, pitch, axis=0, out=x, mode="clip")
        x += beat_inputs
        x += residual
        np.matmul(rows.xh1, self.layer1, out=rows.pre)
        np.tanh(rows.pre, out=rows.h1)
        rows.h1_in[:] = rows.h1
        np.matmul(rows.xh2, self.layer2, out=rows.pre)
        np.tanh(rows.pre, out=rows.h2)
        return rows.h2_out @ self.output


class VanillaSteps(FastSteps):
    plan_type = VanillaPlan

    def start_decoder(self, plan: VanillaPlan, batch_size: int, beats: Tensor | None) -> tuple[State, int]:
        like = self.model.notes_output.weight
        return {"h1": zeros(batch_size, plan.hidden, like), "h2": zeros(batch_size, plan.hidden, like)}, batch_size

    def step_decoder(self, plan: VanillaPlan, state: State, beat: Tensor,
                     prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        pitch = prev_pitch.numpy()
        rows = VanillaRows(len(pitch), plan.width, plan.hidden)
        rows.h1_in[:] = state["h1"].numpy()
        rows.h2[:] = state["h2"].numpy()
        logits = torch.from_numpy(plan.advance(rows, pitch, *plan.beat_shares(beat.numpy())))
        h2 = torch.from_numpy(rows.h2)
        return logits, h2, {**state, "h1": torch.from_numpy(rows.h1), "h2": h2}

    def session(self, beats: Tensor, batch_size: int) -> VanillaSession:
        """Either kind: the model never looks ahead."""
        self.start(1)
        return VanillaSession(self.plan, beats[0].detach().numpy(), batch_size,
                              self.session_memory(batch_size, beats))


class VanillaSession(RhythmSession):
    """The rhythm's beat shares computed for all beats at once; each step updates the rows in place."""

    def __init__(self, plan: VanillaPlan, beats: np.ndarray, batch: int, memory=None):
        super().__init__(len(beats))
        self.plan, self.memory = plan, memory
        self.rows = VanillaRows(batch, plan.width, plan.hidden)
        self.rows.h1_in[:] = self.rows.h2[:] = 0.0
        self.beat_residual, self.beat_inputs = plan.beat_shares(beats)

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        t = self.next_beat()
        logits = self.plan.advance(self.rows, prev_pitch, self.beat_residual[t], self.beat_inputs[t])
        if self.memory is not None:
            logits = self.memory.apply(t, logits, self.rows.h2, prev_pitch)
        return logits

    def reorder(self, rows: np.ndarray) -> None:
        self.rows.reorder(rows)
        if self.memory is not None:
            self.memory.reorder(rows)
