"""Melody memory: a learned pointer over the notes of this tune so far, mixed in by a learned sentinel.

Tunes repeat and vary their own phrases, and a recurrent state forgets them. At beat ``t`` the memory looks
back over the last ``window`` notes of the same tune. Each past note ``j`` is stored as a key computed from
what led to it — the model's decoder state ``h_j``, the ``context`` pitches before it and the rhythm around
it (beats ``j`` and ``j - 1``) — with its pitch as the value. The current beat's query is computed the same
way from ``h_t``, so a query matches a key where the tune (pitches *and* rhythm) is where it was before, and
the pitch that followed then is proposed again.

One softmax runs over the past notes and a *sentinel* (Merity et al., "Pointer Sentinel Mixture Models",
2016): the sentinel's share is the weight of the model's own distribution, so the gate between copying and
composing is learned with the pointer, and a tune's first note (nothing to point at) falls back to the model::

    p(w) = a_sentinel * softmax(logits)(w) + sum_{j : pitch_j = w} a_j

The result is returned as log-probabilities: every consumer of logits (cross-entropy, softmax sampling,
temperature, beam search) treats normalised log-probabilities exactly as it treats logits.

``forward`` scores a whole sequence with teacher forcing; ``start``/``step`` run it one beat at a time with the
keys kept in a ring buffer of ``window`` slots, so a beat's cost stays flat however long the take
(:mod:`models.fast.memory` computes the same steps on the app's inference path).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: Added inside the log so a pitch neither the model nor the pointer proposes gets a finite score.
EPSILON = 1e-9


class MelodyMemory(nn.Module):
    def __init__(self, state_dim: int, num_notes: int = 128, key_dim: int = 64, pitch_dim: int = 16,
                 context: int = 4, window: int = 128):
        super().__init__()
        if min(key_dim, pitch_dim, context, window) < 1:  # a window of 0 divides by zero at the first note
            raise ValueError(f"the melody memory's sizes must be at least 1 (key_dim {key_dim}, pitch_dim "
                             f"{pitch_dim}, context {context}, window {window})")
        self.num_notes, self.key_dim, self.context, self.window = num_notes, key_dim, context, window
        self.pitch_embed = nn.Embedding(num_notes, pitch_dim)
        features = state_dim + context * pitch_dim + 4  # h, the previous pitches, beats t and t - 1
        self.query = nn.Linear(features, key_dim)
        self.key = nn.Linear(features, key_dim)
        self.sentinel = nn.Linear(features, 1)

    def config(self) -> dict:
        return {"key_dim": self.key_dim, "pitch_dim": self.pitch_embed.embedding_dim,
                "context": self.context, "window": self.window}

    def _features(self, h: Tensor, history: Tensor, beat: Tensor, prev_beat: Tensor) -> Tensor:
        """``h`` (..., S), ``history`` (..., context) pitches newest first, beats (..., 2) -> (..., F)."""
        pitches = self.pitch_embed(history).flatten(-2)
        return torch.cat([h, pitches, beat, prev_beat], dim=-1)

    def _mix(self, logits: Tensor, sentinel: Tensor, scores: Tensor, values: Tensor) -> Tensor:
        """Log-probabilities from the model's ``logits`` (..., N), the sentinel's score (..., 1), the past
        notes' scores (..., M) (``-inf`` where there is no note) and their pitches ``values`` (..., M)."""
        attention = torch.softmax(torch.cat([sentinel, scores], dim=-1), dim=-1)
        pointer = torch.zeros_like(logits).scatter_add_(-1, values, attention[..., 1:])
        probs = attention[..., :1] * torch.softmax(logits, dim=-1) + pointer
        return torch.log(probs + EPSILON)

    def forward(self, logits: Tensor, states: Tensor, beats: Tensor, prev_notes: Tensor) -> Tensor:
        """Teacher-forced: ``logits`` (B, T, N), decoder ``states`` (B, T, S), ``beats`` (B, T, 2),
        ``prev_notes`` (B, T) -> log-probabilities (B, T, N)."""
        batch, length = prev_notes.shape
        history = torch.stack([_shift(prev_notes, k) for k in range(self.context)], dim=-1)
        prev_beats = torch.cat([beats.new_zeros(batch, 1, 2), beats[:, :-1]], dim=1)
        z = self._features(states, history, beats, prev_beats)
        query, key, sentinel = self.query(z), self.key(z), self.sentinel(z)
        # Note j's pitch is the next note's previous pitch; the last note's is never pointed at.
        values = torch.cat([prev_notes[:, 1:], prev_notes.new_zeros(batch, 1)], dim=1)
        out = []
        for lo in range(0, length, self.window):  # query blocks: memory stays O(T * window)
            hi = min(lo + self.window, length)
            first = max(0, lo - self.window)
            scores = query[:, lo:hi] @ key[:, first:hi].transpose(1, 2) / math.sqrt(self.key_dim)
            t = torch.arange(lo, hi, device=scores.device)[:, None]
            j = torch.arange(first, hi, device=scores.device)[None, :]
            visible = (j < t) & (j >= t - self.window)
            scores = scores.masked_fill(~visible, float("-inf"))
            block_values = values[:, None, first:hi].expand(-1, hi - lo, -1)
            out.append(self._mix(logits[:, lo:hi], sentinel[:, lo:hi], scores, block_values))
        return torch.cat(out, dim=1)

    def start(self, batch_size: int, like: Tensor) -> dict[str, Tensor]:
        """The empty memory of a new tune, as ``recall_*`` entries of a model's state."""
        zeros = dict(dtype=like.dtype, device=like.device)
        return {"recall_keys": torch.zeros(batch_size, self.window, self.key_dim, **zeros),
                "recall_values": torch.zeros(batch_size, self.window, dtype=torch.long, device=like.device),
                "recall_pending": torch.zeros(batch_size, self.key_dim, **zeros),
                "recall_history": torch.zeros(batch_size, self.context, dtype=torch.long, device=like.device),
                "recall_beat": torch.zeros(batch_size, 2, **zeros),
                "recall_t": torch.zeros(batch_size, dtype=torch.long, device=like.device)}

    def step(self, state: dict[str, Tensor], logits: Tensor, h: Tensor, beat: Tensor,
                       prev_pitch: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """One beat: the previous note's key gets its pitch ``prev_pitch`` (B,), the query of decoder state
        ``h`` (B, S) reads the window; returns log-probabilities (B, N) and the new ``recall_*`` entries."""
        t = int(state["recall_t"][0]) if len(state["recall_t"]) else 0
        keys, values = state["recall_keys"], state["recall_values"]
        if t > 0:  # the pending key of beat t - 1 now knows which pitch followed it
            slot = torch.tensor([(t - 1) % self.window], device=keys.device)
            keys = keys.index_copy(1, slot, state["recall_pending"][:, None])
            values = values.index_copy(1, slot, prev_pitch[:, None].long())
        history = torch.cat([prev_pitch[:, None].long(), state["recall_history"][:, :-1]], dim=1)
        z = self._features(h, history, beat, state["recall_beat"])
        query, key, sentinel = self.query(z), self.key(z), self.sentinel(z)
        filled = min(t, self.window)
        scores = (keys[:, :filled] @ query[:, :, None])[..., 0] / math.sqrt(self.key_dim)
        log_probs = self._mix(logits, sentinel, scores, values[:, :filled])
        return log_probs, {"recall_keys": keys, "recall_values": values, "recall_pending": key,
                           "recall_history": history, "recall_beat": beat.clone(),
                           "recall_t": state["recall_t"] + 1}


def _shift(prev_notes: Tensor, k: int) -> Tensor:
    """``prev_notes`` delayed by ``k`` beats along time, 0 (the start token) before the window."""
    if k == 0:
        return prev_notes
    return F.pad(prev_notes, (k, 0))[:, : prev_notes.shape[1]]


def build_memory(config: dict | None, state_dim: int, num_notes: int) -> MelodyMemory | None:
    """The memory a model's ``memory`` config asks for (None: the model as published, without one)."""
    if config is None:
        return None
    return MelodyMemory(state_dim, num_notes, **config)
