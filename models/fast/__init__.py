"""The fast path: every model's per-beat steps and whole-rhythm sessions on weights derived for a few rows.

The models' own ``start``/``step`` (:mod:`models.streaming`) are the plain torch reference. What the app runs
at each key-down and in every whole-rhythm generation lives here instead, split by job: the building blocks
(:mod:`.kernels`), the beat encoders (:mod:`.encoders`), the attention models' decoder end (:mod:`.decoder`),
one module per architecture, the melody memory (:mod:`.memory`) and sessions (:mod:`.sessions`). Every fast
step equals the reference step and the teacher-forced ``forward`` to 1e-5 (``tests/models``).

    steps = fast_steps(model)            # same interface as the model: start(), step()
    session = session_for(model, beats, batch_size=5)   # step(prev_pitches), reorder(rows)
"""

from __future__ import annotations

from torch import Tensor

from models.fast.full_attention import FullAttentionSteps
from models.fast.local_attention import LocalAttentionSteps
from models.fast.sessions import Session, StepSession
from models.fast.steps import FastSteps
from models.fast.vanilla import VanillaSteps

STEPS = {"vanilla_rnn": VanillaSteps, "lstm_attn": LocalAttentionSteps, "attention_rnn": FullAttentionSteps}


def fast_steps(model) -> FastSteps:
    """``model``'s steps on the fast path (``start``/``step`` with the model's meaning)."""
    return STEPS[model.name](model)


def session_for(model, beats: Tensor, batch_size: int = 1) -> Session:
    """A session over rhythm ``beats`` (1, n, features) for ``batch_size`` rows: the architecture's own where
    it has one for the model's kind, else :class:`StepSession` over the fast steps."""
    steps = fast_steps(model)
    return steps.session(beats, batch_size) or StepSession(steps, beats, batch_size)


__all__ = ["FastSteps", "Session", "StepSession", "fast_steps", "session_for"]
