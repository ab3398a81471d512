"""The LSTM with Local Attention's fast path: the previous pitch's share of ``combine_fc`` is a table row, the
context's share is computed once per rhythm (offline) or once per beat (live), and the decoder LSTM reads
``[x; h]`` through one matrix."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from models.fast.decoder import ContextDecoderSession, PitchContextDecoder
from models.fast.encoders import BeatEncoderCell, RhythmEncoder
from models.fast.kernels import Dense
from models.fast.steps import FastSteps
from models.streaming import State, beat_counter, check_position, zeros


class LocalAttentionPlan:
    def __init__(self, model):
        enc, dec, hidden = model.encoder, model.decoder, model.hidden_dim
        if model.kind == "live":
            self.encoder_cell = BeatEncoderCell(enc.duration_fc, enc.encoder)
        else:
            self.encode = RhythmEncoder(enc.duration_fc, enc.encoder)
        self.context_mix = Dense(dec.combine_fc.weight[:, hidden:])
        self.head = PitchContextDecoder(dec.note_embed, dec.combine_fc, dec.rnn, dec.notes_output)


class LocalAttentionSteps(FastSteps):
    plan_type = LocalAttentionPlan

    def start_decoder(self, plan: LocalAttentionPlan, batch_size: int, beats: Tensor | None) -> tuple[State, int]:
        if self.model.kind == "offline":  # each beat's context share, once per rhythm
            context, (h, c) = plan.encode(beats)
            mix = plan.context_mix.apply(context)
            return {"memory_mix": mix, "h": h[0], "c": c[0], "t": beat_counter(len(beats), mix)}, len(beats)
        like, size = self.model.decoder.notes_output.weight, self.model.hidden_dim
        return {name: zeros(batch_size, size, like) for name in ("eh", "ec", "h", "c")}, batch_size

    def step_decoder(self, plan: LocalAttentionPlan, state: State, beat: Tensor,
                     prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        new = dict(state)
        if self.model.kind == "offline":
            t = check_position(state, state["memory_mix"].shape[1])
            mixed = state["memory_mix"].numpy()[:, t]
            new["t"] = state["t"] + 1
        else:
            eh, ec = plan.encoder_cell(beat.numpy(), state["eh"].numpy(), state["ec"].numpy())
            new["eh"], new["ec"] = torch.from_numpy(eh), torch.from_numpy(ec)
            mixed = plan.context_mix(eh)
        new["h"], new["c"], logits = plan.head.step(state["h"].numpy(), state["c"].numpy(), prev_pitch.numpy(), mixed)
        return logits, new["h"], new

    def session(self, beats: Tensor, batch_size: int) -> LocalAttentionSession | None:
        """Offline only: the live kind steps its encoder with the decoder."""
        if self.model.kind != "offline":
            return None
        state = self.start(1, beats=beats)
        return LocalAttentionSession(self.plan, state["memory_mix"][0].numpy(), state["h"].numpy(),
                                     state["c"].numpy(), batch_size, self.session_memory(batch_size, beats))


class LocalAttentionSession(ContextDecoderSession):
    """Each beat's context share was computed with the encoder, once per rhythm."""

    def __init__(self, plan: LocalAttentionPlan, mix: np.ndarray, h: np.ndarray, c: np.ndarray, batch: int,
                 memory=None):
        super().__init__(plan.head, np.repeat(h, batch, axis=0), np.repeat(c, batch, axis=0), len(mix), memory)
        self.mix = mix

    def context(self, t: int) -> np.ndarray:
        return self.mix[t]
