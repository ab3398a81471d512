"""Scoring models on melodies: negative log-likelihood, perplexity, next-note accuracy, and baselines.

Each melody is scored as one whole sequence (the model starts from its initial state at the first note), the
way a user's take is generated. Numbers are per note, in nats. The baselines are trivial predictors fitted on
the training split and the untrained within-tune short-term model (:mod:`composer_app.short_term`), alone and
mixed into a model.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from composer_app import short_term as stm
from composer_app.checkpoints import LoadedModel

#: Melodies longer than this many notes are scored per beat, in memory that stays bounded (see :func:`score`).
LONG_MELODY = 2000


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


class _Tally:
    """Running sums of negative log-likelihood and correct argmax predictions over notes."""

    def __init__(self):
        self.notes = self.correct = 0
        self.nll_sum = 0.0

    def add_logits(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.nll_sum += float(F.cross_entropy(logits, target, reduction="sum"))
        self.correct += int((logits.argmax(-1) == target).sum())
        self.notes += len(target)

    def add_probabilities(self, probs: np.ndarray, target: np.ndarray) -> None:
        picked = probs[np.arange(len(target)), target]
        self.nll_sum += float(-np.log(np.maximum(picked, 1e-300)).sum())
        self.correct += int((probs.argmax(-1) == target).sum())
        self.notes += len(target)

    def scores(self) -> Scores:
        return Scores.from_sums(self.notes, self.nll_sum, self.correct)


def _whole_sequence(loaded: LoadedModel):
    model = loaded.model
    device = next(model.parameters()).device
    return lambda beats, prev: model(beats.to(device), prev.to(device))[0]


def _per_beat(loaded: LoadedModel):
    """Scores through the per-beat session that generation decodes with (:func:`models.fast.session_for`)."""
    from models.fast import session_for

    def stepped(beats, prev):
        session = session_for(loaded.model, beats, 1)
        previous = prev[0].numpy()
        return torch.from_numpy(np.concatenate([session.step(previous[t:t + 1]) for t in range(len(previous))]))

    return stepped


@torch.inference_mode()
def score(loaded: LoadedModel, melodies, *, as_generated: bool = False, short_term: bool = False,
          progress=None) -> dict[str, Scores]:
    """Teacher-forced NLL and accuracy of ``loaded`` over ``melodies`` (each a :class:`~composer_app.notes.Notes`): ``{"model": ...}``,
    with ``short_term`` also ``"with_short_term"``, the model mixed with the within-tune short-term model
    (:func:`composer_app.short_term.mixed_probabilities`). ``as_generated``: through the per-beat session that
    generation decodes with instead of the whole-sequence forward (the same numbers to 1e-5).

    Memory stays bounded however long a melody: on the CPU, one over :data:`LONG_MELODY` notes is scored through
    the per-beat session even for the whole-sequence score, because the offline attention_rnn's forward makes a
    (T, D) temporary at every step and, keeping its outputs between them, fragments the heap.
    """
    on_cpu = next(loaded.model.parameters()).device.type == "cpu"  # the per-beat plans run on the CPU
    logits_of = _per_beat(loaded) if as_generated else _whole_sequence(loaded)
    long_logits_of = _per_beat(loaded) if on_cpu else logits_of
    loaded.model.eval()
    model, mixed = _Tally(), _Tally()
    for melody in melodies:
        if len(melody) == 0:
            continue
        beats, prev, target = loaded.melody_inputs(melody)
        logits = (long_logits_of if len(melody) > LONG_MELODY else logits_of)(beats, prev)
        target = target[0].to(logits.device)
        model.add_logits(logits, target)
        if short_term:
            pitches = target.cpu().numpy()
            stm_probs, longest = stm.predictions(pitches, num_pitches=logits.shape[-1])
            model_probs = torch.softmax(logits.double(), -1).cpu().numpy()
            mixed.add_probabilities(stm.mixed_probabilities(model_probs, stm_probs, longest), pitches)
        if progress is not None:
            progress.update(1)
    out = {"model": model.scores()}
    if short_term:
        out["with_short_term"] = mixed.scores()
    return out


def score_model(loaded: LoadedModel, melodies, progress=None) -> Scores:
    """Teacher-forced NLL and accuracy of ``loaded`` over ``melodies``, each one whole sequence."""
    return score(loaded, melodies, progress=progress)["model"]


def score_sessions(loaded: LoadedModel, melodies, progress=None) -> Scores:
    """As :func:`score_model`, but teacher-forced through the per-beat session that generation decodes with."""
    return score(loaded, melodies, as_generated=True, progress=progress)["model"]


def short_term_scores(melodies, num_pitches: int = stm.NUM_PITCHES) -> Scores:
    """The within-tune short-term model alone (no training): each melody predicted from its own past notes."""
    tally = _Tally()
    for pitches in _pitches(melodies):
        probs, _ = stm.predictions(pitches, num_pitches=num_pitches)
        tally.add_probabilities(probs, pitches)
    return tally.scores()


def _pitches(melodies):
    """Each non-empty melody's pitches in the order the models predict them (by start time)."""
    return [m.pitches for m in melodies if len(m)]


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
