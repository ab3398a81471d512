"""LSTM with Full Attention (the original project's ``attention_rnn``).

A dense layer and an LSTM encoder read the rhythm; at each step the decoder scores encoder outputs with
additive attention against its LSTM state, mixes the context with the previous pitch's embedding
(dense + ReLU), and steps an LSTM into a 128-way output.

Additive attention scores ``v . leaky(W [h; e_j] + b)`` split into ``W_h h + (W_e e_j + b)``: the second
term depends on the encoder output only, so it is computed once per beat and kept (Bahdanau's trick),
instead of at every decoder step over the whole history as the original did.

* *offline* (as published): bidirectional encoder over ``(rest_i, dur_i)``, attention over the whole rhythm.
* *live*: one-direction encoder over ``(rest_i, dur_{i-1})``, stepped with the decoder; attention over the
  last ``window`` beats only (a ring buffer in the state), so the cost of a beat stays flat however long a
  take runs.

State-dict keys match the original's ``DeepBeatsAttentionRNN``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.streaming import FoldedInputLSTM, State, check_position, lstm_step, zeros


class Encoder(nn.Module):
    def __init__(self, hidden_dim: int, bidirectional: bool):
        super().__init__()
        self.fc = nn.Linear(2, hidden_dim)
        self.encoder_lstm = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, beats: Tensor) -> Tensor:
        return self.encoder_lstm(self.fc(beats))[0]


class Attention(nn.Module):
    """Additive attention; ``attn1`` sees ``[decoder state; encoder output]`` as in the original."""

    def __init__(self, context_dim: int, decode_hidden_dim: int):
        super().__init__()
        self.decode_hidden_dim = decode_hidden_dim
        self.attn1 = nn.Linear(decode_hidden_dim + context_dim, decode_hidden_dim)
        self.attn2 = nn.Linear(decode_hidden_dim, 1)

    def project_keys(self, enc: Tensor) -> Tensor:
        """The decoder-independent part of the score, once per encoder output: (..., D)."""
        return F.linear(enc, self.attn1.weight[:, self.decode_hidden_dim:], self.attn1.bias)

    def context(self, h: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None) -> Tensor:
        """Context for decoder state ``h`` (B, D) over ``keys`` (B, N, D) / ``values`` (B, N, C)."""
        query = F.linear(h, self.attn1.weight[:, : self.decode_hidden_dim])
        scores = self.attn2(F.leaky_relu(keys + query.unsqueeze(1))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        return torch.matmul(weights.unsqueeze(1), values).squeeze(1)  # values may broadcast (shared memory)


class Decoder(nn.Module):
    def __init__(self, num_notes: int, embed_dim: int, context_dim: int, decode_hidden_dim: int,
                 dropout: float):
        super().__init__()
        self.attention = Attention(context_dim, decode_hidden_dim)
        self.note_embedding = nn.Embedding(num_notes, embed_dim)
        self.combine_fc = nn.Linear(embed_dim + context_dim, decode_hidden_dim)
        self.post_attention_lstm = nn.LSTM(decode_hidden_dim, decode_hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.notes_output = nn.Linear(decode_hidden_dim, num_notes)

    def step(self, context: Tensor, prev_pitch: Tensor, h: Tensor, c: Tensor):
        x = torch.cat((self.dropout(self.note_embedding(prev_pitch)), context), dim=-1)
        x = F.relu(self.combine_fc(x))
        h, c = lstm_step(self.post_attention_lstm, x, h, c)
        return self.notes_output(self.dropout(h)), h, c


class FullAttentionLSTM(nn.Module):
    name = "attention_rnn"

    def __init__(self, num_notes: int = 128, embed_dim: int = 32, encode_hidden_dim: int = 512,
                 decode_hidden_dim: int = 1024, dropout: float = 0.0, kind: str = "offline",
                 window: int = 64):
        super().__init__()
        self.kind = kind
        self.num_notes = num_notes
        self.window = window
        bidirectional = kind == "offline"
        self.encode_hidden_dim = encode_hidden_dim
        self.decode_hidden_dim = decode_hidden_dim
        self.context_dim = encode_hidden_dim * (2 if bidirectional else 1)
        self.encoder = Encoder(encode_hidden_dim, bidirectional)
        self.decoder = Decoder(num_notes, embed_dim, self.context_dim, decode_hidden_dim, dropout)
        self._encoder_step = FoldedInputLSTM(self.encoder.fc, self.encoder.encoder_lstm)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_dim": self.decoder.note_embedding.embedding_dim,
                "encode_hidden_dim": self.encode_hidden_dim, "decode_hidden_dim": self.decode_hidden_dim,
                "dropout": self.decoder.dropout.p, "kind": self.kind, "window": self.window}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, embed = sd["decoder.note_embedding.weight"].shape
        kind = "offline" if "encoder.encoder_lstm.weight_ih_l0_reverse" in sd else "live"
        return {"num_notes": num_notes, "embed_dim": embed, "kind": kind,
                "encode_hidden_dim": sd["encoder.fc.weight"].shape[0],
                "decode_hidden_dim": sd["decoder.notes_output.weight"].shape[1]}

    def forward(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        enc = self.encoder(beats)
        keys = self.decoder.attention.project_keys(enc)
        batch, length = prev_notes.shape
        h = zeros(batch, self.decode_hidden_dim, keys)
        c = zeros(batch, self.decode_hidden_dim, keys)
        outputs = []
        for t in range(length):
            lo = 0 if self.kind == "offline" else max(0, t + 1 - self.window)
            hi = length if self.kind == "offline" else t + 1
            context = self.decoder.attention.context(h, keys[:, lo:hi], enc[:, lo:hi])
            logits, h, c = self.decoder.step(context, prev_notes[:, t], h, c)
            outputs.append(logits)
        return torch.stack(outputs, dim=1)

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        w = self.decoder.notes_output.weight
        if self.kind == "offline":
            if beats is None:
                raise ValueError("an offline model needs the whole rhythm: start(beats=...)")
            batch_size = beats.shape[0]
            enc = self.encoder(beats)
            state = {"memory_enc": enc, "memory_keys": self.decoder.attention.project_keys(enc)}
        else:
            e, n = self.encode_hidden_dim, self.window
            state = {"eh": zeros(batch_size, e, w), "ec": zeros(batch_size, e, w),
                     "enc": w.new_zeros(batch_size, n, e), "keys": w.new_zeros(batch_size, n, self.decode_hidden_dim)}
        state["h"] = zeros(batch_size, self.decode_hidden_dim, w)
        state["c"] = zeros(batch_size, self.decode_hidden_dim, w)
        state["t"] = torch.zeros(batch_size, dtype=torch.long, device=w.device)
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        new = dict(state)
        attention = self.decoder.attention
        if self.kind == "offline":
            check_position(state, state["memory_enc"].shape[1])
            context = attention.context(state["h"], state["memory_keys"], state["memory_enc"])
        else:
            t = int(state["t"][0])
            new["eh"], new["ec"] = self._encoder_step.step(beat, state["eh"], state["ec"])
            slot = torch.tensor([t % self.window], device=beat.device)
            new["enc"] = state["enc"].index_copy(1, slot, new["eh"].unsqueeze(1))
            new["keys"] = state["keys"].index_copy(1, slot, attention.project_keys(new["eh"]).unsqueeze(1))
            if t + 1 >= self.window:
                context = attention.context(state["h"], new["keys"], new["enc"])
            else:
                context = attention.context(state["h"], new["keys"][:, : t + 1], new["enc"][:, : t + 1])
        logits, new["h"], new["c"] = self.decoder.step(context, prev_pitch, state["h"], state["c"])
        new["t"] = state["t"] + 1
        return logits, new
