"""The LSTM with Full Attention's fast path.

Each encoder output is kept as a key and a mix: its attention key and its share of ``combine_fc``
(``mix_j = W_ctx e_j``), both from one matrix. The context enters the decoder only through
``W_ctx (sum_j a_j e_j) = sum_j a_j mix_j``, so a step mixes stored rows instead of multiplying.

Scoring uses ``leaky(x) = 0.99 relu(x) + 0.01 x`` and ``relu(k + q) = max(k, -q) + q``:
``v . leaky(k_j + q) = 0.99 v . max(k_j, -q) + 0.01 v . k_j + (terms of q alone)``, and terms that are the
same for every ``j`` cancel in the softmax. So a step makes one pass over the (B, N, D) keys (``max``) and one
product with ``0.99 v``; ``0.01 v . k_j`` (the key bias) is computed once per key.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import Tensor

from models.fast.decoder import ContextDecoderSession, PitchContextDecoder
from models.fast.encoders import BeatEncoderCell, RhythmEncoder
from models.fast.kernels import Dense, scratch
from models.fast.steps import FastSteps
from models.streaming import State, beat_counter, check_position, position, zeros

LEAKY_SLOPE = 0.01  # F.leaky_relu's default, as the model's attention uses


class FullAttentionPlan:
    def __init__(self, model):
        enc, dec, d = model.encoder, model.decoder, model.decode_hidden_dim
        attn1, embed = dec.attention.attn1, dec.note_embedding.embedding_dim
        if model.kind == "live":
            self.encoder_cell = BeatEncoderCell(enc.fc, enc.encoder_lstm)
        else:
            self.encode = RhythmEncoder(enc.fc, enc.encoder_lstm)
        # [key; mix] of an encoder output in one matrix: attention keys, then its share of combine_fc.
        self.keys_mix = Dense(torch.cat([attn1.weight[:, d:], dec.combine_fc.weight[:, embed:]]),
                              torch.cat([attn1.bias, torch.zeros_like(attn1.bias)]))
        self.negative_query = Dense(-attn1.weight[:, :d])
        v = dec.attention.attn2.weight[0].detach().float()  # attn2's bias cancels in the softmax
        self.relu_vector = ((1 - LEAKY_SLOPE) * v).numpy()
        self.linear_vector = (LEAKY_SLOPE * v).numpy()
        self.hidden = d
        self.head = PitchContextDecoder(dec.note_embedding, dec.combine_fc, dec.post_attention_lstm, dec.notes_output)
        self.slots = [torch.tensor([i]) for i in range(model.window)]
        attention = dec.attention
        self.locality = attention.locality
        self.position_bias = attention.position_bias.detach().float().numpy().copy() if attention.locality else None
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
        if len(mix) == 1:  # shared by every row (offline, or a single live take)
            return weights @ mix[0]
        return np.matmul(weights[:, None, :], mix)[:, 0]

    def attention_weights(self, h: np.ndarray, keys: Tensor, key_bias: np.ndarray) -> np.ndarray:
        """Softmax attention weights (B, N) of decoder states ``h`` (B, D) over ``keys`` (B or 1, N, D); the
        (B, N, D) intermediate goes into a per-thread scratch buffer instead of a fresh allocation."""
        floor = torch.from_numpy(self.negative_query(h)).unsqueeze(1)
        work = scratch(self._scratch, (len(h), keys.shape[1], keys.shape[2]))
        torch.maximum(keys, floor, out=work)
        scores = work.numpy() @ self.relu_vector
        scores += key_bias
        return torch.softmax(torch.from_numpy(scores), 1).numpy()


class FullAttentionSteps(FastSteps):
    plan_type = FullAttentionPlan

    def start_decoder(self, plan: FullAttentionPlan, batch_size: int, beats: Tensor | None) -> tuple[State, int]:
        model = self.model
        like = model.decoder.notes_output.weight
        if model.kind == "offline":
            batch_size = len(beats)
            keys_mix = plan.keys_and_mix(plan.encode(beats)[0])
            state = {"memory_keys_mix": keys_mix,
                     "memory_key_bias": torch.from_numpy(plan.key_bias(keys_mix[:, 0].numpy()))}
        else:
            state = {"eh": zeros(batch_size, model.encode_hidden_dim, like),
                     "ec": zeros(batch_size, model.encode_hidden_dim, like),
                     "keys_mix": like.new_zeros(batch_size, 2, model.window, plan.hidden)}
        state.update(h=zeros(batch_size, plan.hidden, like), c=zeros(batch_size, plan.hidden, like),
                     t=beat_counter(batch_size, like))
        return state, batch_size

    def step_decoder(self, plan: FullAttentionPlan, state: State, beat: Tensor,
                     prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        new = dict(state, t=state["t"] + 1)
        if self.model.kind == "offline":
            keys_mix = state["memory_keys_mix"]
            t = check_position(state, keys_mix.shape[2])
            key_bias = state["memory_key_bias"].numpy() + plan.position_scores(t, keys_mix.shape[2])
        else:
            keys_mix, key_bias = self._live_keys(plan, state, beat, new)
        h = state["h"].numpy()
        mixed = plan.context_mix(h, keys_mix, key_bias)
        new["h"], new["c"], logits = plan.head.step(h, state["c"].numpy(), prev_pitch.numpy(), mixed)
        return logits, new["h"], new

    def _live_keys(self, plan: FullAttentionPlan, state: State, beat: Tensor, new: State):
        """The live encoder's step: its key and mix written into the ring (into ``new``); returns the filled
        part of the ring and its key bias."""
        t, window = position(state), self.model.window
        eh, ec = plan.encoder_cell(beat.numpy(), state["eh"].numpy(), state["ec"].numpy())
        new["eh"], new["ec"] = torch.from_numpy(eh), torch.from_numpy(ec)
        row = torch.from_numpy(plan.keys_mix(eh)).view(-1, 2, 1, plan.hidden)  # (B, key/mix, slot, D)
        new["keys_mix"] = keys_mix = state["keys_mix"].index_copy(2, plan.slots[t % window], row)
        if t + 1 < window:
            keys_mix = keys_mix[:, :, : t + 1]
        key_bias = plan.key_bias(keys_mix[:, 0].numpy()) + plan.position_scores(t, keys_mix.shape[2], window)
        return keys_mix, key_bias

    def session(self, beats: Tensor, batch_size: int) -> FullAttentionSession | None:
        """Offline only: the live kind uses the generic session."""
        if self.model.kind != "offline":
            return None
        state = self.start(1, beats=beats)
        return FullAttentionSession(self.plan, state["memory_keys_mix"], state["memory_key_bias"].numpy(),
                                    batch_size, self.session_memory(batch_size, beats))


class FullAttentionSession(ContextDecoderSession):
    """Attention over the rhythm's keys, shared by every beam, from each beam's decoder state."""

    def __init__(self, plan: FullAttentionPlan, keys_mix: Tensor, key_bias: np.ndarray, batch: int, memory=None):
        zero = np.zeros((batch, plan.hidden), dtype=np.float32)
        super().__init__(plan.head, zero, zero.copy(), keys_mix.shape[2], memory)
        self.plan, self.keys_mix, self.key_bias = plan, keys_mix, key_bias

    def context(self, t: int) -> np.ndarray:
        key_bias = self.key_bias + self.plan.position_scores(t, self.key_bias.shape[-1])
        return self.plan.context_mix(self.head.hidden(self.x_h), self.keys_mix, key_bias)
