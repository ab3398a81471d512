"""The parsed-melody cache: one ``.npz`` per source, outside the repository.

Parsing the music21 collections takes minutes; loading the result should take well under a second. Each
source's melodies are stored as one concatenated ``notes`` array ``(N, 3)`` plus ``offsets`` (tune ``i`` is
``notes[offsets[i]:offsets[i+1]]``), with ids and source names as string arrays: plain numpy, loaded with
``allow_pickle=False`` so a cache file can never run code. Skips and work-arounds are stored too, so a
cached run can still report them.

The file name carries a hash of the source spec, its inputs (see ``Source.key_material``) and
:data:`FORMAT_VERSION`; bump the version whenever extraction changes what a melody is.

The folder is ``platformdirs.user_cache_dir("everybody-compose")/melodies``, or
``$EVERYBODY_COMPOSE_CACHE/melodies`` when that variable is set (tests, shared machines).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from composer_app.notes import Notes

#: Bump when extraction changes what a melody is (2: implied repeat starts, see abc_corpus.imply_repeat_starts).
FORMAT_VERSION = 2
ENV_VAR = "EVERYBODY_COMPOSE_CACHE"
APP_NAME = "everybody-compose"


def cache_root() -> Path:
    """The app's cache folder (``$EVERYBODY_COMPOSE_CACHE`` or the platform's user cache folder)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def melody_cache_dir() -> Path:
    return cache_root() / "melodies"


def cache_path(slug: str, key_material: dict) -> Path:
    """Cache file for a source: readable prefix plus a hash of everything the content depends on."""
    blob = json.dumps({"format": FORMAT_VERSION, **key_material}, sort_keys=True).encode()
    digest = hashlib.sha1(blob).hexdigest()[:16]
    return melody_cache_dir() / f"{slug}-v{FORMAT_VERSION}-{digest}.npz"


@dataclass
class CachedSource:
    """The parsed content of one source, as stored."""

    ids: list[str]
    sources: list[str]
    notes: np.ndarray  # (N, 3) float64, all tunes concatenated
    offsets: np.ndarray  # (T + 1,) int64
    skips: list[tuple[str, str, str]] = field(default_factory=list)  # (id, reason, detail)
    events: list[tuple[str, str]] = field(default_factory=list)  # (id, label)
    meta: dict = field(default_factory=dict)

    def tune_notes(self, i: int) -> Notes:
        """Tune ``i``'s notes (a copy: changing them leaves the cache as it is)."""
        return Notes.from_rows(self.notes[self.offsets[i] : self.offsets[i + 1]])

    @classmethod
    def from_melodies(cls, melodies, skips=(), events=(), meta=None) -> CachedSource:
        """Build from ``(id, source, notes)`` triples (``notes`` a :class:`~composer_app.notes.Notes`)."""
        melodies = list(melodies)
        lengths = [len(n) for _, _, n in melodies]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        notes = (
            np.concatenate([n.rows() for _, _, n in melodies]).astype(np.float64)
            if melodies
            else np.zeros((0, 3), dtype=np.float64)
        )
        return cls(
            ids=[m[0] for m in melodies],
            sources=[m[1] for m in melodies],
            notes=notes.reshape(-1, 3),
            offsets=offsets,
            skips=[tuple(s) for s in skips],
            events=[tuple(e) for e in events],
            meta=dict(meta or {}),
        )


def _strings(values) -> np.ndarray:
    values = list(values)
    return np.array(values, dtype=str) if values else np.zeros(0, dtype="<U1")


def save(path: Path, data: CachedSource) -> None:
    """Write atomically (temporary file, then rename) so an interrupted run leaves no half cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            notes=data.notes,
            offsets=data.offsets,
            ids=_strings(data.ids),
            sources=_strings(data.sources),
            skip_ids=_strings(s[0] for s in data.skips),
            skip_reasons=_strings(s[1] for s in data.skips),
            skip_details=_strings(s[2] for s in data.skips),
            event_ids=_strings(e[0] for e in data.events),
            event_labels=_strings(e[1] for e in data.events),
            meta=np.array(json.dumps({"format": FORMAT_VERSION, **data.meta})),
        )
    os.replace(tmp, path)


def load(path: Path) -> CachedSource | None:
    """Read a cache file; ``None`` when missing, unreadable or of another format version."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT_VERSION:
                return None
            return CachedSource(
                ids=z["ids"].tolist(),
                sources=z["sources"].tolist(),
                notes=z["notes"],
                offsets=z["offsets"],
                skips=list(
                    zip(
                        z["skip_ids"].tolist(),
                        z["skip_reasons"].tolist(),
                        z["skip_details"].tolist(),
                        strict=True,
                    )
                ),
                events=list(zip(z["event_ids"].tolist(), z["event_labels"].tolist(), strict=True)),
                meta=meta,
            )
    except (OSError, ValueError, KeyError):
        return None
