"""What the three architectures share: the melody memory plugged onto their decoder, once.

An architecture implements three things — ``decode`` (teacher-forced decoder states and logits),
``start_decoder`` and ``step_decoder`` (one beat) — and :class:`MelodyModel` adds the optional melody memory
(:mod:`models.memory`) on top of each, so that ``forward``, ``start`` and ``step`` are the same for all.
"""

from __future__ import annotations

from torch import Tensor, nn

from models.memory import build_memory
from models.streaming import State


class MelodyModel(nn.Module):
    """Base of every architecture: beats and previous pitches in, 128-way scores of the next pitch out.

    Without a memory the scores are logits; with one, normalised log-probabilities (every consumer of logits
    treats them the same way)."""

    name = ""

    def __init__(self, kind: str, num_notes: int, state_dim: int, memory: dict | None):
        super().__init__()
        if kind not in ("offline", "live"):
            raise ValueError(f"unknown kind {kind!r}: 'offline' or 'live'")
        self.kind = kind
        self.num_notes = num_notes
        self.memory = build_memory(memory, state_dim, num_notes)

    def memory_settings(self) -> dict | None:
        return self.memory.config() if self.memory is not None else None

    def decode(self, beats: Tensor, prev_notes: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced decoder: ``(logits (B, T, N), decoder states (B, T, S))``."""
        raise NotImplementedError

    def start_decoder(self, batch_size: int, beats: Tensor | None) -> State:
        raise NotImplementedError

    def step_decoder(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        """One beat: ``(logits (B, N), decoder state h (B, S), new state)``."""
        raise NotImplementedError

    def forward(self, beats: Tensor, prev_notes: Tensor) -> Tensor:
        logits, states = self.decode(beats, prev_notes)
        if self.memory is None:
            return logits
        return self.memory(logits, states, beats, prev_notes)

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        """The state before the first beat; offline kinds need the whole rhythm ``beats`` (B, n, 2)."""
        if beats is None and self.needs_rhythm:
            raise ValueError("an offline model needs the whole rhythm: start(beats=...)")
        state = self.start_decoder(batch_size, beats)
        if self.memory is not None:
            rows = beats.shape[0] if beats is not None and self.needs_rhythm else batch_size
            state.update(self.memory.start(rows, self.memory.key.weight))
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """One beat (B, 2) after pitches ``prev_pitch`` (B,): scores (B, N) and the new state."""
        logits, h, new = self.step_decoder(state, beat, prev_pitch)
        if self.memory is None:
            return logits, new
        logits, recall = self.memory.step(state, logits, h, beat, prev_pitch)
        new.update(recall)
        return logits, new

    @property
    def needs_rhythm(self) -> bool:
        """True where ``start`` reads the whole rhythm (offline attention models)."""
        return False
