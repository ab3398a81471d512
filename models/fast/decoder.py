"""The decoder end both attention models share, and its whole-rhythm session."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from models.fast.kernels import Dense, embedding_table, lstm_dense, lstm_update
from models.fast.sessions import RhythmSession


class PitchContextDecoder:
    """Once the context's share ``mixed`` of ``combine_fc`` is known: ``x = relu(table[prev] + mixed)`` (the
    previous pitch's share is a table row), one LSTM step over ``[x; h]``, the output layer.

    It works on a row block ``x_h`` (B, X + H) whose right part holds ``h`` (:meth:`rows` makes one):
    :meth:`advance` fills the left part, steps, and writes the new ``h`` back, so a session keeps one block
    for a whole rhythm and a functional step uses a fresh one."""

    def __init__(self, embedding: nn.Embedding, combine_fc: nn.Linear, lstm: nn.LSTM, output: nn.Linear):
        self.table = embedding_table(embedding, combine_fc, slice(0, embedding.embedding_dim))
        self.lstm, self.output = lstm_dense(lstm), Dense.of(output)
        self.width = self.table.shape[1]

    def rows(self, h: np.ndarray) -> np.ndarray:
        x_h = np.empty((len(h), self.width + h.shape[1]), dtype=np.float32)
        x_h[:, self.width:] = h
        return x_h

    def hidden(self, x_h: np.ndarray) -> np.ndarray:
        return x_h[:, self.width:]

    def step(self, h: np.ndarray, c: np.ndarray, prev_pitch: np.ndarray,
             mixed: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """A functional step (``h`` and ``c`` are left as they are): the new ``h``, ``c`` and the logits."""
        x_h = self.rows(h)
        c, logits = self.advance(x_h, c, prev_pitch, mixed)
        return torch.from_numpy(self.hidden(x_h)), torch.from_numpy(c), torch.from_numpy(logits)

    def advance(self, x_h: np.ndarray, c: np.ndarray, prev_pitch: np.ndarray,
                mixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step on ``x_h`` in place: returns the new cell state and the logits."""
        x = x_h[:, :self.width]
        np.take(self.table, prev_pitch, axis=0, out=x, mode="clip")
        x += mixed
        np.maximum(x, 0.0, out=x)
        h, c = lstm_update(self.lstm(x_h), c)
        x_h[:, self.width:] = h
        return c, self.output(h)


class ContextDecoderSession(RhythmSession):
    """A session over a :class:`PitchContextDecoder`: the rows ``x_h`` and cell ``c`` of every beam kept in
    place; a subclass gives each beat's ``mixed`` (:meth:`context`). ``memory``: the model's melody memory
    in the session (:class:`models.fast.memory.SessionMemory`), or None."""

    def __init__(self, head: PitchContextDecoder, h: np.ndarray, c: np.ndarray, length: int, memory=None):
        super().__init__(length)
        self.head = head
        self.x_h = head.rows(h)
        self.c = c
        self.memory = memory

    def context(self, t: int) -> np.ndarray:
        raise NotImplementedError

    def step(self, prev_pitch: np.ndarray) -> np.ndarray:
        t = self.next_beat()
        self.c, logits = self.head.advance(self.x_h, self.c, prev_pitch, self.context(t))
        if self.memory is not None:
            logits = self.memory.apply(t, logits, self.head.hidden(self.x_h), prev_pitch)
        return logits

    def reorder(self, rows: np.ndarray) -> None:
        self.x_h[:] = self.x_h[rows]
        self.c = self.c[rows]
        if self.memory is not None:
            self.memory.reorder(rows)
