"""The attention models' beat encoders (a dense layer on the beat feeding an LSTM) with the dense layer folded
into the LSTM's input weights (:func:`~models.fast.kernels.fold_beat_layer`): the beat then meets a
``4H x 2`` matrix instead of ``H x 2`` followed by ``4H x H``."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from models.fast.kernels import Dense, fold_beat_layer, lstm_update, sigmoid_gates_first


class BeatEncoderCell:
    """The live kinds' one-direction encoder, stepped one beat at a time."""

    def __init__(self, fc: nn.Linear, lstm: nn.LSTM):
        w, b = fold_beat_layer(fc, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)
        self.beat_weight = sigmoid_gates_first(w).t().float().contiguous().numpy()  # (2, 4H)
        self.hidden = Dense(sigmoid_gates_first(lstm.weight_hh_l0), sigmoid_gates_first(b))

    def __call__(self, beat: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gates = self.hidden(h)
        gates += beat @ self.beat_weight
        return lstm_update(gates, c)


class RhythmEncoder:
    """The offline kinds' encoder over a whole rhythm: the same ``torch.lstm`` kernel ``nn.LSTM`` calls, on the
    folded input weights (``nn.LSTM`` would first multiply every beat's H-wide dense output by ``W_ih``)."""

    def __init__(self, fc: nn.Linear, lstm: nn.LSTM):
        self.params = []
        for suffix in ("_l0", "_l0_reverse") if lstm.bidirectional else ("_l0",):
            w, b = fold_beat_layer(fc, getattr(lstm, "weight_ih" + suffix), getattr(lstm, "bias_ih" + suffix))
            self.params += [w, getattr(lstm, "weight_hh" + suffix), b, getattr(lstm, "bias_hh" + suffix)]
        self.params = [p.detach().float().contiguous() for p in self.params]
        self.bidirectional = lstm.bidirectional
        self.hidden = lstm.hidden_size

    def __call__(self, beats: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``beats`` (B, n, 2) -> outputs (B, n, directions * H) and final ``(h, c)`` (directions, B, H)."""
        zero = beats.new_zeros(2 if self.bidirectional else 1, beats.shape[0], self.hidden)
        with torch.no_grad():
            out, h, c = torch.lstm(beats.float(), (zero, zero), self.params, True, 1, 0.0, False,
                                   self.bidirectional, True)
        return out, (h, c)
