"""The training configuration: the original's hyper-parameters by default, presets and recipes on top."""

from __future__ import annotations

import tomllib
from pathlib import Path

from composer_app.errors import UserError
from composer_app.musical_time import shown

DEFAULT_CONFIG = Path(__file__).with_name("config.toml")
RECIPES = ("ours", "original")
MODEL_KEYS = {
    "vanilla_rnn": ("embed_size", "hidden_dim", "dropout"),
    "lstm_attn": ("hidden_dim", "dropout_p"),
    "attention_rnn": ("embed_dim", "encode_hidden_dim", "decode_hidden_dim", "dropout", "window", "locality"),
}

MEMORY_KEYS = ("key_dim", "pitch_dim", "context", "window")


def load_config(architecture: str, recipe: str = "ours", preset: str | None = None, path=None,
                overrides: list[str] | None = None, kind: str | None = None) -> dict:
    """Flatten the config file into one dict for ``architecture``: common < architecture < preset < recipe.

    A preset section may hold a sub-table per kind (``[shipped.attention_rnn.live]``): it applies on top for that
    kind. ``overrides`` are ``key=value`` strings (values parsed as TOML, e.g. ``hidden_dim=128``).
    """
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read training config {path}: {exc}") from None
    if recipe not in RECIPES:
        raise UserError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    cfg: dict = {}
    cfg.update(raw.get("common", {}))
    cfg.update(raw.get(architecture, {}))
    if preset:
        section = raw.get(preset, {})
        if architecture not in section:
            raise UserError(f"config {path} has no [{preset}.{architecture}] section")
        cfg.update({k: v for k, v in section[architecture].items() if not isinstance(v, dict)})
        cfg.update(section[architecture].get(kind, {}) if kind else {})
    cfg.update(raw.get("recipe", {}).get(recipe, {}))
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set expects key=value, got {item!r}")
        cfg[key.strip()] = toml_value(value)
    cfg["recipe"] = recipe
    cfg["preset"] = preset
    cfg["overrides"] = list(overrides or [])
    check_values(cfg)
    return cfg


#: The range of every number a training config may hold (``int``: a whole number). A value outside fails at once,
#: in words, before any data is read (clip_value 0: no clipping): ``seq_len=0`` or ``batch_size=0`` divided by zero
#: after the corpus loaded, and
#: ``lr=nan`` trained for minutes to a model of NaN.
SIZE = (int, 1, 8192)
RANGES = {
    "lr": (float, 1e-12, 1000.0), "batch_size": (int, 1, 4096), "seq_len": (int, 2, 4096),
    "clip_value": (float, 0.0, 1e6), "seed": (int, 0, 2**63 - 1), "weight_decay": (float, 0.0, 1.0),
    "warmup_steps": (int, 0, 10**6), "min_lr_ratio": (float, 0.0, 1.0), "tempo_min": (float, 0.1, 10.0),
    "tempo_max": (float, 0.1, 10.0), "tempo_prob": (float, 0.0, 1.0), "transpose": (int, 0, 24),
    "transpose_prob": (float, 0.0, 1.0), "dropout": (float, 0.0, 0.99), "dropout_p": (float, 0.0, 0.99),
    "embed_size": SIZE, "hidden_dim": SIZE, "embed_dim": SIZE, "encode_hidden_dim": SIZE, "decode_hidden_dim": SIZE,
    "window": (int, 1, 4096), "locality": (int, 0, 4096),
    **{f"memory_{key}": (int, 1, 4096) for key in MEMORY_KEYS},
}


def toml_value(text: str):
    """A ``--set`` value read as a TOML value (``3e-4``, ``"cosine"``), else kept as the plain string (a number
    of 5,000 digits, which TOML's reader refuses with a bare ValueError, stays text and fails its range check)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except ValueError:  # TOMLDecodeError is one
        return text.strip()


def check_values(cfg: dict) -> None:
    """A UserError naming the first value of ``cfg`` outside its range in :data:`RANGES` (others are not
    numbers this module knows, and are left to the code that reads them)."""
    for key, (kind, lo, hi) in RANGES.items():
        if key not in cfg:
            continue
        value = cfg[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi
        if ok and kind is int:
            ok = value == int(value)
        if not ok:
            whole = "a whole number" if kind is int else "a number"
            raise UserError(f"the training setting {key} must be {whole} from {lo:g} to {hi:g}, not {shown(value)}")
    if cfg.get("tempo_min", 0) > cfg.get("tempo_max", 10):
        raise UserError(f"tempo_min ({cfg['tempo_min']}) is above tempo_max ({cfg['tempo_max']})")


def model_config(architecture: str, cfg: dict, kind: str) -> dict:
    out = {k: cfg[k] for k in MODEL_KEYS[architecture] if k in cfg}
    if architecture == "attention_rnn" and kind == "offline":
        out.pop("window", None)
    out["kind"] = kind
    if cfg.get("memory"):
        out["memory"] = {key: cfg[f"memory_{key}"] for key in MEMORY_KEYS if f"memory_{key}" in cfg}
    return out
