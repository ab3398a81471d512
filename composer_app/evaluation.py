"""Scoring models on melodies: negative log-likelihood, perplexity, next-note accuracy, and trivial baselines.

Each melody is scored as one whole sequence (the model starts from its initial state at the first note), the
way a user's take is generated. Numbers are per note, in nats.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from composer_app.checkpoints import LoadedModel


@dataclass
class Scores:
    notes: int
    nll: float
    perplexity: float
    accuracy: float

    @classmethod
    def from_sums(cls, notes: int, nll_sum: float, correct: int) -> Scores:
        nll = nll_sum / max(notes, 1)
        return cls(notes, nll, math.exp(min(nll, 50.0)), correct / max(notes, 1))

    def as_dict(self) -> dict:
        return asdict(self)


def _score(loaded: LoadedModel, melodies, logits_of, progress=None) -> Scores:
    """NLL and accuracy over ``melodies``, from ``logits_of(beats, prev)`` -> (L, notes) for each melody's
    teacher-forced inputs (:meth:`LoadedModel.melody_inputs`)."""
    loaded.model.eval()
    notes = correct = 0
    nll_sum = 0.0
    for melody in melodies:
        if len(melody) == 0:
            continue
        beats, prev, target = loaded.melody_inputs(melody)
        logits = logits_of(beats, prev)
        target = target[0].to(logits.device)
        nll_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(-1) == target).sum())
        notes += len(target)
        if progress is not None:
            progress.update(1)
    return Scores.from_sums(notes, nll_sum, correct)


@torch.no_grad()
def score_model(loaded: LoadedModel, melodies, progress=None) -> Scores:
    """Teacher-forced NLL and accuracy of ``loaded`` over ``melodies`` (arrays of notes)."""
    model = loaded.model
    device = next(model.parameters()).device
    return _score(loaded, melodies, lambda beats, prev: model(beats.to(device), prev.to(device))[0], progress)


@torch.inference_mode()
def score_sessions(loaded: LoadedModel, melodies, int8: bool = False, progress=None) -> Scores:
    """As :func:`score_model`, but teacher-forced through the per-beat session that generation decodes with
    (:func:`models.streaming.session_for`), so that the arithmetic of generation is what is scored: with
    ``int8`` the offline lstm_attn's int8 decoder product, which ``generate`` uses by default."""
    from models.streaming import session_for

    def stepped(beats, prev):
        session = session_for(loaded.model, beats, 1, int8=int8)
        previous = prev[0].numpy()
        return torch.from_numpy(np.concatenate([session.step(previous[t:t + 1]) for t in range(len(previous))]))

    return _score(loaded, melodies, stepped, progress)


def _pitches(melodies):
    return [np.asarray(m)[:, 2].astype(int) for m in melodies if len(m)]


def baseline_scores(train_melodies, test_melodies, num_notes: int = 128, alpha: float = 0.1) -> dict:
    """Repeat-previous-pitch, most-frequent-pitch, unigram and bigram predictors fitted on ``train``.

    Bigram probabilities are interpolated with the unigram (add-``alpha`` smoothing) so no note has zero
    probability; the start token 0 is the "previous pitch" of a first note, as for the models.
    """
    uni = Counter()
    bi = np.zeros((num_notes, num_notes))
    for p in _pitches(train_melodies):
        uni.update(p.tolist())
        prev = np.concatenate([[0], p[:-1]])
        np.add.at(bi, (prev, p), 1)
    uni_counts = np.array([uni.get(i, 0) for i in range(num_notes)], dtype=float) + alpha
    uni_prob = uni_counts / uni_counts.sum()
    bi_prob = (bi + 20 * alpha * uni_prob) / (bi.sum(1, keepdims=True) + 20 * alpha)
    most = int(np.argmax(uni_counts))
    n = 0
    sums = {"repeat": [0.0, 0], "most_frequent": [0.0, 0], "unigram": [0.0, 0], "bigram": [0.0, 0]}
    for p in _pitches(test_melodies):
        prev = np.concatenate([[0], p[:-1]])
        n += len(p)
        sums["repeat"][1] += int((prev == p).sum())
        sums["most_frequent"][1] += int((p == most).sum())
        sums["unigram"][0] += float(-np.log(uni_prob[p]).sum())
        sums["unigram"][1] += int((p == most).sum())
        sums["bigram"][0] += float(-np.log(bi_prob[prev, p]).sum())
        sums["bigram"][1] += int((bi_prob[prev].argmax(1) == p).sum())
    out = {}
    for name, (nll, correct) in sums.items():
        s = Scores.from_sums(n, nll, correct)
        if name in ("repeat", "most_frequent"):
            s = Scores(n, float("nan"), float("nan"), s.accuracy)
        out[name] = s
    return out
