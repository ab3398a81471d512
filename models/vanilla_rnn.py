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

from models.kernels import Dense, PlanCache, embedding_table, recurrent_dense
from models.streaming import State, zeros


class VanillaRNN(nn.Module):
    name = "vanilla_rnn"

    def __init__(self, num_notes: int = 128, embed_size: int = 32, hidden_dim: int = 256,
                 dropout: float = 0.0, kind: str = "offline"):
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
        self._plan = PlanCache(_StepPlan)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_size": self.note_embedding.embedding_dim,
                "hidden_dim": self.layer1.hidden_size, "dropout": self.dropout.p, "kind": self.kind}

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
        return self.notes_output(self.dropout(x))

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        w = self.notes_output.weight
        self._plan.refresh(self)
        return {"h1": zeros(batch_size, self.layer1.hidden_size, w),
                "h2": zeros(batch_size, self.layer2.hidden_size, w)}

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """One beat (inference only: no gradients flow through the plan's weights)."""
        plan = self._plan.plan
        pitch, b = prev_pitch.numpy(), beat.numpy()
        residual = plan.residual_table[pitch] + b @ plan.residual_beat
        np.maximum(residual, 0.01 * residual, out=residual)  # leaky_relu
        width = residual.shape[1]
        x_h = np.empty((len(pitch), width + self.layer1.hidden_size), dtype=np.float32)
        x_h[:, :2], x_h[:, 2:width] = b, plan.embedding[pitch]
        x_h[:, :width] += residual
        x_h[:, width:] = state["h1"].numpy()
        h1 = plan.layer1(torch.from_numpy(x_h)).tanh_()
        h2 = plan.layer2(torch.cat((h1, state["h2"]), 1)).tanh_()
        return plan.output(h2), {"h1": h1, "h2": h2}


class _StepPlan:
    """Derived weights for inference steps (rebuilt by :class:`PlanCache` when the parameters change): the
    residual layer's share of the pitch embedding is a table, each RNN layer one Dense over ``[x; h]``."""

    def __init__(self, model: VanillaRNN):
        fc = model.concat_input_fc
        self.embedding = model.note_embedding.weight.detach().clone().numpy()
        self.residual_table = embedding_table(model.note_embedding, fc, slice(2, None)).numpy()
        self.residual_beat = fc.weight[:, :2].t().contiguous().numpy()
        self.layer1 = recurrent_dense(model.layer1)
        self.layer2 = recurrent_dense(model.layer2)
        self.output = Dense.of(model.notes_output)
