"""The step interface every model offers, and the helpers its plain reference steps share.

Every model in this package runs two ways on the same weights:

* ``forward(beats, prev_notes)`` scores a whole sequence with teacher forcing (training, evaluation);
* ``start(batch_size, beats=None)`` then ``step(state, beat, prev_pitch)`` runs one beat at a time from a
  carried state, in plain torch: the reference for what a beat computes. Stepping gives the ``forward``
  logits (tested for every model and kind).

The app steps through :mod:`models.fast` instead, which computes the same numbers on derived weights.

A *state* is a plain ``dict`` of tensors whose first axis is the batch, so beam search can copy, select and
reorder it with :func:`select_state` / :func:`repeat_state` without knowing the model. Entries named
``memory_*`` hold what an offline model computed once from the whole rhythm (encoder outputs); with a batch of
one they are shared by every beam instead of copied.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

State = dict[str, Tensor]


SHARED = "memory_"


def _shared(key: str, value: Tensor) -> bool:
    return key.startswith(SHARED) and value.shape[0] == 1


def select_state(state: State, index: Tensor) -> State:
    """Rows ``index`` of every tensor in ``state`` (reorder, copy or drop batch entries)."""
    return {k: v if _shared(k, v) else v.index_select(0, index) for k, v in state.items()}


def repeat_state(state: State, n: int) -> State:
    """Each batch entry repeated ``n`` times in a row (``[a, b] -> [a]*n + [b]*n``)."""
    return {k: v if _shared(k, v) else v.repeat_interleave(n, dim=0) for k, v in state.items()}


def lstm_step(lstm: nn.LSTM, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One step of a single-layer, one-direction ``nn.LSTM`` with its own weights; ``x``: (B, in)."""
    return torch.lstm_cell(x, (h, c), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)


def rnn_step(rnn: nn.RNN, x: Tensor, h: Tensor) -> Tensor:
    """One step of a single-layer, one-direction tanh ``nn.RNN`` with its own weights; ``x``: (B, in)."""
    return torch.rnn_tanh_cell(x, h, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)


def zeros(batch_size: int, size: int, like: Tensor) -> Tensor:
    return torch.zeros(batch_size, size, dtype=like.dtype, device=like.device)


def beat_counter(batch_size: int, like: Tensor) -> Tensor:
    """A state's beat counter at the first beat (every batch entry advances together)."""
    return torch.zeros(batch_size, dtype=torch.long, device=like.device)


def position(state: State) -> int:
    """The index of the beat a state is at."""
    t = state["t"]
    return int(t[0]) if len(t) else 0


def check_position(state: State, length: int) -> int:
    """:func:`position`, or IndexError past the end of a rhythm ``length`` beats long."""
    t = position(state)
    if t >= length:
        raise IndexError(f"stepped past the end of the rhythm ({length} beats) given to start()")
    return t
