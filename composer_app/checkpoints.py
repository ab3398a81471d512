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

import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

import models
from composer_app import resources
from composer_app.beats import KINDS, OFFLINE, FeatureSpec, melody_to_beats, previous_pitches
from composer_app.errors import UserError
from composer_app.notes import Notes

FORMAT = "everybody-compose/1"
ORIGINAL_FORMAT = "everybody-compose-original"
CHECKPOINT_DIR = resources.CHECKPOINT_DIR
#: The largest file read as a checkpoint: the shipped models are a few MB, a run's last.pt with its optimizer a
#: few hundred; a bigger file is not ours, and reading it would only fill memory.
MAX_CHECKPOINT_BYTES = 2 << 30


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

    def melody_inputs(self, melody: Notes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
    if not path.is_file():  # a pipe never ends, a device such as /dev/zero never does either
        raise CheckpointError(f"{path} is not a regular file (a device or a pipe), so it is not a checkpoint")
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path} is {size / 2**30:.1f} GiB: far larger than any model of this app "
                              f"(at most {MAX_CHECKPOINT_BYTES // 2**30} GiB), so it is not read")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower() or "weights_only" in str(exc):
            raise CheckpointError(
                f"{path} was refused: it holds Python objects, not only weights, and such files are never loaded "
                "(they could run code)") from None
        raise CheckpointError(_unreadable(path)) from None
    except Exception:  # torch.load fails in many ways on foreign files (KeyError, EOFError, RuntimeError, ...)
        raise CheckpointError(_unreadable(path)) from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path} is not a checkpoint: it holds a {type(payload).__name__}, not a dict")
    return payload


def _unreadable(path: Path) -> str:
    """Why ``torch.load`` could not read ``path``, in words (its own messages are internals such as ``101``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if not head:
        return f"{path} is empty, not a checkpoint"
    if head == b"PK\x03\x04":
        return f"{path} is a damaged PyTorch checkpoint (or another kind of zip archive): it cannot be read"
    return f"{path} is not a PyTorch checkpoint (or it is damaged): it cannot be read"


def infer_original_architecture(state_dict: dict) -> str | None:
    keys = set(state_dict)
    if "layer1.weight_ih_l0" in keys and "note_embedding.weight" in keys:
        return "vanilla_rnn"
    if "decoder.note_embed.weight" in keys:
        return "lstm_attn"
    if "decoder.attention.attn1.weight" in keys:
        return "attention_rnn"
    return None


#: Largest whole number a model config may hold: sizes are checked against the weights, but a scalar such as
#: an attention window is not, and a damaged file must not make the app allocate for a billion steps.
MAX_CONFIG_INT = 1 << 16
NUM_PITCHES = 128
#: Whole numbers of a config that may be 0 (off); every other one is a size or a window and must be at least 1
#: (a memory window of 0 divides by zero at the first note, a negative one indexes backwards).
MAY_BE_ZERO = frozenset({"locality"})


def _plain_config(path, config) -> dict:
    """The ``config`` entry, checked to hold only plain values (numbers, strings, booleans, None, tables)."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is damaged: it has no 'config' table (the model's dimensions)")

    def check(value, key):
        if isinstance(value, dict):
            for k, v in value.items():
                check(v, f"{key}.{k}")
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            pass
        elif isinstance(value, int):
            if not -MAX_CONFIG_INT <= value <= MAX_CONFIG_INT:
                raise CheckpointError(f"{path} is damaged: its config says {key} = {value}, far beyond any model")
            least = 0 if key.rpartition(".")[2] in MAY_BE_ZERO else 1
            if value < least:
                raise CheckpointError(f"{path} is damaged: its config says {key} = {value}; it must be at least "
                                      f"{least}")
        elif isinstance(value, float):
            if not math.isfinite(value) or not 0 <= value <= MAX_CONFIG_INT:
                raise CheckpointError(f"{path} is damaged: its config says {key} = {value}")
        else:
            raise CheckpointError(f"{path} is damaged: its config {key} is a {type(value).__name__}, not a number")

    for key, value in config.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{path} is damaged: its config has a key {key!r} that is not a name")
        check(value, key)
    return config


def _features(path, raw) -> FeatureSpec:
    """The ``features`` entry (how rhythm in seconds becomes model input), checked."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path} is damaged: it has no 'features' table (how the model reads rhythm)")
    spec = FeatureSpec.from_dict(raw)
    problem = spec.problem()
    if problem:
        raise CheckpointError(f"{path} is damaged: its features are not valid ({problem})")
    return spec


def _weights(path, state_dict) -> dict[str, torch.Tensor]:
    """The weights, checked to be a non-empty table of finite tensors."""
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f"{path} is damaged: its 'state_dict' is not a table of weights")
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path} is damaged: its weights table holds {key!r}, which is not a weight")
        if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path} is damaged: weight {key} holds NaN or infinite values (a diverged "
                                  "training run or a corrupted file); it cannot make music")
    return state_dict


def _check_shapes(path, architecture: str, expected: dict, stored: dict) -> None:
    """The stored weights have exactly the names and shapes the config's model has."""
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing or extra:
        said = (f"missing {', '.join(missing[:3])}" if missing else "") + ("; " if missing and extra else "") \
            + (f"unexpected {', '.join(extra[:3])}" if extra else "")
        raise CheckpointError(f"{path}: its weights are not those of a {architecture} model ({said})")
    for key, tensor in expected.items():
        if tuple(stored[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path} is damaged: its config declares {key} of shape {tuple(tensor.shape)}, but the file holds "
                f"{tuple(stored[key].shape)}")


class _ShapesOnly(TorchFunctionMode):
    """Skips random initialisation of ``meta`` tensors: only their shapes are wanted, and torch runs a random fill
    of a meta tensor through its compiler, which loads for seconds."""

    FILLS = frozenset({"normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                       "xavier_uniform_", "xavier_normal_", "orthogonal_", "random_", "bernoulli_", "exponential_"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        target = args[0] if args else kwargs.get("tensor")
        if getattr(func, "__name__", "") in self.FILLS and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


def _instantiate(path, architecture: str, config: dict, state_dict: dict) -> torch.nn.Module:
    """The model ``config`` describes, with ``state_dict``'s weights.

    The model is first built on the ``meta`` device (shapes only, no memory) and its weights' shapes compared with
    the file's, so a small file that declares a huge model fails at once instead of allocating it.
    """
    try:
        with torch.device("meta"), _ShapesOnly():
            skeleton = models.build(architecture, **config)
    except Exception as exc:  # a constructor given nonsense fails in its own way (TypeError, ValueError, ...)
        raise CheckpointError(f"{path}: its config does not describe a {architecture} model "
                              f"({_first_line(exc)})") from None
    if getattr(skeleton, "num_notes", NUM_PITCHES) != NUM_PITCHES:
        raise CheckpointError(f"{path}: the model plays {skeleton.num_notes} pitches, not the {NUM_PITCHES} "
                              "of MIDI")
    _check_shapes(path, architecture, skeleton.state_dict(), state_dict)
    try:
        model = models.build(architecture, **config)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()})
    except (RuntimeError, TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: weights do not fit a {architecture} model: {_first_line(exc)}") from None
    model.eval()
    return model


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_checkpoint(path, architecture: str | None = None, kind: str | None = None) -> LoadedModel:
    """Load our format or the original's; ``architecture``/``kind``, when given, must match the file.

    For an original-format file ``architecture`` says which of the original models it is (``--model-name``);
    without it the architecture is inferred from the state-dict keys. Every way a file can be wrong raises
    :class:`CheckpointError` in plain words.
    """
    payload = read_payload(path)
    if payload.get("format") == FORMAT:
        return _load_ours(path, payload, architecture, kind)
    if "model" in payload and isinstance(payload["model"], dict):
        return _load_original(path, payload, architecture, kind)
    raise CheckpointError(f"{path} is not an Everybody Compose checkpoint (no model weights in it)")


def _load_ours(path, payload: dict, architecture: str | None, kind: str | None) -> LoadedModel:
    arch = payload.get("architecture")
    if arch not in models.ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {arch!r}")
    file_kind = payload.get("kind")
    if file_kind not in KINDS:
        raise CheckpointError(f"{path}: unknown model kind {file_kind!r}")
    if architecture and architecture != arch:
        raise CheckpointError(f"{path} holds a {arch} model, not {architecture}")
    if kind and kind != file_kind:
        raise CheckpointError(f"{path} holds a model of the {file_kind} kind, but the {kind} kind is needed here")
    config = _plain_config(path, payload.get("config"))
    features = _features(path, payload.get("features"))
    weights = _weights(path, payload.get("state_dict"))
    model = _instantiate(path, arch, {**config, "kind": file_kind}, weights)
    return LoadedModel(model, arch, file_kind, features, str(path), _table(payload.get("training")),
                       _table(payload.get("metrics")))


def _load_original(path, payload: dict, architecture: str | None, kind: str | None) -> LoadedModel:
    state_dict = _weights(path, payload["model"])
    inferred = infer_original_architecture(state_dict)
    if inferred is None:
        raise CheckpointError(f"{path}: an original-format checkpoint of no known model")
    if architecture and architecture != inferred:
        raise CheckpointError(f"{path} holds an original {inferred} model, not {architecture}")
    if kind and kind != OFFLINE:
        raise CheckpointError(f"{path} is an original (offline) model; a live model is needed here")
    try:
        config = models.ARCHITECTURES[inferred].config_from_state_dict(state_dict)
    except (KeyError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{path}: an original {inferred} checkpoint with weights missing or misshapen "
                              f"({_first_line(exc)})") from None
    model = _instantiate(path, inferred, config, state_dict)
    epochs = payload.get("n_epochs", 0)
    return LoadedModel(model, inferred, OFFLINE, FeatureSpec.raw(), str(path),
                       {"n_epochs": epochs if isinstance(epochs, int) else 0, "origin": "original everybody-compose"},
                       {}, ORIGINAL_FORMAT)


def _table(value) -> dict:
    """A free-form information table (``training``, ``metrics``); anything else reads as empty."""
    return value if isinstance(value, dict) else {}
