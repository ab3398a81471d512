"""A model's ``start``/``step`` on its inference plan: what the app runs at every key-down.

:class:`FastSteps` is the base of each architecture's fast steps (:mod:`models.fast.vanilla`,
:mod:`models.fast.local_attention`, :mod:`models.fast.full_attention`): it keeps the plans derived from the
model's weights (rebuilt at ``start`` when they changed) and adds the melody memory's fast step, so each
architecture writes only its decoder. States have the reference's layout where the fast path keeps the same
things (the decoder's ``h``/``c``, the memory's ``recall_*`` entries).
"""

from __future__ import annotations

import weakref

from torch import Tensor

from models.fast.kernels import PlanCache
from models.fast.memory import MemoryPlan, SessionMemory, memory_step
from models.fast.sessions import Session
from models.streaming import State

#: Each model's plan caches, for as long as the model lives (a plan costs milliseconds to build).
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class FastSteps:
    """Steps of one model on its plan; inference only (no gradients flow through the plan's weights)."""

    #: Builds the architecture's plan from the model.
    plan_type: type = object

    def __init__(self, model):
        self.model = model
        if model not in _PLANS:
            _PLANS[model] = (PlanCache(self.plan_type), PlanCache(MemoryPlan))
        self._plans, self._memory_plans = _PLANS[model]

    @property
    def plan(self):
        return self._plans.plan

    def start(self, batch_size: int = 1, beats: Tensor | None = None) -> State:
        """As the model's ``start``; also rebuilds the plans if the weights changed."""
        plan = self._plans.refresh(self.model)
        if beats is None and self.model.needs_rhythm:
            raise ValueError("an offline model needs the whole rhythm: start(beats=...)")
        state, rows = self.start_decoder(plan, batch_size, beats)
        memory = self.model.memory
        if memory is not None:
            self._memory_plans.refresh(memory)
            state.update(memory.start(rows, memory.key.weight))
        return state

    def step(self, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, State]:
        """As the model's ``step``, to 1e-5."""
        logits, h, new = self.step_decoder(self._plans.plan, state, beat, prev_pitch)
        if self.model.memory is None:
            return logits, new
        logits, recall = memory_step(self._memory_plans.plan, state, logits, h, beat, prev_pitch)
        new.update(recall)
        return logits, new

    def session(self, beats: Tensor, batch_size: int) -> Session | None:
        """A dedicated whole-rhythm session, or None where :class:`~models.fast.sessions.StepSession` serves."""
        return None

    def session_memory(self, batch_size: int, beats: Tensor) -> SessionMemory | None:
        """The melody memory inside a dedicated session (after ``start``), or None without one."""
        if self.model.memory is None:
            return None
        return SessionMemory(self._memory_plans.refresh(self.model.memory), batch_size, beats[0].numpy())

    def start_decoder(self, plan, batch_size: int, beats: Tensor | None) -> tuple[State, int]:
        """The decoder's part of the first state, and its batch size."""
        raise NotImplementedError

    def step_decoder(self, plan, state: State, beat: Tensor, prev_pitch: Tensor) -> tuple[Tensor, Tensor, State]:
        """One beat of the decoder: ``(logits, decoder state h, new state)``."""
        raise NotImplementedError
