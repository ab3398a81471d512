"""Training melodies, ready to use: parse once (:func:`prepare`), then load a split in a second.

This module ties the data layer together: a source spec (:mod:`.sources`) lists work items, worker
processes turn them into melodies (:mod:`.extract`), the result is cached per source (:mod:`.cache`), and a
seeded, duplicate-aware split picks the tunes of one side (:mod:`.split`). Training code only needs::

    from composer_app.data.corpus import load_melodies
    train = load_melodies("train")              # the music21 folk collections, built on first use
    valid = load_melodies("valid", seed=0)

Each :class:`Melody` holds its own copy of its notes (a :class:`~composer_app.notes.Notes`), so callers may
change them in place (augmentation) without touching the cache.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from composer_app.data import cache, extract
from composer_app.data.sources import Source, parse_source
from composer_app.data.split import DEFAULT_FRACTIONS, SPLITS, check_fractions, fingerprint, split_of
from composer_app.notes import Notes

ALL = "all"
DEFAULT_SOURCES = ("music21",)
#: How many example ids (with details) the summary shows per skip reason.
EXAMPLES_PER_REASON = 3


@dataclass(frozen=True)
class Melody:
    """One tune: ``id`` (e.g. ``"essenFolksong/altdeu10.abc#1"``), ``source`` (collection or ``midi``/``maestro``)
    and ``notes``, its :class:`~composer_app.notes.Notes`."""

    id: str
    source: str
    notes: Notes

    def __len__(self) -> int:
        return len(self.notes)


@dataclass
class SourceReport:
    """What happened to one source during :func:`prepare`."""

    spec: str
    cache_path: Path
    from_cache: bool
    items: int
    tunes: int
    notes: int
    seconds: float
    build_seconds: float
    skips: Counter = field(default_factory=Counter)
    skip_examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    events: Counter = field(default_factory=Counter)

    @property
    def skipped(self) -> int:
        return sum(self.skips.values())


@dataclass
class PrepareSummary:
    """Counts for the ``prepare`` report: per source, per split, and time taken."""

    sources: list[SourceReport]
    splits: dict[str, tuple[int, int]]  # split -> (tunes, notes)
    seed: int
    fractions: tuple[float, float, float]
    seconds: float

    @property
    def tunes(self) -> int:
        return sum(r.tunes for r in self.sources)

    @property
    def notes(self) -> int:
        return sum(r.notes for r in self.sources)

    def lines(self) -> list[str]:
        out = []
        for r in self.sources:
            how = (
                f"from cache (built in {_fmt_seconds(r.build_seconds)})"
                if r.from_cache
                else f"parsed {r.items} items in {_fmt_seconds(r.build_seconds)}"
            )
            out.append(f"source {r.spec}: {r.tunes} tunes, {r.notes} notes, {how}")
            out.append(f"  cache: {r.cache_path}")
            if r.skips:
                out.append(f"  skipped {r.skipped}:")
                for reason, count in r.skips.most_common():
                    out.append(f"    {count:6d}  {reason}")
                    for ex_id, detail in r.skip_examples.get(reason, []):
                        out.append(f"              e.g. {ex_id}" + (f": {detail}" if detail else ""))
            else:
                out.append("  skipped 0")
            for label, count in r.events.most_common():
                out.append(f"  kept, {label}: {count}")
        pct = "/".join(f"{round(f * 100):g}" for f in self.fractions)
        out.append(f"split by tune (seed {self.seed}, {pct}):")
        for name in SPLITS:
            tunes, notes = self.splits.get(name, (0, 0))
            out.append(f"  {name:5s}  {tunes:6d} tunes  {notes:8d} notes")
        out.append(f"total: {self.tunes} tunes, {self.notes} notes in {_fmt_seconds(self.seconds)}")
        return out


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    return f"{m} min {s:02d} s"


def _sources(sources) -> list[Source]:
    """Parse and check every spec before any parsing starts, so a typo fails in a second, not in minutes."""
    if isinstance(sources, str | Source):
        sources = (sources,)
    out: list[Source] = []
    for spec in sources:
        src = parse_source(spec)
        src.check()
        if src not in out:
            out.append(src)
    return out


def build_source(
    src: Source, *, jobs: int = 2, limit: int | None = None, progress: bool = True
) -> cache.CachedSource:
    """Parse every item of one source (no cache involved)."""
    t0 = time.perf_counter()
    items, listing_skips = src.items(limit)
    results = extract.run_items(items, jobs=jobs, progress=progress, desc=f"parsing {src.slug}")
    melodies = [(r.id, r.source, r.notes) for r in results if r.notes is not None]
    skips = [(s.id, s.reason, s.detail) for s in listing_skips]
    skips += [(r.id, r.reason, r.detail) for r in results if r.notes is None]
    events = [(r.id, e) for r in results for e in r.events]
    meta = {
        "source": src.spec,
        "limit": limit,
        "items": len(items),
        "build_seconds": round(time.perf_counter() - t0, 2),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    return cache.CachedSource.from_melodies(melodies, skips, events, meta)


def load_source(
    src: Source, *, jobs: int = 2, limit: int | None = None, force: bool = False, progress: bool = True
) -> tuple[cache.CachedSource, SourceReport]:
    """One source's melodies from its cache, parsing (and caching) them first if needed."""
    t0 = time.perf_counter()
    src.check()
    path = cache.cache_path(src.slug, src.key_material(limit))
    data = None if force else cache.load(path)
    from_cache = data is not None
    if data is None:
        data = build_source(src, jobs=jobs, limit=limit, progress=progress)
        cache.save(path, data)
    report = SourceReport(
        spec=src.spec,
        cache_path=path,
        from_cache=from_cache,
        items=int(data.meta.get("items", 0)),
        tunes=len(data.ids),
        notes=len(data.notes),
        seconds=time.perf_counter() - t0,
        build_seconds=float(data.meta.get("build_seconds", 0.0)),
    )
    for sid, reason, detail in data.skips:
        report.skips[reason] += 1
        examples = report.skip_examples.setdefault(reason, [])
        if len(examples) < EXAMPLES_PER_REASON:
            examples.append((sid, detail))
    report.events.update(label for _, label in data.events)
    return data, report


def _melodies(data: cache.CachedSource) -> list[Melody]:
    return [
        Melody(i, s, data.tune_notes(k))
        for k, (i, s) in enumerate(zip(data.ids, data.sources, strict=True))
    ]


def prepare(
    sources: Iterable = DEFAULT_SOURCES,
    *,
    jobs: int = 2,
    limit: int | None = None,
    force: bool = False,
    progress: bool = True,
    seed: int = 0,
    fractions=DEFAULT_FRACTIONS,
) -> PrepareSummary:
    """Build (or reuse) the cache of every source and report counts, skips and the split sizes.

    Parameters
    ----------
    sources : iterable of str
        Source specs (see :mod:`composer_app.data.sources`): ``"music21"``, ``"midi:DIR"``, ``"maestro:ZIP"``.
    jobs : int
        Worker processes for parsing (1 parses in this process).
    limit : int, optional
        Keep only the first ``limit`` files of each collection, folder or zip (quick runs; cached apart).
    force : bool
        Parse again even if a cache exists.
    progress : bool
        Show a progress bar on stderr while parsing.
    seed, fractions
        The split to report (see :mod:`composer_app.data.split`); the cache does not depend on them.
    """
    t0 = time.perf_counter()
    fractions = check_fractions(fractions)
    reports = []
    counts = {name: [0, 0] for name in SPLITS}
    for src in _sources(sources):
        data, report = load_source(src, jobs=jobs, limit=limit, force=force, progress=progress)
        reports.append(report)
        for k in range(len(data.ids)):
            notes = data.tune_notes(k)
            name = split_of(fingerprint(notes), seed, fractions)
            counts[name][0] += 1
            counts[name][1] += len(notes)
    return PrepareSummary(
        sources=reports,
        splits={k: (v[0], v[1]) for k, v in counts.items()},
        seed=seed,
        fractions=fractions,
        seconds=time.perf_counter() - t0,
    )


def load_melodies(
    split: str,
    sources: Iterable = DEFAULT_SOURCES,
    *,
    seed: int = 0,
    fractions=DEFAULT_FRACTIONS,
    limit: int | None = None,
    jobs: int = 2,
    force: bool = False,
    progress: bool = True,
) -> list[Melody]:
    """Melodies of one split (``"train"``, ``"valid"``, ``"test"`` or ``"all"``), in a stable order.

    Builds the cache first when it is missing (the same work as ``everybody-compose prepare``); ``jobs``,
    ``force`` and ``progress`` only matter then. ``limit`` selects the quick-run cache of the first files.
    """
    if split not in (*SPLITS, ALL):
        raise ValueError(f"unknown split {split!r} (expected one of {(*SPLITS, ALL)})")
    fractions = check_fractions(fractions)
    out: list[Melody] = []
    for src in _sources(sources):
        data, _ = load_source(src, jobs=jobs, limit=limit, force=force, progress=progress)
        for melody in _melodies(data):
            if split == ALL or split_of(fingerprint(melody.notes), seed, fractions) == split:
                out.append(melody)
    return out
