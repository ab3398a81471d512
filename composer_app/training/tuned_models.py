"""The user's fine-tuned models, kept in the app's data folder: ``<data>/models/<folder>/`` holds ``best.pt``,
``card.md`` and ``model.json`` (the name the user gave, and what the model is, as plain JSON values).

A run works in a staging folder (:func:`staging_folder`, hidden from the list) and becomes a listed model only
when kept under a name (:func:`keep`), so a cancelled or failed run never shows up as a model.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from composer_app.errors import UserError

FOLDER = "models"
META = "model.json"
STAGING_PREFIX = ".tuning-"


@dataclass(frozen=True)
class TunedModel:
    name: str
    folder: Path
    architecture: str
    kind: str

    @property
    def checkpoint(self) -> Path:
        return self.folder / "best.pt"

    @property
    def card(self) -> Path:
        return self.folder / "card.md"


def models_dir(data_dir) -> Path:
    return Path(data_dir) / FOLDER


def list_tuned(data_dir, problems: list[str] | None = None) -> list[TunedModel]:
    """Every kept model with a readable ``model.json`` and its checkpoint, by name. Damaged folders are left out,
    each said in ``problems`` when a list is given."""
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    found = []
    try:
        folders = sorted(root.iterdir())
    except OSError as exc:
        _say(problems, f"cannot list the tuned models in {root}: {exc.strerror or exc}")
        return []
    for folder in folders:
        if folder.name.startswith(".") or not (folder / "best.pt").is_file():
            continue
        try:
            found.append(read_meta(folder))
        except UserError as exc:
            _say(problems, f"the tuned model in {folder} is left out: {exc}")
    return sorted(found, key=lambda m: m.name.lower())


#: ``model.json`` holds three short strings; a larger file is not one of ours and is not parsed.
MAX_META_BYTES = 16 << 10
MAX_NAME_CHARS = 200


def read_meta(folder: Path) -> TunedModel:
    """The model a kept folder holds, from its ``model.json``; a :class:`UserError` in words when that file is
    missing, not a regular file, too large, nested past reason (a RecursionError in the parser), or not three
    short names."""
    path = folder / META
    try:
        if not path.is_file():
            raise UserError(f"{META} is missing or not a regular file")
        if path.stat().st_size > MAX_META_BYTES:
            raise UserError(f"{META} is larger than {MAX_META_BYTES // 1024} KiB")
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read {META}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError):
        raise UserError(f"{META} is not readable JSON") from None
    values = [meta.get(key) if isinstance(meta, dict) else None for key in ("name", "architecture", "kind")]
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME_CHARS for v in values):
        raise UserError(f"{META} does not hold a name, an architecture and a kind")
    return TunedModel(values[0], folder, values[1], values[2])


def _say(problems: list[str] | None, message: str) -> None:
    if problems is not None:
        problems.append(message)


def staging_folder(data_dir) -> Path:
    """A new, empty, unlisted folder for a run in progress."""
    root = models_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{STAGING_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**6}"
    folder.mkdir()
    return folder


def check_name(data_dir, name: str) -> str:
    """The name, stripped; raises :class:`UserError` when it is empty or already taken."""
    name = " ".join(name.split())
    if not name:
        raise UserError("give the tuned model a name")
    if any(m.name.lower() == name.lower() for m in list_tuned(data_dir)):
        raise UserError(f"there is already a tuned model called {name!r}; choose another name")
    return name


def keep(run_folder, name: str, data_dir, architecture: str, kind: str) -> TunedModel:
    """List a finished run under ``name``: its folder moves to ``<data>/models/<name as a file name>``."""
    name = check_name(data_dir, name)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40] or "model"
    root = models_dir(data_dir)
    target, n = root / slug, 1
    while target.exists():
        n += 1
        target = root / f"{slug}_{n}"
    shutil.move(str(run_folder), str(target))
    (target / META).write_text(json.dumps({"name": name, "architecture": architecture, "kind": kind}, indent=1),
                               encoding="utf-8")
    return TunedModel(name, target, architecture, kind)


def remove(model: TunedModel, data_dir) -> None:
    """Delete a kept model's folder (only a folder inside ``<data>/models``)."""
    root = models_dir(data_dir).resolve()
    folder = Path(model.folder).resolve()
    if folder.parent != root:
        raise UserError(f"{folder} is not one of the tuned models in {root}")
    shutil.rmtree(folder)


def discard(run_folder) -> None:
    """Remove a staging folder (a cancelled or failed run)."""
    folder = Path(run_folder)
    if folder.name.startswith(STAGING_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
