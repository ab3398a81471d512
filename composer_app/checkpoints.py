"""Saving and loading models: our own checkpoint format, and the original project's.

Our format is a ``torch.save`` of a dict holding only tensors and plain values, so it loads with
``torch.load(..., weights_only=True)`` (never full pickle). It records what a user needs to trust a model:

``format``, ``architecture`` (``vanilla_rnn`` | ``lstm_attn`` | ``attention_rnn``), ``kind``
(``offline`` | ``live``), ``config`` (constructor arguments: dimensions), ``features`` (the
:class:`~composer_app.beats.FeatureSpec`), ``state_dict`` (weights, optionally half precision), and free-form
``training`` and ``metrics`` dicts (data, recipe, epochs, time, scores).

The original everybody-compose saved ``{'model': state_dict, 'n_epochs': N}`` with raw-second features; such a
file loads with its architecture and dimensions inferred from the state dict.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import models
from composer_app import resources
from composer_app.beats import KINDS, OFFLINE, FeatureSpec, melody_to_beats, previous_pitches
from composer_app.errors import UserError

FORMAT = "everybody-compose/1"
ORIGINAL_FORMAT = "everybody-compose-original"
CHECKPOINT_DIR = resources.CHECKPOINT_DIR


class CheckpointError(UserError):
    """A file that is not a usable checkpoint (corrupt, of another kind, or of another architecture)."""


@dataclass
class LoadedModel:
    """A model ready to use, with what it was trained on."""

    model: torch.nn.Module
    architecture: str
    kind: str
    features: FeatureSpec
    path: str = ""
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    format: str = FORMAT

    @property
    def label(self) -> str:
        return f"{models.LABELS[self.architecture]} ({self.kind})"

    def melody_inputs(self, melody: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(beats (1,L,2), prev_notes (1,L), targets (1,L))`` for scoring ``melody`` with this model."""
        raw, pitches = melody_to_beats(melody, self.kind)
        beats = torch.from_numpy(self.features.apply(raw)).float().unsqueeze(0)
        prev = torch.from_numpy(previous_pitches(pitches)).unsqueeze(0)
        return beats, prev, torch.from_numpy(pitches).unsqueeze(0)

    def features_of(self, raw_beats) -> torch.Tensor:
        """Raw-second beats (array/tensor ``(..., 2)``) as model input features."""
        if isinstance(raw_beats, torch.Tensor):
            return self.features.apply(raw_beats.float()).float()
        x = self.features.apply(np.asarray(raw_beats, dtype=np.float32))  # NumPy: cheaper for one key-down
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def default_checkpoint(architecture: str, kind: str = OFFLINE) -> Path:
    """Path of the shipped checkpoint for ``architecture`` and ``kind``."""
    return CHECKPOINT_DIR / f"{architecture}_{kind}.pt"


def save_checkpoint(path, model, architecture: str, kind: str, features: FeatureSpec, *,
                    training: dict | None = None, metrics: dict | None = None, half: bool = False,
                    extra: dict | None = None) -> None:
    """Write a checkpoint atomically (a temp file renamed over the target: nothing half-written).

    ``extra`` adds entries to the saved dict (a run's ``resume`` state: optimizer, schedule, random numbers).
    """
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
             for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "architecture": architecture,
        "kind": kind,
        "config": {k: v for k, v in model.config().items() if k != "kind"},
        "features": features.to_dict(),
        "state_dict": state,
        "training": training or {},
        "metrics": metrics or {},
        **(extra or {}),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_payload(path) -> dict:
    """``torch.load`` with ``weights_only=True``, turning every failure into a plain-words error."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} was refused: it is not a plain-weights checkpoint (it holds Python objects, which are "
            "never loaded for safety, or it is not a checkpoint at all)") from None
    except Exception as exc:  # torch.load fails in many ways on foreign files (KeyError, EOFError, …)
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or another kind of file): "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a checkpoint: it holds a {type(payload).__name__}, not a dict")
    return payload


def infer_original_architecture(state_dict: dict) -> str | None:
    keys = set(state_dict)
    if "layer1.weight_ih_l0" in keys and "note_embedding.weight" in keys:
        return "vanilla_rnn"
    if "decoder.note_embed.weight" in keys:
        return "lstm_attn"
    if "decoder.attention.attn1.weight" in keys:
        return "attention_rnn"
    return None


def _instantiate(path, architecture: str, config: dict, state_dict: dict) -> torch.nn.Module:
    try:
        model = models.build(architecture, **config)
        state_dict = {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}
        model.load_state_dict(state_dict)
    except (RuntimeError, TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: weights do not fit a {architecture} model: "
                              f"{str(exc).splitlines()[0]}") from None
    model.eval()
    return model


def load_checkpoint(path, architecture: str | None = None, kind: str | None = None) -> LoadedModel:
    """Load our format or the original's; ``architecture``/``kind``, when given, must match the file.

    For an original-format file ``architecture`` says which of the original models it is (``--model-name``);
    without it the architecture is inferred from the state-dict keys.
    """
    payload = read_payload(path)
    if payload.get("format") == FORMAT:
        arch = payload.get("architecture")
        if arch not in models.ARCHITECTURES:
            raise CheckpointError(f"{path}: unknown architecture {arch!r}")
        file_kind = payload.get("kind")
        if file_kind not in KINDS:
            raise CheckpointError(f"{path}: unknown model kind {file_kind!r}")
        if architecture and architecture != arch:
            raise CheckpointError(f"{path} holds a {arch} model, not {architecture}")
        if kind and kind != file_kind:
            raise CheckpointError(f"{path} holds a {file_kind} model, but a {kind} model is needed here")
        model = _instantiate(path, arch, {**payload["config"], "kind": file_kind}, payload["state_dict"])
        return LoadedModel(model, arch, file_kind, FeatureSpec.from_dict(payload["features"]), str(path),
                           payload.get("training", {}), payload.get("metrics", {}))
    if "model" in payload and isinstance(payload["model"], dict):
        state_dict = payload["model"]
        inferred = infer_original_architecture(state_dict)
        if inferred is None:
            raise CheckpointError(f"{path}: an original-format checkpoint of no known model")
        if architecture and architecture != inferred:
            raise CheckpointError(f"{path} holds an original {inferred} model, not {architecture}")
        if kind and kind != OFFLINE:
            raise CheckpointError(f"{path} is an original (offline) model; a live model is needed here")
        cls = models.ARCHITECTURES[inferred]
        model = _instantiate(path, inferred, cls.config_from_state_dict(state_dict), state_dict)
        return LoadedModel(model, inferred, OFFLINE, FeatureSpec.raw(), str(path),
                           {"n_epochs": int(payload.get("n_epochs", 0)), "origin": "original everybody-compose"},
                           {}, ORIGINAL_FORMAT)
    raise CheckpointError(f"{path} is not an Everybody Compose checkpoint (no model weights in it)")


def untrained_shipped_size(architecture: str, kind: str, seed: int = 0) -> LoadedModel:
    """An untrained model of the shipped size (``[shipped.<arch>]`` in the training config, and its
    ``[shipped.<arch>.<kind>]`` sub-table where the kinds ship at different sizes).

    For benchmarks, tests and a stand-in before any checkpoint is shipped: it costs exactly what the trained
    one costs per step, but its pitches are noise.
    """
    from composer_app.training.config import load_config, model_config

    cfg = load_config(architecture, "ours", "shipped", kind=kind)
    torch.manual_seed(seed)
    model = models.build(architecture, **model_config(architecture, cfg, kind)).eval()
    return LoadedModel(model, architecture, kind, FeatureSpec(), "(untrained, shipped size)")


def shipped_or_untrained(architecture: str, kind: str) -> tuple[LoadedModel, bool]:
    """The shipped model, or an untrained one of the shipped size; ``(model, is_shipped)`` so callers can say
    which they measured."""
    path = default_checkpoint(architecture, kind)
    if path.exists():
        return load_checkpoint(path, architecture, kind), True
    return untrained_shipped_size(architecture, kind), False
