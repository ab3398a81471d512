"""Melodies from MIDI: read a file with pretty_midi and reduce it to one line with the *skyline* rule.

Users bring MIDI that is often polyphonic (piano performances such as MAESTRO, band arrangements). The
models learn one melody line, so every file is reduced to the highest sounding note at each moment:

* notes that start together keep only the highest;
* a sounding note is cut short when a higher note starts (its end becomes that onset);
* a note that starts *below* a note still sounding is dropped (an accompaniment note under the tune),
  even if it outlasts it: resuming it would invent an onset nobody played. The exception is a lower note
  that starts in the last :data:`LEGATO_SECONDS` of the sounding one: that is a pianist's legato overlap in
  a falling line, so it is the next melody note and cuts the previous one short;
* drum tracks are ignored (their "pitches" are instruments, not notes).

The same :func:`skyline` also cleans up ABC tunes whose first part has several voices.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from composer_app.errors import UserError
from composer_app.notes import Notes

#: Notes shorter than this (seconds) are artefacts (a key bounce, a zero-length note-off) and dropped.
MIN_NOTE_SECONDS = 1e-3
#: A lower note starting this close (seconds) before the sounding note ends is legato, not accompaniment.
LEGATO_SECONDS = 0.06


class NoNotes(UserError):
    """A MIDI file holds no pitched notes (its drums are ignored): a skip reason of its own, not a damaged file."""


def skyline(notes) -> Notes:
    """Reduce possibly overlapping notes ``(start, end, pitch)`` to a monophonic melody.

    Parameters
    ----------
    notes : array_like, shape (n, 3)
        Notes in seconds, in any order, possibly overlapping.

    Returns
    -------
    Notes
        Non-overlapping notes sorted by start: the highest sounding note at each onset, cut short when a
        higher (or re-struck) note starts. Rests stay as gaps.
    """
    arr = np.asarray(notes, dtype=np.float64).reshape(-1, 3)
    arr = arr[arr[:, 1] - arr[:, 0] >= MIN_NOTE_SECONDS]
    if len(arr) == 0:
        return Notes.empty()
    # Sort by start, highest pitch first among notes that start together, so the first of a group wins.
    order = np.lexsort((-arr[:, 2], arr[:, 0]))
    arr = arr[order]
    out: list[list[float]] = []
    for start, end, pitch in arr:
        if out:
            cur = out[-1]
            if start == cur[0]:
                continue  # a lower note of the same onset (the highest came first)
            if start < cur[1]:  # the current note is still sounding
                if pitch < cur[2] and start < cur[1] - LEGATO_SECONDS:
                    continue  # accompaniment under the melody
                cur[1] = start  # a higher note, the same key again, or a legato step down takes over
        out.append([start, end, pitch])
    melody = Notes.from_rows(out)
    return melody[melody.ends - melody.starts >= MIN_NOTE_SECONDS]


def melody_from_pretty_midi(pm) -> Notes:
    """Skyline melody of the non-drum instruments of a ``pretty_midi.PrettyMIDI`` object (no notes when the
    file has no pitched notes)."""
    rows = [
        (note.start, note.end, note.pitch)
        for inst in pm.instruments
        if not inst.is_drum
        for note in inst.notes
    ]
    return skyline(rows)


def _load_pretty_midi(source, name: str):
    import pretty_midi

    try:
        with warnings.catch_warnings():
            # pretty_midi warns about tempo events on non-zero tracks, common and harmless for us.
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(source)
    except Exception as exc:  # mido/pretty_midi raise many kinds (OSError, EOFError, KeyError, ValueError...)
        reason = str(exc).strip() or type(exc).__name__
        raise UserError(f"cannot read MIDI file {name}: it looks corrupt or is not MIDI ({reason})") from exc


def melody_from_midi(path) -> Notes:
    """Read a MIDI file and return its skyline melody.

    Raises
    ------
    composer_app.errors.UserError
        If the file is missing or cannot be parsed as MIDI; :class:`NoNotes` if it holds no pitched notes
        (drums are ignored).
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise UserError(f"MIDI file not found: {path}")
    pm = _load_pretty_midi(str(path), str(path))
    melody = melody_from_pretty_midi(pm)
    if len(melody) == 0:
        raise NoNotes(f"MIDI file {path} has no notes (drum tracks are ignored)")
    return melody


def melody_from_midi_bytes(data: bytes, name: str = "<bytes>") -> Notes:
    """Like :func:`melody_from_midi` for MIDI data already in memory (e.g. a member of a zip archive)."""
    pm = _load_pretty_midi(io.BytesIO(data), name)
    melody = melody_from_pretty_midi(pm)
    if len(melody) == 0:
        raise NoNotes(f"MIDI file {name} has no notes (drum tracks are ignored)")
    return melody
