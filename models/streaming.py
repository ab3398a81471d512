"""The step interface shared by every model, and the tensor helpers that make per-beat steps cheap.

Every model in this package runs two ways:

* ``forward(beats, prev_notes)`` scores a whole sequence with teacher forcing (training, evaluation);
* ``start(batch_size, beats=None)`` then ``step(state, beat, prev_pitch)`` runs one beat at a time from a
  carried state (live play, tests, any model). Stepping gives exactly the ``forward`` logits.
* ``session(beats, batch_size, int8=False)`` runs a whole known rhythm beat by beat for generation
  (sampling, beam search): a :class:`Session` keeps its state in buffers it updates in place, and
  precomputes everything that depends on the rhythm alone. :func:`session_for` gives every model one — a
  dedicated one where the model has it, else :class:`StepSession` over ``start``/``step``. Sessions give the
  same logits as ``step``; with ``int8=True`` a session may run its decoder's recurrent product in int8 where
  that pays (``lstm_attn`` offline, :class:`models.kernels.Int8Dense`), within quantisation error of them.

A *state* is a plain ``dict`` of tensors whose first axis is the batch: beam search can therefore copy,
select and reorder it with :func:`select_state` / :func:`repeat_state` without knowing the model. Entries
named ``memory_*`` hold what an offline model computed once from the whole rhythm (encoder outputs); with a
batch of one they are shared by every beam instead of copied at each step, and steps broadcast them.

Per-beat steps never run a length-one sequence through an ``nn.LSTM``/``nn.RNN`` module (that path goes
through oneDNN and costs many times more per step on CPU). ``step`` is for inference, on the CPU: it runs
without gradients on a plan derived from the same weights (:mod:`models.kernels`: packed matrices, folded
tables) that ``start()`` refreshes when the weights changed. Training uses ``forward``, whose attention
decoder steps with ``torch.lstm_cell`` on the module's own weights (:func:`lstm_step`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

State = dict[str, Tensor]


class StepModel(Protocol):
    """What every model offers (see the module docstring)."""

    kind: str
    num_notes: int

    def forward(self, beats: Tensor, prev_notes: Tensor) -> Tensor: ...

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State: ...

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]: ...


class Session(Protocol):
    """A whole rhythm decoded beat by beat for ``batch_size`` rows (beams), state kept in place."""

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        """Logits (B, num_notes) of the next beat, given each row's previous pitch (B,). The caller may
        overwrite the returned array."""
        ...

    def reorder(self, rows: np.ndarray) -> None:
        """Row ``i`` continues from what row ``rows[i]`` was (beam search keeping, copying, dropping beams)."""
        ...


class RhythmSession:
    """Base of the models' own sessions: counts the beats of a rhythm ``length`` beats long."""

    def __init__(self, length: int):
        self.length = length
        self.t = 0

    def next_beat(self) -> int:
        """The index of the beat to decode now (and move on), or IndexError past the rhythm's end."""
        t = self.t
        if t >= self.length:
            raise IndexError(f"stepped past the end of the rhythm ({self.length} beats)")
        self.t = t + 1
        return t


class StepSession(RhythmSession):
    """Any model's ``start``/``step`` as a :class:`Session`: the functional interface, for models and kinds
    without a dedicated session."""

    def __init__(self, model: StepModel, beats: Tensor, batch_size: int):
        super().__init__(beats.shape[1])
        self.model = model
        self.state = repeat_state(model.start(1, beats=beats), batch_size)
        self.beats = beats[0].unsqueeze(1).expand(-1, batch_size, beats.shape[2]).unbind(0)  # (B, 2) views

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        beat = self.beats[self.next_beat()]
        logits, self.state = self.model.step(self.state, beat, torch.from_numpy(prev_pitch))
        return logits.numpy()

    def reorder(self, rows: np.ndarray) -> None:
        self.state = select_state(self.state, torch.from_numpy(rows))


def session_for(model: StepModel, beats: Tensor, batch_size: int = 1, int8: bool = False) -> Session:
    """A session over rhythm ``beats`` (1, n, features): the model's own if it has one for its kind.
    ``int8``: the model's session may run its largest per-beat product in int8 where that pays (the offline
    ``lstm_attn`` decoder, :class:`models.kernels.Int8Dense`); the generic one always runs ``step`` exactly."""
    own = getattr(model, "session", None)
    session = own(beats, batch_size, int8=int8) if own is not None else None
    return session if session is not None else StepSession(model, beats, batch_size)


MEMORY = "memory_"


def _shared(key: str, value: Tensor) -> bool:
    return key.startswith(MEMORY) and value.shape[0] == 1


def select_state(state: State, index: Tensor) -> State:
    """Rows ``index`` of every tensor in ``state`` (reorder, copy or drop batch entries)."""
    return {k: v if _shared(k, v) else v.index_select(0, index) for k, v in state.items()}


def repeat_state(state: State, n: int) -> State:
    """Each batch entry repeated ``n`` times in a row (``[a, b] -> [a]*n + [b]*n``)."""
    return {k: v if _shared(k, v) else v.repeat_interleave(n, dim=0) for k, v in state.items()}


def lstm_weights(lstm: nn.LSTM, suffix: str = "_l0") -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return (
        getattr(lstm, "weight_ih" + suffix),
        getattr(lstm, "weight_hh" + suffix),
        getattr(lstm, "bias_ih" + suffix),
        getattr(lstm, "bias_hh" + suffix),
    )


def lstm_step(lstm: nn.LSTM, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One step of a single-layer, one-direction ``nn.LSTM`` with its own weights; ``x``: (B, in)."""
    return torch.lstm_cell(x, (h, c), *lstm_weights(lstm))


def zeros(batch_size: int, size: int, like: Tensor) -> Tensor:
    return torch.zeros(batch_size, size, dtype=like.dtype, device=like.device)


def position(state: State) -> int:
    """Beat index of an offline state (all batch entries advance together)."""
    t = state["t"].numpy()
    return int(t[0]) if t.size else 0


def advance(state: State) -> Tensor:
    """The state's beat counter one beat on (a new tensor: states are never changed in place)."""
    return torch.from_numpy(state["t"].numpy() + 1)


def check_position(state: State, length: int) -> int:
    t = position(state)
    if t >= length:
        raise IndexError(f"stepped past the end of the rhythm ({length} beats) given to start()")
    return t
