"""LSTM with Local Attention (the original project's ``lstm_attn``).

A dense layer lifts each beat, an LSTM encoder reads the rhythm, and decoder step ``i`` combines the previous
pitch embedding with encoder output ``i`` (notes and beats align 1:1, so attention is *local*: one position,
linear cost), then an LSTM and a 128-way output.

* *offline* (as published): bidirectional encoder over ``(rest_i, dur_i)``; the decoder starts from the
  encoder's forward final state. ``start(beats=...)`` encodes the whole rhythm once, then steps read it.
* *live*: one-direction encoder over ``(rest_i, dur_{i-1})``, stepped together with the decoder, which
  starts from zeros (the encoder's final state would be the future).

State-dict keys match the original's ``DeepBeatsLSTMLocalAttn``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.base import MelodyModel
from models.streaming import State, beat_counter, check_position, lstm_step, zeros


class LocalAttnEncoder(nn.Module):
    def __init__(self, hidden_dim: int, bidirectional: bool):
        super().__init__()
        self.duration_fc = nn.Linear(2, hidden_dim)
        self.encoder = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, beats: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Encoder outputs (B, n, C) and the forward direction's final ``(h, c)`` (1, B, H)."""
        out, (h, c) = self.encoder(self.duration_fc(beats))
        return out, (h[:1], c[:1])

    def step(self, beat: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """One beat (B, 2) through the one-direction (live) encoder."""
        return lstm_step(self.encoder, self.duration_fc(beat), h, c)


class LocalAttnDecoder(nn.Module):
    def __init__(self, hidden_dim: int, context_dim: int, num_notes: int, dropout: float):
        super().__init__()
        self.note_embed = nn.Embedding(num_notes, hidden_dim)
        self.combine_fc = nn.Linear(hidden_dim + context_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.rnn = nn.LSTM(hidden_dim, hidden_dim, batch_first=True)
        self.notes_output = nn.Linear(hidden_dim, num_notes)

    def combine(self, prev_notes: Tensor, context: Tensor) -> Tensor:
        x = torch.cat((self.dropout(self.note_embed(prev_notes)), context), dim=-1)
        return F.relu(self.combine_fc(x))

    def forward(self, prev_notes: Tensor, context: Tensor, initial=None) -> Tensor:
        """The decoder LSTM's outputs (B, T, H), before the output layer."""
        return self.rnn(self.combine(prev_notes, context), initial)[0]

    def step(self, prev_pitch: Tensor, context: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return lstm_step(self.rnn, self.combine(prev_pitch, context), h, c)


class LocalAttentionLSTM(MelodyModel):
    name = "lstm_attn"

    def __init__(self, num_notes: int = 128, hidden_dim: int = 512, dropout_p: float = 0.5,
                 kind: str = "offline", memory: dict | None = None):
        super().__init__(kind, num_notes, hidden_dim, memory)
        self.hidden_dim = hidden_dim
        bidirectional = kind == "offline"
        self.encoder = LocalAttnEncoder(hidden_dim, bidirectional)
        context_dim = hidden_dim * (2 if bidirectional else 1)
        self.decoder = LocalAttnDecoder(hidden_dim, context_dim, num_notes, dropout_p)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "hidden_dim": self.hidden_dim,
                "dropout_p": self.decoder.dropout.p, "kind": self.kind, "memory": self.memory_settings()}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, hidden = sd["decoder.note_embed.weight"].shape
        kind = "offline" if "encoder.encoder.weight_ih_l0_reverse" in sd else "live"
        return {"num_notes": num_notes, "hidden_dim": hidden, "kind": kind}

    @property
    def needs_rhythm(self) -> bool:
        return self.kind == "offline"

    def decode(self, beats: Tensor, prev_notes: Tensor) -> tuple[Tensor, Tensor]:
        context, enc_state = self.encoder(beats)
        initial = enc_state if self.kind == "offline" else None
        states = self.decoder(prev_notes, context, initial)
        return self.decoder.notes_output(states), states

    def start_decoder(self, batch_size: int, beats: Tensor | None) -> State:
        if self.kind == "offline":  # the whole rhythm encoded once; the decoder starts from its final state
            context, (h, c) = self.encoder(beats)
            return {"memory_context": context, "h": h[0], "c": c[0], "t": beat_counter(len(beats), context)}
        like, size = self.decoder.notes_output.weight, self.hidden_dim
        return {"eh": zeros(batch_size, size, like), "ec": zeros(batch_size, size, like),
                "h": zeros(batch_size, size, like), "c": zeros(batch_size, size, like)}

    def step_decoder(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        new = dict(state)
        if self.kind == "offline":  # beat t's encoder output, computed at start
            t = check_position(state, state["memory_context"].shape[1])
            context = state["memory_context"][:, t].expand(len(prev_pitch), -1)
            new["t"] = state["t"] + 1
        else:  # the encoder steps with the decoder
            new["eh"], new["ec"] = self.encoder.step(beat, state["eh"], state["ec"])
            context = new["eh"]
        new["h"], new["c"] = self.decoder.step(prev_pitch, context, state["h"], state["c"])
        return self.decoder.notes_output(new["h"]), new["h"], new
