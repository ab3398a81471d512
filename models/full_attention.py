"""LSTM with Full Attention (the original project's ``attention_rnn``).

A dense layer and an LSTM encoder read the rhythm; at each step the decoder scores encoder outputs with
additive attention against its LSTM state, mixes the context with the previous pitch's embedding
(dense + ReLU), and steps an LSTM into a 128-way output.

* *offline* (as published): bidirectional encoder over ``(rest_i, dur_i)``, attention over the whole rhythm.
* *live*: one-direction encoder over ``(rest_i, dur_{i-1})``, stepped with the decoder; attention over the
  last ``window`` beats only (a ring buffer in the state), so the cost of a beat stays flat however long a
  take runs.

Additive attention scores ``v . leaky(W [h; e_j] + b)`` split into ``W_h h + (W_e e_j + b)``: the second term
depends on the encoder output only, so it is computed once per beat and kept as the output's *key*
(Bahdanau's trick) instead of at every decoder step over the whole history, as the original did.

State-dict keys match the original's ``DeepBeatsAttentionRNN``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.base import MelodyModel
from models.streaming import State, beat_counter, check_position, lstm_step, position, zeros


class Encoder(nn.Module):
    def __init__(self, hidden_dim: int, bidirectional: bool):
        super().__init__()
        self.fc = nn.Linear(2, hidden_dim)
        self.encoder_lstm = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, beats: Tensor) -> Tensor:
        return self.encoder_lstm(self.fc(beats))[0]

    def step(self, beat: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """One beat (B, 2) through the one-direction (live) encoder."""
        return lstm_step(self.encoder_lstm, self.fc(beat), h, c)


class Attention(nn.Module):
    """Additive attention; ``attn1`` sees ``[decoder state; encoder output]`` as in the original.

    ``locality`` > 0 adds a learned score for where each encoder output lies relative to the current beat
    (offsets ``-locality..locality``, farther ones share the end buckets), started in favour of the current
    beat. Content alone does not tell the decoder which encoder output belongs to the beat it is decoding:
    without it the attention spreads over the whole rhythm and the beat's own timing is averaged away.
    0 is the architecture as published."""

    def __init__(self, context_dim: int, decode_hidden_dim: int, locality: int = 0):
        super().__init__()
        self.decode_hidden_dim = decode_hidden_dim
        self.locality = locality
        self.attn1 = nn.Linear(decode_hidden_dim + context_dim, decode_hidden_dim)
        self.attn2 = nn.Linear(decode_hidden_dim, 1)
        if locality:
            start = torch.zeros(2 * locality + 1)
            start[locality] = 4.0
            start[locality - 1] = start[locality + 1] = 2.0
            self.position_bias = nn.Parameter(start)

    def project_keys(self, enc: Tensor) -> Tensor:
        """The decoder-independent part of the score, once per encoder output: (..., D)."""
        return F.linear(enc, self.attn1.weight[:, self.decode_hidden_dim:], self.attn1.bias)

    def position_scores(self, offsets: Tensor) -> Tensor | float:
        """The location term of the scores of keys at ``offsets`` (key beat minus current beat)."""
        if not self.locality:
            return 0.0
        return self.position_bias[offsets.clamp(-self.locality, self.locality) + self.locality]

    def context(self, h: Tensor, keys: Tensor, values: Tensor, offsets: Tensor) -> Tensor:
        """Context for decoder state ``h`` (B, D) over ``keys`` (B, N, D) / ``values`` (B, N, C), whose beats
        lie at ``offsets`` (N,) from the current one."""
        query = F.linear(h, self.attn1.weight[:, : self.decode_hidden_dim])
        scores = self.attn2(F.leaky_relu(keys + query.unsqueeze(1))).squeeze(-1)
        weights = torch.softmax(scores + self.position_scores(offsets), dim=1)
        return torch.matmul(weights.unsqueeze(1), values).squeeze(1)


class Decoder(nn.Module):
    def __init__(self, num_notes: int, embed_dim: int, context_dim: int, decode_hidden_dim: int,
                 dropout: float, locality: int = 0):
        super().__init__()
        self.attention = Attention(context_dim, decode_hidden_dim, locality)
        self.note_embedding = nn.Embedding(num_notes, embed_dim)
        self.combine_fc = nn.Linear(embed_dim + context_dim, decode_hidden_dim)
        self.post_attention_lstm = nn.LSTM(decode_hidden_dim, decode_hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.notes_output = nn.Linear(decode_hidden_dim, num_notes)

    def step(self, context: Tensor, prev_pitch: Tensor, h: Tensor, c: Tensor):
        x = torch.cat((self.dropout(self.note_embedding(prev_pitch)), context), dim=-1)
        x = F.relu(self.combine_fc(x))
        h, c = lstm_step(self.post_attention_lstm, x, h, c)
        return h, c


class FullAttentionLSTM(MelodyModel):
    name = "attention_rnn"

    def __init__(self, num_notes: int = 128, embed_dim: int = 32, encode_hidden_dim: int = 512,
                 decode_hidden_dim: int = 1024, dropout: float = 0.0, kind: str = "offline",
                 window: int = 64, locality: int = 0, memory: dict | None = None):
        super().__init__(kind, num_notes, decode_hidden_dim, memory)
        if window < 1 or locality < 0:
            raise ValueError(f"the attention window must be at least 1 and locality at least 0 (window {window}, "
                             f"locality {locality})")
        self.window = window
        bidirectional = kind == "offline"
        self.encode_hidden_dim = encode_hidden_dim
        self.decode_hidden_dim = decode_hidden_dim
        self.context_dim = encode_hidden_dim * (2 if bidirectional else 1)
        self.encoder = Encoder(encode_hidden_dim, bidirectional)
        self.decoder = Decoder(num_notes, embed_dim, self.context_dim, decode_hidden_dim, dropout, locality)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_dim": self.decoder.note_embedding.embedding_dim,
                "encode_hidden_dim": self.encode_hidden_dim, "decode_hidden_dim": self.decode_hidden_dim,
                "dropout": self.decoder.dropout.p, "kind": self.kind, "window": self.window,
                "locality": self.decoder.attention.locality, "memory": self.memory_settings()}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, embed = sd["decoder.note_embedding.weight"].shape
        kind = "offline" if "encoder.encoder_lstm.weight_ih_l0_reverse" in sd else "live"
        return {"num_notes": num_notes, "embed_dim": embed, "kind": kind,
                "encode_hidden_dim": sd["encoder.fc.weight"].shape[0],
                "decode_hidden_dim": sd["decoder.notes_output.weight"].shape[1]}

    @property
    def needs_rhythm(self) -> bool:
        return self.kind == "offline"

    def decode(self, beats: Tensor, prev_notes: Tensor) -> tuple[Tensor, Tensor]:
        enc = self.encoder(beats)
        keys = self.decoder.attention.project_keys(enc)
        batch, length = prev_notes.shape
        h = zeros(batch, self.decode_hidden_dim, keys)
        c = zeros(batch, self.decode_hidden_dim, keys)
        outputs = []
        for t in range(length):
            lo = 0 if self.kind == "offline" else max(0, t + 1 - self.window)
            hi = length if self.kind == "offline" else t + 1
            offsets = torch.arange(lo - t, hi - t, device=keys.device)
            context = self.decoder.attention.context(h, keys[:, lo:hi], enc[:, lo:hi], offsets)
            h, c = self.decoder.step(context, prev_notes[:, t], h, c)
            outputs.append(h)
        states = self.decoder.dropout(torch.stack(outputs, dim=1))
        return self.decoder.notes_output(states), states

    def start_decoder(self, batch_size: int, beats: Tensor | None) -> State:
        like = self.decoder.notes_output.weight
        if self.kind == "offline":  # the whole rhythm encoded once, its keys with it
            enc = self.encoder(beats)
            batch_size = len(beats)
            state = {"memory_enc": enc, "memory_keys": self.decoder.attention.project_keys(enc)}
        else:  # the last `window` beats' encoder outputs and keys, in a ring
            state = {"eh": zeros(batch_size, self.encode_hidden_dim, like),
                     "ec": zeros(batch_size, self.encode_hidden_dim, like),
                     "ring_enc": like.new_zeros(batch_size, self.window, self.context_dim),
                     "ring_keys": like.new_zeros(batch_size, self.window, self.decode_hidden_dim)}
        state.update(h=zeros(batch_size, self.decode_hidden_dim, like),
                     c=zeros(batch_size, self.decode_hidden_dim, like), t=beat_counter(batch_size, like))
        return state

    def step_decoder(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        new = dict(state, t=state["t"] + 1)
        if self.kind == "offline":
            enc, keys = state["memory_enc"], state["memory_keys"]
            t = check_position(state, enc.shape[1])
            offsets = torch.arange(enc.shape[1], device=enc.device) - t
        else:
            t = position(state)
            new["eh"], new["ec"] = self.encoder.step(beat, state["eh"], state["ec"])
            slot = torch.tensor([t % self.window], device=beat.device)
            key = self.decoder.attention.project_keys(new["eh"])
            new["ring_enc"] = state["ring_enc"].index_copy(1, slot, new["eh"][:, None])
            new["ring_keys"] = state["ring_keys"].index_copy(1, slot, key[:, None])
            filled = min(t + 1, self.window)
            enc, keys = new["ring_enc"][:, :filled], new["ring_keys"][:, :filled]
            offsets = -((t - torch.arange(filled, device=beat.device)) % self.window)  # slot s holds beat t - ((t - s) mod window)
        context = self.decoder.attention.context(state["h"], keys, enc, offsets)
        new["h"], new["c"] = self.decoder.step(context, prev_pitch, state["h"], state["c"])
        out = self.decoder.dropout(new["h"])
        return self.decoder.notes_output(out), out, new
