"""Turning work items into melodies, in parallel worker processes, never stopping for one bad item.

Parsing the three music21 collections takes minutes, so items go through a process pool (the parse is
pure Python, so threads would not help). A worker never raises: every item comes back either as a
melody or as a skip with a short *reason* (counted in the summary) and a *detail* (the exception text,
shown for a few examples), so one malformed tune out of eleven thousand costs one tune, not the run.
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from composer_app.data import sources
from composer_app.data.melody import NoNotes
from composer_app.errors import UserError
from composer_app.notes import Notes

#: Tunes with fewer notes than this teach little and are dropped.
MIN_NOTES = 8

# Skip reasons (summary keys).
SKIP_PARSE = "ABC parse error"
SKIP_MIDI = "unreadable MIDI"
SKIP_EMPTY = "no notes"
SKIP_SHORT = f"fewer than {MIN_NOTES} notes"
SKIP_PITCH = "pitch outside MIDI range"
SKIP_ERROR = "extraction error"


@dataclass
class Result:
    """What one work item became: ``notes`` (a melody) or a skip ``reason``; ``events`` are work-arounds."""

    index: int
    source: str
    id: str
    notes: Notes | None = None
    reason: str = ""
    detail: str = ""
    events: list[str] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


def _melody_of(item: tuple) -> tuple[Notes, list[str]]:
    tag = item[0]
    if tag == sources.ITEM_ABC:
        from composer_app.data.abc_corpus import melody_from_abc

        return melody_from_abc(item[3])
    if tag == sources.ITEM_MIDI:
        from composer_app.data.melody import melody_from_midi

        return melody_from_midi(item[3]), []
    if tag == sources.ITEM_ZIP:
        import zipfile

        from composer_app.data.melody import melody_from_midi_bytes

        with zipfile.ZipFile(item[3]) as zf:
            data = zf.read(item[4])
        return melody_from_midi_bytes(data, item[4]), []
    raise ValueError(f"unknown work item {tag!r}")


def process_item(indexed: tuple[int, tuple]) -> Result:
    """Parse one ``(index, item)``; always returns a :class:`Result`, never raises."""
    index, item = indexed
    result = Result(index=index, source=item[1], id=item[2])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notes, result.events = _melody_of(item)
    except UserError as exc:
        result.reason = SKIP_EMPTY if isinstance(exc, NoNotes) else SKIP_MIDI
        result.detail = str(exc)[:200]
        return result
    except Exception as exc:  # music21 raises many kinds on malformed ABC
        result.reason = SKIP_PARSE if item[0] == sources.ITEM_ABC else SKIP_ERROR
        result.detail = _one_line(exc)
        return result
    if len(notes) == 0:
        result.reason = SKIP_EMPTY
    elif len(notes) < MIN_NOTES:
        result.reason = SKIP_SHORT
        result.detail = f"{len(notes)} notes"
    elif notes.pitches.min() < 0 or notes.pitches.max() > 127:
        result.reason = SKIP_PITCH
        result.detail = f"pitches {notes.pitches.min()}..{notes.pitches.max()}"
    else:
        result.notes = notes
    return result


def _worker_init() -> None:
    # Workers must not print music21's or pretty_midi's warnings over the progress bar.
    warnings.simplefilter("ignore")


def run_items(
    items: Sequence[tuple],
    *,
    jobs: int = 2,
    progress: bool = True,
    desc: str = "parsing",
    worker: Callable[[tuple[int, tuple]], Result] = process_item,
) -> list[Result]:
    """Process ``items`` with ``jobs`` worker processes (in this process when ``jobs <= 1``), in order.

    A tqdm progress bar on stderr shows tunes or files done when ``progress`` is true.
    """
    from tqdm import tqdm

    from composer_app.progress_output import bar_options

    indexed = list(enumerate(items))
    results: list[Result] = []
    # Redirected to a log file, a bar redrawn ten times a second would fill it: a plain line every 30 s there.
    with tqdm(total=len(indexed), desc=desc, unit="item", disable=not progress, smoothing=0.05,
              **bar_options()) as bar:
        if jobs <= 1 or len(indexed) <= 1:
            for pair in indexed:
                results.append(worker(pair))
                bar.update()
        else:
            # "spawn" behaves the same on every platform and is safe when the caller already runs threads
            # (torch does); workers import only what parsing needs.
            ctx = multiprocessing.get_context("spawn")
            chunksize = max(1, min(16, len(indexed) // (jobs * 50)))
            with ctx.Pool(processes=jobs, initializer=_worker_init) as pool:
                for res in pool.imap_unordered(worker, indexed, chunksize=chunksize):
                    results.append(res)
                    bar.update()
    results.sort(key=lambda r: r.index)
    return results
