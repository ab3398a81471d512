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

Steps run on an inference plan (:mod:`models.kernels`). Each encoder output is kept as a key and a mix: its
attention key and its share of ``combine_fc`` (``mix_j = W_ctx e_j``), both from one matrix. The context
enters the decoder only through ``W_ctx (sum_j a_j e_j) = sum_j a_j mix_j``, so a step mixes stored rows
instead of multiplying, and the previous pitch's share of ``combine_fc`` is a table row.

State-dict keys match the original's ``DeepBeatsAttentionRNN``.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from models.kernels import (
    ContextDecoderSession,
    Dense,
    PitchContextDecoder,
    PlanCache,
    beat_encoders,
    scratch,
)
from models.memory import build_memory
from models.streaming import State, advance, check_position, lstm_step, position, zeros


class Encoder(nn.Module):
    def __init__(self, hidden_dim: int, bidirectional: bool):
        super().__init__()
        self.fc = nn.Linear(2, hidden_dim)
        self.encoder_lstm = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, beats: Tensor) -> Tensor:
        return self.encoder_lstm(self.fc(beats))[0]


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


class FullAttentionLSTM(nn.Module):
    name = "attention_rnn"

    def __init__(self, num_notes: int = 128, embed_dim: int = 32, encode_hidden_dim: int = 512,
                 decode_hidden_dim: int = 1024, dropout: float = 0.0, kind: str = "offline",
                 window: int = 64, locality: int = 0, memory: dict | None = None):
        super().__init__()
        self.kind = kind
        self.num_notes = num_notes
        self.window = window
        bidirectional = kind == "offline"
        self.encode_hidden_dim = encode_hidden_dim
        self.decode_hidden_dim = decode_hidden_dim
        self.context_dim = encode_hidden_dim * (2 if bidirectional else 1)
        self.encoder = Encoder(encode_hidden_dim, bidirectional)
        self.decoder = Decoder(num_notes, embed_dim, self.context_dim, decode_hidden_dim, dropout, locality)
        self.memory = build_memory(memory, decode_hidden_dim, num_notes)
        self._plan = PlanCache(FullAttentionPlan)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "embed_dim": self.decoder.note_embedding.embedding_dim,
                "encode_hidden_dim": self.encode_hidden_dim, "decode_hidden_dim": self.decode_hidden_dim,
                "dropout": self.decoder.dropout.p, "kind": self.kind, "window": self.window,
                "locality": self.decoder.attention.locality,
                "memory": self.memory.config() if self.memory is not None else None}

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
            offsets = torch.arange(lo - t, hi - t, device=keys.device)
            context = self.decoder.attention.context(h, keys[:, lo:hi], enc[:, lo:hi], offsets)
            h, c = self.decoder.step(context, prev_notes[:, t], h, c)
            outputs.append(h)
        states = self.decoder.dropout(torch.stack(outputs, dim=1))
        logits = self.decoder.notes_output(states)
        if self.memory is None:
            return logits
        return self.memory(logits, states, beats, prev_notes)

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        w = self.decoder.notes_output.weight
        plan = self._plan.refresh(self)
        if self.kind == "offline":
            if beats is None:
                raise ValueError("an offline model needs the whole rhythm: start(beats=...)")
            batch_size = beats.shape[0]
            with torch.no_grad():
                enc = plan.encode(beats)[0]
            keys_mix = plan.keys_and_mix(enc)
            state = {"memory_keys_mix": keys_mix,
                     "memory_key_bias": torch.from_numpy(plan.key_bias(keys_mix[:, 0].numpy()))}
        else:
            state = {"eh": zeros(batch_size, self.encode_hidden_dim, w),
                     "ec": zeros(batch_size, self.encode_hidden_dim, w),
                     "keys_mix": w.new_zeros(batch_size, 2, self.window, self.decode_hidden_dim)}
        state["h"] = zeros(batch_size, self.decode_hidden_dim, w)
        state["c"] = zeros(batch_size, self.decode_hidden_dim, w)
        state["t"] = torch.zeros(batch_size, dtype=torch.long, device=w.device)
        if self.memory is not None:
            state.update(self.memory.start(batch_size, w))
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """One beat (inference only: no gradients flow through the plan's weights)."""
        plan = self._plan.plan
        new = dict(state)
        if self.kind == "offline":
            t = check_position(state, state["memory_keys_mix"].shape[2])
            keys_mix = state["memory_keys_mix"]
            key_bias = state["memory_key_bias"].numpy() + plan.position_scores(t, keys_mix.shape[2])
        else:
            t = position(state)
            eh, ec = plan.encoder(beat.numpy(), state["eh"].numpy(), state["ec"].numpy())
            new["eh"], new["ec"] = torch.from_numpy(eh), torch.from_numpy(ec)
            row = torch.from_numpy(plan.keys_mix(eh)).view(-1, 2, 1, self.decode_hidden_dim)  # (B, key/mix, slot, D)
            new["keys_mix"] = keys_mix = state["keys_mix"].index_copy(2, plan.slots[t % self.window], row)
            if t + 1 < self.window:
                keys_mix = keys_mix[:, :, : t + 1]
            key_bias = plan.key_bias(keys_mix[:, 0].numpy()) + plan.position_scores(t, keys_mix.shape[2], self.window)
        h = state["h"].numpy()
        mixed = plan.context_mix(h, keys_mix, key_bias)
        new["h"], new["c"], logits = plan.head.step(h, state["c"].numpy(), prev_pitch.numpy(), mixed)
        new["t"] = advance(state)
        if self.memory is not None:
            logits, recall = self.memory.step(state, logits, new["h"], beat, prev_pitch)
            new.update(recall)
        return logits, new

    def session(self, beats: Tensor, batch_size: int = 1, int8: bool = False) -> _OfflineSession | None:
        """As :meth:`models.local_attention.LocalAttentionLSTM.session`: offline only."""
        if self.kind != "offline":
            return None
        state = self.start(1, beats=beats)
        memory = self.memory.session(batch_size, beats[0].numpy()) if self.memory is not None else None
        return _OfflineSession(self._plan.plan, state["memory_keys_mix"], state["memory_key_bias"].numpy(),
                               batch_size, int8, memory)


class _OfflineSession(ContextDecoderSession):
    """Attention over the rhythm's keys, shared by every beam, from each beam's decoder state."""

    def __init__(self, plan: FullAttentionPlan, keys_mix: Tensor, key_bias: np.ndarray, batch: int, int8: bool,
                 memory=None):
        zero = np.zeros((batch, plan.hidden), dtype=np.float32)
        super().__init__(plan.head, zero, zero.copy(), keys_mix.shape[2], int8, memory)
        self.plan, self.keys_mix, self.key_bias = plan, keys_mix, key_bias

    def context(self, t: int) -> np.ndarray:
        key_bias = self.key_bias + self.plan.position_scores(t, self.key_bias.shape[-1])
        return self.plan.context_mix(self.head.hidden(self.x_h), self.keys_mix, key_bias)


class FullAttentionPlan:
    """Derived weights for inference steps (rebuilt by :class:`PlanCache` when the parameters change).

    Scoring uses ``leaky(x) = 0.99 relu(x) + 0.01 x`` and ``relu(k + q) = max(k, -q) + q``:
    ``v . leaky(k_j + q) = 0.99 v . max(k_j, -q) + 0.01 v . k_j + (terms of q alone)``, and terms that are
    the same for every ``j`` cancel in the softmax. So a step makes one pass over the (B, N, D) keys
    (``max``) and one product with ``0.99 v``, where ``leaky(k + q) . v`` took an add, an activation and a
    product; ``0.01 v . k_j`` (the key bias) is computed once per rhythm offline, and over the window (at
    most ``window`` keys) at each live beat.
    """

    def __init__(self, model: FullAttentionLSTM):
        dec, d = model.decoder, model.decode_hidden_dim
        attn1, embed = dec.attention.attn1, dec.note_embedding.embedding_dim
        self.encoder, self.encode = beat_encoders(model.encoder.fc, model.encoder.encoder_lstm, model.kind == "live")
        # [key; mix] of an encoder output in one matrix: attention keys, then its share of combine_fc.
        mix_weight = dec.combine_fc.weight[:, embed:]
        self.keys_mix = Dense(torch.cat([attn1.weight[:, d:], mix_weight]),
                              torch.cat([attn1.bias, torch.zeros_like(attn1.bias)]))
        self.negative_query = Dense(-attn1.weight[:, :d])
        slope = 0.01  # F.leaky_relu's default, as the module uses
        v = dec.attention.attn2.weight[0].detach()  # attn2's bias cancels in the softmax
        self.relu_vector = ((1 - slope) * v).numpy()
        self.linear_vector = (slope * v).numpy()
        self.hidden = d
        self.head = PitchContextDecoder.of(dec.note_embedding, dec.combine_fc, dec.post_attention_lstm,
                                           dec.notes_output, model.kind == "offline")
        self.slots = [torch.tensor([i]) for i in range(model.window)]
        attention = dec.attention
        self.locality = attention.locality
        self.position_bias = attention.position_bias.detach().numpy().copy() if attention.locality else None
        self._scratch = threading.local()

    def keys_and_mix(self, enc: Tensor) -> Tensor:
        """Encoder outputs (B, N, C) -> (B, 2, N, D): attention keys, then their share of ``combine_fc``."""
        both = self.keys_mix.apply(enc)
        return both.view(*both.shape[:-1], 2, -1).transpose(1, 2).contiguous()

    def position_scores(self, t: int, n: int, window: int | None = None) -> np.ndarray | float:
        """The location term of the scores at beat ``t`` of ``n`` keys: the rhythm's beats (offline), or the
        live ring's slots, where slot ``s`` holds beat ``t - ((t - s) mod window)``."""
        if self.position_bias is None:
            return 0.0
        slots = np.arange(n)
        offsets = slots - t if window is None else -((t - slots) % window)
        return self.position_bias[np.clip(offsets, -self.locality, self.locality) + self.locality]

    def key_bias(self, keys: np.ndarray) -> np.ndarray:
        """Each key's share of its score that does not depend on the query: (B, N) from keys (B, N, D)."""
        return keys @ self.linear_vector

    def context_mix(self, h: np.ndarray, keys_mix: Tensor, key_bias: np.ndarray) -> np.ndarray:
        """The context's share of ``combine_fc`` (B, D) for decoder states ``h`` (B, D): attention over the
        keys of ``keys_mix`` (B or 1, 2, N, D), then the same weights over the stored mixes."""
        weights = self.attention_weights(h, keys_mix[:, 0], key_bias)
        mix = keys_mix[:, 1].numpy()
        if len(mix) == 1:  # shared by every row (offline memory, or a single live take)
            return weights @ mix[0]
        return np.matmul(weights[:, None, :], mix)[:, 0]

    def attention_weights(self, h: np.ndarray, keys: Tensor, key_bias: np.ndarray) -> np.ndarray:
        """Softmax attention weights (B, N) of decoder states ``h`` (B, D) over ``keys`` (B or 1, N, D).

        The (B, N, D) intermediate is written into a per-thread scratch buffer: over a 512-beat rhythm with
        five beams it is 2.6 MB, and allocating it afresh each step costs more than the arithmetic."""
        floor = torch.from_numpy(self.negative_query(h)).unsqueeze(1)
        work = scratch(self._scratch, (len(h), keys.shape[1], keys.shape[2]))
        torch.maximum(keys, floor, out=work)  # one pass; torch's broadcasting is ~2x NumPy's here
        scores = work.numpy() @ self.relu_vector
        scores += key_bias
        return torch.softmax(torch.from_numpy(scores), 1).numpy()  # one call where NumPy needs five
