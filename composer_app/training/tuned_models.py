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


def list_tuned(data_dir) -> list[TunedModel]:
    """Every kept model with a readable ``model.json`` and its checkpoint, by name; damaged folders are left out."""
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not (folder / "best.pt").is_file():
            continue
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
            found.append(TunedModel(str(meta["name"]), folder, str(meta["architecture"]), str(meta["kind"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda m: m.name.lower())


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
