"""Decoder-only Vanilla RNN (the original project's ``vanilla_rnn``).

Each step embeds the previous pitch, concatenates it with the beat, adds a dense + LeakyReLU residual, and
runs two stacked one-direction tanh RNN layers into a 128-way output. It never looks ahead, so the *offline*
and *live* kinds share the architecture and differ only in the beat features they are fed
(``(rest_i, dur_i)`` vs ``(rest_i, dur_{i-1})``, see :mod:`composer_app.beats`). State-dict keys match the
original's ``DeepBeatsVanillaRNN``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.kernels import PlanCache, affine_rows, embedding_table, recurrent_weights
from models.memory import build_memory
from models.streaming import RhythmSession, State, zeros


class VanillaRNN(nn.Module):
    name = "vanilla_rnn"

    def __init__(self, num_notes: int = 128, embed_size: int = 32, hidden_dim: int = 256,
                 dropout: float = 0.0, kind: str = "offline", memory: dict | None = None):
        super().__init__()
        self.kind = kind
        self.num_notes = num_notes
        self.note_embedding = nn.Embedding(num_notes, embed_size)
        self.concat_input_fc = nn.Linear(embed_size + 2, embed_size + 2)
        self.layer1 = nn.RNN(embed_size + 2, hidden_dim, batch_first=True)
        self.layer2 = nn.RNN(hidden_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.notes_output = nn.Linear(hidden_dim, num_notes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.constant_(m.bias, 0)
        self.memory = build_memory(memory, hidden_dim, num_notes)
        self._plan = PlanCache(VanillaPlan)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_size": self.note_embedding.embedding_dim,
                "hidden_dim": self.layer1.hidden_size, "dropout": self.dropout.p, "kind": self.kind,
                "memory": self.memory.config() if self.memory is not None else None}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, embed = sd["note_embedding.weight"].shape
        return {"num_notes": num_notes, "embed_size": embed, "hidden_dim": sd["layer1.weight_hh_l0"].shape[0]}

    def _inputs(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        x = torch.cat((beats, self.dropout(self.note_embedding(prev_notes))), dim=-1)
        return x + F.leaky_relu(self.concat_input_fc(x))

    def forward(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        x, _ = self.layer1(self._inputs(beats, prev_notes))
        x, _ = self.layer2(self.dropout(x))
        states = self.dropout(x)
        logits = self.notes_output(states)
        if self.memory is None:
            return logits
        return self.memory(logits, states, beats, prev_notes)

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        w = self.notes_output.weight
        self._plan.refresh(self)
        state = {"h1": zeros(batch_size, self.layer1.hidden_size, w),
                 "h2": zeros(batch_size, self.layer2.hidden_size, w)}
        if self.memory is not None:
            state.update(self.memory.start(batch_size, w))
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """One beat (inference only: no gradients flow through the plan's weights)."""
        plan = self._plan.plan
        pitch = prev_pitch.numpy()
        rows = plan.buffers(len(pitch))
        rows.h1_in[:] = state["h1"].numpy()
        rows.h2[:] = state["h2"].numpy()
        logits = torch.from_numpy(plan.advance(rows, pitch, *plan.beat_shares(beat.numpy())))
        new = {"h1": torch.from_numpy(rows.h1), "h2": torch.from_numpy(rows.h2)}
        if self.memory is not None:
            logits, recall = self.memory.step(state, logits, new["h2"], beat, prev_pitch)
            new.update(recall)
        return logits, new

    def session(self, beats: Tensor, batch_size: int = 1, int8: bool = False) -> _Session:
        """Decode the rhythm ``beats`` (1, n, 2) for ``batch_size`` rows, state in place (see
        :class:`models.streaming.Session`); either kind, since the model never looks ahead. ``int8`` is
        ignored: the layers are small enough to stay in cache, where the fp32 products are as fast."""
        rhythm = beats[0].detach().numpy()
        memory = self.memory.session(batch_size, rhythm) if self.memory is not None else None
        return _Session(self._plan.refresh(self), rhythm, batch_size, memory)


class _Rows:
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
    """Derived weights for inference steps (rebuilt by :class:`PlanCache` when the parameters change): the
    residual layer's share of the pitch embedding is a table, and each layer one fp32 matrix over its whole
    input row with the bias as its last row (see :class:`_Rows`). The layers are small enough that NumPy's
    fp32 GEMM is the fastest path, so no fp16 packing here."""

    def __init__(self, model: VanillaRNN):
        fc = model.concat_input_fc
        embedding = model.note_embedding.weight.detach()
        self.width = embedding.shape[1] + 2
        self.hidden = model.layer1.hidden_size
        # The layer's input row for a pitch before the beat is added: [0, 0, embedding].
        self.inputs = torch.cat([embedding.new_zeros(len(embedding), 2), embedding], 1).numpy()
        self.residual_table = embedding_table(model.note_embedding, fc, slice(2, None))
        self.residual_beat = fc.weight[:, :2].t().contiguous().numpy()
        self.layer1 = affine_rows(*recurrent_weights(model.layer1))
        self.layer2 = affine_rows(*recurrent_weights(model.layer2))
        self.output = affine_rows(model.notes_output.weight, model.notes_output.bias)

    def beat_shares(self, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What beats (n, 2) bring to :meth:`advance`: their share of the residual layer and the beats as
        layer-input rows ``[rest, dur, 0...]``."""
        inputs = np.zeros((len(beats), self.width), dtype=np.float32)
        inputs[:, :2] = beats
        return beats @ self.residual_beat, inputs

    def buffers(self, batch: int) -> _Rows:
        return _Rows(batch, self.width, self.hidden)

    def advance(self, rows: _Rows, pitch: np.ndarray, beat_residual: np.ndarray, beat_inputs: np.ndarray):
        """One beat on ``rows`` in place: ``beat_residual`` is the beat's share of the residual layer
        (before its bias), ``beat_inputs`` the beat as ``[rest, dur, 0...]``; returns the logits."""
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


class _Session(RhythmSession):
    """The rhythm's beat shares are computed for all beats at once; each step then updates the rows in place."""

    def __init__(self, plan: VanillaPlan, beats: np.ndarray, batch: int, memory=None):
        super().__init__(len(beats))
        self.plan, self.memory = plan, memory
        self.rows = plan.buffers(batch)
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
