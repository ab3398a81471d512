"""LSTM with Local Attention (the original project's ``lstm_attn``).

A dense layer lifts each beat, an LSTM encoder reads the rhythm, and decoder step ``i`` combines the previous
pitch embedding with encoder output ``i`` (notes and beats align 1:1, so attention is *local*: one position,
linear cost), then an LSTM and a 128-way output.

* *offline* (as published): bidirectional encoder over ``(rest_i, dur_i)``; the decoder starts from the
  encoder's forward final state. ``start(beats=...)`` encodes the whole rhythm once, then steps read it.
* *live*: one-direction encoder over ``(rest_i, dur_{i-1})``, stepped together with the decoder, which
  starts from zeros (the encoder's final state would be the future).

Steps run on an inference plan (:mod:`models.kernels`): the previous pitch's share of ``combine_fc`` is a
table row, the context's share is computed once per rhythm (offline) or once per beat (live), and the
decoder LSTM reads ``[x; h]`` through one packed matrix.

State-dict keys match the original's ``DeepBeatsLSTMLocalAttn``.
"""

from __future__ import annotations

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
)
from models.memory import build_memory
from models.streaming import State, advance, check_position, zeros


class LocalAttnEncoder(nn.Module):
    def __init__(self, hidden_dim: int, bidirectional: bool):
        super().__init__()
        self.duration_fc = nn.Linear(2, hidden_dim)
        self.encoder = nn.LSTM(hidden_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)

    def forward(self, beats: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        out, (h, c) = self.encoder(self.duration_fc(beats))
        return out, (h[:1], c[:1])


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


class LocalAttentionLSTM(nn.Module):
    name = "lstm_attn"

    def __init__(self, num_notes: int = 128, hidden_dim: int = 512, dropout_p: float = 0.5,
                 kind: str = "offline", memory: dict | None = None):
        super().__init__()
        self.kind = kind
        self.num_notes = num_notes
        self.hidden_dim = hidden_dim
        bidirectional = kind == "offline"
        self.encoder = LocalAttnEncoder(hidden_dim, bidirectional)
        context_dim = hidden_dim * (2 if bidirectional else 1)
        self.decoder = LocalAttnDecoder(hidden_dim, context_dim, num_notes, dropout_p)
        self.memory = build_memory(memory, hidden_dim, num_notes)
        self._plan = PlanCache(LocalAttentionPlan)

    def config(self) -> dict:
        return {"num_notes": self.num_notes, "hidden_dim": self.hidden_dim,
                "dropout_p": self.decoder.dropout.p, "kind": self.kind,
                "memory": self.memory.config() if self.memory is not None else None}

    @classmethod
    def config_from_state_dict(cls, sd: dict) -> dict:
        num_notes, hidden = sd["decoder.note_embed.weight"].shape
        kind = "offline" if "encoder.encoder.weight_ih_l0_reverse" in sd else "live"
        return {"num_notes": num_notes, "hidden_dim": hidden, "kind": kind}

    def forward(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        context, enc_state = self.encoder(beats)
        initial = enc_state if self.kind == "offline" else None
        states = self.decoder(prev_notes, context, initial)
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
            with torch.no_grad():
                context, (h, c) = plan.encode(beats)
            mixed = plan.context_mix.apply(context)
            batch_size = beats.shape[0]
            state = {"memory_mix": mixed, "h": h[0], "c": c[0],
                     "t": torch.zeros(batch_size, dtype=torch.long, device=w.device)}
        else:
            hd = self.hidden_dim
            state = {"eh": zeros(batch_size, hd, w), "ec": zeros(batch_size, hd, w),
                     "h": zeros(batch_size, hd, w), "c": zeros(batch_size, hd, w)}
        if self.memory is not None:
            state.update(self.memory.start(batch_size, w))
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """One beat (inference only: no gradients flow through the plan's weights)."""
        plan = self._plan.plan
        new = dict(state)
        if self.kind == "offline":
            t = check_position(state, state["memory_mix"].shape[1])
            mixed = state["memory_mix"].numpy()[:, t]
            new["t"] = advance(state)
        else:
            eh, ec = plan.encoder(beat.numpy(), state["eh"].numpy(), state["ec"].numpy())
            new["eh"], new["ec"] = torch.from_numpy(eh), torch.from_numpy(ec)
            mixed = plan.context_mix(eh)
        new["h"], new["c"], logits = plan.head.step(state["h"].numpy(), state["c"].numpy(), prev_pitch.numpy(), mixed)
        if self.memory is not None:
            logits, recall = self.memory.step(state, logits, new["h"], beat, prev_pitch)
            new.update(recall)
        return logits, new

    def session(self, beats: Tensor, batch_size: int = 1, int8: bool = False) -> _OfflineSession | None:
        """The offline kind decodes a known rhythm in place (see :class:`models.streaming.Session`; ``int8``:
        the decoder's LSTM product in int8, :class:`models.kernels.Int8Dense`); the live kind steps its
        encoder with the decoder and uses the generic session (None here)."""
        if self.kind != "offline":
            return None
        state = self.start(1, beats=beats)
        memory = self.memory.session(batch_size, beats[0].numpy()) if self.memory is not None else None
        return _OfflineSession(self._plan.plan, state["memory_mix"][0].numpy(), state["h"].numpy(),
                               state["c"].numpy(), batch_size, int8, memory)


class _OfflineSession(ContextDecoderSession):
    """Each beat's context share was computed with the encoder, once per rhythm."""

    def __init__(self, plan: LocalAttentionPlan, mix: np.ndarray, h: np.ndarray, c: np.ndarray, batch: int, int8: bool,
                 memory=None):
        super().__init__(plan.head, np.repeat(h, batch, axis=0), np.repeat(c, batch, axis=0), len(mix), int8,
                         memory)
        self.mix = mix

    def context(self, t: int) -> np.ndarray:
        return self.mix[t]


class LocalAttentionPlan:
    """Derived weights for inference steps (rebuilt by :class:`PlanCache` when the parameters change)."""

    def __init__(self, model: LocalAttentionLSTM):
        dec, hidden = model.decoder, model.hidden_dim
        self.encoder, self.encode = beat_encoders(model.encoder.duration_fc, model.encoder.encoder, model.kind == "live")
        self.context_mix = Dense(dec.combine_fc.weight[:, hidden:])
        self.head = PitchContextDecoder.of(dec.note_embed, dec.combine_fc, dec.rnn, dec.notes_output,
                                           model.kind == "offline")
