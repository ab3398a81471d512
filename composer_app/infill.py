"""Keep what you like: which notes of a melody to compose again, and how well a filled gap leads on.

A player keeps most of a take and asks for new notes in a part of it (by note numbers, by bars, or a selection
in the roll), with some notes locked. Everything here works on note indices; the composing itself is
:func:`composer_app.sampling.generate` with ``fixed`` pitches (the kept ones), which feeds the notes before
the gap to the model as played and ranks candidate fills by how likely they make the kept notes after it.
"""

from __future__ import annotations

import re

import numpy as np

from composer_app.errors import UserError
from composer_app.musical_time import TimeSignature
from composer_app.notes import Notes

_RANGE = re.compile(r"\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?")


def parse_numbers(spec: str, count: int, what: str) -> list[tuple[int, int]]:
    """``"9-16,20"`` -> ``[(9, 16), (20, 20)]``: 1-based inclusive ranges, each within ``1..count``."""
    if not isinstance(spec, str) or len(spec) > 1000:
        raise UserError(f"{what}: give numbers such as 9-16 or 3,7,12")
    ranges = []
    for part in spec.split(","):
        m = _RANGE.fullmatch(part)
        if not m:
            raise UserError(f"{what}: {part.strip()!r} is not a number or a range such as 9-16")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if not 1 <= lo <= hi <= count:
            raise UserError(f"{what}: {part.strip()} is outside 1-{count}")
        ranges.append((lo, hi))
    return ranges


def notes_numbered(spec: str, count: int, what: str = "--only") -> np.ndarray:
    """Boolean mask over ``count`` notes of the notes named by number (1 = the first note)."""
    mask = np.zeros(count, dtype=bool)
    for lo, hi in parse_numbers(spec, count, what):
        mask[lo - 1:hi] = True
    return mask


def notes_in_bars(spec: str, starts, bpm: float, metre: TimeSignature) -> np.ndarray:
    """Boolean mask of the notes that start in the bars named (1 = the bar starting at time 0), at ``bpm`` and
    ``metre``; a note a hair before a barline (within 1 ms) counts in the bar it leads into."""
    starts = np.asarray(starts, dtype=np.float64)
    bar_s = metre.bar_s(bpm)
    bars = int(np.floor((starts.max() + 1e-3) / bar_s)) + 1 if len(starts) else 0
    bar_of = np.floor((starts + 1e-3) / bar_s).astype(np.int64) + 1
    mask = np.zeros(len(starts), dtype=bool)
    for lo, hi in parse_numbers(spec, max(bars, 1), "--bars"):
        mask |= (bar_of >= lo) & (bar_of <= hi)
    return mask


def fixed_pitches(pitches, change: np.ndarray, locked: np.ndarray | None = None) -> np.ndarray:
    """The ``fixed`` argument of :func:`composer_app.sampling.generate`: each note's pitch, -1 where it is to be
    composed again (in ``change`` and not ``locked``)."""
    pitches = np.asarray(pitches, dtype=np.int64)
    free = np.asarray(change, dtype=bool) & ~(np.zeros(len(pitches), bool) if locked is None else locked)
    return np.where(free, -1, pitches)


def following_nll(loaded, notes: Notes, first: int) -> float:
    """Mean negative log-likelihood (nats per note) of notes ``first`` onwards of ``notes`` under the model, the
    notes before them fed as played: how well what came before leads into them."""
    import torch  # here, not at the top: a take asks this module which notes to keep without loading torch

    beats, prev, target = loaded.melody_inputs(notes)
    with torch.inference_mode():
        logp = torch.log_softmax(loaded.model(beats, prev)[0].double(), -1)
    picked = logp[torch.arange(len(notes)), target[0]]
    return float(-picked[first:].mean())


def midi_with_pitches(path, melody: Notes, pitches):
    """The source MIDI file ``path`` as a ``PrettyMIDI`` with each melody note (``melody``, as
    :func:`composer_app.data.melody.melody_from_midi` read it) given its new pitch and nothing else changed:
    other notes, instruments, velocities, tempo and metre stay as the file has them."""
    from composer_app.data.melody import _load_pretty_midi

    pm = _load_pretty_midi(str(path), str(path))
    by_onset: dict[tuple[float, int], list] = {}
    for inst in pm.instruments:
        if not inst.is_drum:
            for note in inst.notes:
                by_onset.setdefault((note.start, note.pitch), []).append(note)
    for start, old, new in zip(melody.starts, melody.pitches, pitches, strict=True):
        if int(old) != int(new):
            by_onset[(float(start), int(old))][0].pitch = int(new)
    return pm


def file_time(path) -> tuple[float | None, TimeSignature | None]:
    """The first tempo (BPM) and time signature a MIDI file states, None for what it does not state."""
    from composer_app.data.melody import _load_pretty_midi

    pm = _load_pretty_midi(str(path), str(path))
    tempi = pm.get_tempo_changes()[1]
    metres = pm.time_signature_changes
    metre = TimeSignature(metres[0].numerator, metres[0].denominator) if metres else None
    return (float(tempi[0]) if len(tempi) else None), metre
