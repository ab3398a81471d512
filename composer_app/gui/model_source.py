"""Where the window gets its models: the shipped checkpoints, a user's file, or a stand-in until training ends.

Qt-free on purpose (the window only asks "give me the live model of this architecture"), so tests can hand the
window tiny models through the same door.

Before ``checkpoints/<arch>_<kind>.pt`` is shipped the app still has to open and play: it falls back to an
untrained model of the shipped size and says so in plain words, instead of refusing to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import models
from composer_app.checkpoints import LoadedModel, default_checkpoint, load_checkpoint
from composer_app.errors import UserError
from composer_app.stand_ins import untrained_shipped_size

LIVE = "live"
OFFLINE = "offline"


@dataclass(frozen=True)
class ModelChoice:
    """A model ready to use and, when it is a stand-in, why (shown in the window)."""

    loaded: LoadedModel
    warning: str | None = None


def architecture_label(arch: str) -> str:
    """``"lstm_attn — LSTM with Local Attention"``: the original's name and a readable one."""
    return f"{arch} — {models.LABELS[arch]}"


def warm_up(loaded: LoadedModel, steps: int = 3) -> None:
    """Step a live model a few times on a throw-away state, so that the slow first steps after loading
    (allocator and kernel set-up) are paid on the loading thread, not by the player's first note. The engine's
    state is untouched: the model keeps no state of its own."""
    import torch

    from models.fast import fast_steps

    stepper = fast_steps(loaded.model)
    with torch.inference_mode():  # as the engine steps it (sampling.LiveStepper)
        state = stepper.start(1)
        prev = torch.zeros(1, dtype=torch.long)
        for _ in range(steps):
            logits, state = stepper.step(state, loaded.features_of([[0.25, 0.2]]), prev)
            prev = logits.argmax(-1)


class ModelSource:
    """Loads live and offline models by architecture name, falling back to untrained ones of shipped size.
    Live models come warmed up (:func:`warm_up`)."""

    def live(self, arch: str) -> ModelChoice:
        choice = self._shipped(arch, LIVE)
        warm_up(choice.loaded)
        return choice

    def offline(self, arch: str) -> ModelChoice:
        return self._shipped(arch, OFFLINE)

    def from_file(self, path, kind: str) -> ModelChoice:
        """A user's checkpoint file; raises :class:`~composer_app.errors.UserError` in plain words."""
        choice = ModelChoice(load_checkpoint(Path(path), kind=kind))
        if kind == LIVE:
            warm_up(choice.loaded)
        return choice

    def _shipped(self, arch: str, kind: str) -> ModelChoice:
        if arch not in models.ARCHITECTURES:
            raise UserError(f"unknown model {arch!r}; choose one of {', '.join(models.ARCHITECTURES)}")
        path = default_checkpoint(arch, kind)
        problem = f"{path.name} is missing"
        if path.exists():
            try:
                return ModelChoice(load_checkpoint(path, arch, kind))
            except UserError as exc:  # a damaged shipped file must not keep the app from playing
                problem = str(exc)
        return ModelChoice(untrained_shipped_size(arch, kind), f"no trained {kind} model for {models.LABELS[arch]} ({problem}): an "
                                   "untrained one stands in, so its pitches are random")


