"""Decoder-only Vanilla RNN (the original project's ``vanilla_rnn``).

Each step embeds the previous pitch, concatenates it with the beat, adds a dense + LeakyReLU residual, and
runs two stacked one-direction tanh RNN layers into a 128-way output. It never looks ahead, so the *offline*
and *live* kinds share the architecture and differ only in the beat features they are fed
(``(rest_i, dur_i)`` vs ``(rest_i, dur_{i-1})``, the app makes them). State-dict keys match the
original's ``DeepBeatsVanillaRNN``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.base import MelodyModel
from models.streaming import State, rnn_step, zeros


class VanillaRNN(MelodyModel):
    name = "vanilla_rnn"

    def __init__(self, num_notes: int = 128, embed_size: int = 32, hidden_dim: int = 256,
                 dropout: float = 0.0, kind: str = "offline", memory: dict | None = None):
        super().__init__(kind, num_notes, hidden_dim, memory)
        self.note_embedding = nn.Embedding(num_notes, embed_size)
        self.concat_input_fc = nn.Linear(embed_size + 2, embed_size + 2)
        self.layer1 = nn.RNN(embed_size + 2, hidden_dim, batch_first=True)
        self.layer2 = nn.RNN(hidden_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.notes_output = nn.Linear(hidden_dim, num_notes)
        for m in (self.concat_input_fc, self.notes_output):
            nn.init.xavier_uniform_(m.weight)
            nn.init.constant_(m.bias, 0)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_size": self.note_embedding.embedding_dim,
                "hidden_dim": self.layer1.hidden_size, "dropout": self.dropout.p, "kind": self.kind,
                "memory": self.memory_settings()}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, embed = sd["note_embedding.weight"].shape
        return {"num_notes": num_notes, "embed_size": embed, "hidden_dim": sd["layer1.weight_hh_l0"].shape[0]}

    def inputs(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        """``[beat; embedding(prev)]`` plus its dense + LeakyReLU residual."""
        x = torch.cat((beats, self.dropout(self.note_embedding(prev_notes))), dim=-1)
        return x + F.leaky_relu(self.concat_input_fc(x))

    def decode(self, beats: Tensor, prev_notes: Tensor) -> tuple[Tensor, Tensor]:
        x, _ = self.layer1(self.inputs(beats, prev_notes))
        x, _ = self.layer2(self.dropout(x))
        states = self.dropout(x)
        return self.notes_output(states), states

    def start_decoder(self, batch_size: int, beats: Tensor | None) -> State:
        like = self.notes_output.weight
        return {"h1": zeros(batch_size, self.layer1.hidden_size, like),
                "h2": zeros(batch_size, self.layer2.hidden_size, like)}

    def step_decoder(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        h1 = rnn_step(self.layer1, self.inputs(beat, prev_pitch), state["h1"])
        h2 = rnn_step(self.layer2, self.dropout(h1), state["h2"])
        return self.notes_output(self.dropout(h2)), h2, {**state, "h1": h1, "h2": h2}
