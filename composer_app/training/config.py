"""The training configuration: the original's hyper-parameters by default, presets and recipes on top."""

from __future__ import annotations

import tomllib
from pathlib import Path

from composer_app.errors import UserError

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
        try:
            cfg[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            cfg[key.strip()] = value
    cfg["recipe"] = recipe
    cfg["preset"] = preset
    cfg["overrides"] = list(overrides or [])
    return cfg


def model_config(architecture: str, cfg: dict, kind: str) -> dict:
    out = {k: cfg[k] for k in MODEL_KEYS[architecture] if k in cfg}
    if architecture == "attention_rnn" and kind == "offline":
        out.pop("window", None)
    out["kind"] = kind
    if cfg.get("memory"):
        out["memory"] = {key: cfg[f"memory_{key}"] for key in MEMORY_KEYS if f"memory_{key}" in cfg}
    return out
