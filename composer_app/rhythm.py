"""Reading a rhythm to generate for: the original recorder's ``.npy``, a MIDI file, or a take of the app.

A rhythm is two float arrays in seconds, ``rests`` (before each note) and ``durs``. Every way in checks the
data and says plainly what is wrong with a file instead of failing later with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from composer_app.errors import UserError
from composer_app.file_checks import check_regular_file
from composer_app.live.journal import JOURNAL_SUFFIX
from composer_app.notes import Notes
from composer_app.take import TAKE_SUFFIX

TAKE_SUFFIXES = (TAKE_SUFFIX, JOURNAL_SUFFIX)
MIDI_SUFFIXES = (".mid", ".midi")
#: The longest rest or note a rhythm may hold; anything longer is a damaged file, not music.
MAX_NOTE_SECONDS = 3600.0
#: The most notes a rhythm may hold: hours of playing. The offline attention models' cost grows with the square of
#: the length, so a longer file would run for hours and fill memory before saying anything.
MAX_RHYTHM_NOTES = 10_000
#: The largest rhythm file read (a MIDI file of 10,000 notes is well under 1 MB).
MAX_RHYTHM_FILE_BYTES = 16 << 20


def check_rhythm(arr, source: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(arr)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise UserError(f"{source}: a rhythm array must have shape (n, 2) = (rest, duration); got {arr.shape}")
    if arr.shape[0] == 0:
        raise UserError(f"{source}: the rhythm is empty")
    if not np.issubdtype(arr.dtype, np.number):
        raise UserError(f"{source}: the rhythm must hold numbers, not {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise UserError(f"{source}: the rhythm has NaN or infinite times")
    if np.any(arr < 0):
        raise UserError(f"{source}: the rhythm has negative times (row {int(np.argwhere(arr < 0)[0][0])})")
    if np.all(arr[:, 1] == 0):
        raise UserError(f"{source}: every note has zero duration")
    return check_lengths(arr[:, 0].copy(), arr[:, 1].copy(), source)


def check_lengths(rests: np.ndarray, durs: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(rests, durs)`` unchanged when no rest or note is longer than :data:`MAX_NOTE_SECONDS` and there are at
    most :data:`MAX_RHYTHM_NOTES` notes."""
    if len(rests) > MAX_RHYTHM_NOTES:
        raise UserError(f"{source}: the rhythm has {len(rests)} notes; at most {MAX_RHYTHM_NOTES} are read (the "
                        "limit keeps generation to minutes and memory to what a laptop has)")
    for name, values in (("rest", rests), ("note", durs)):
        if len(values) and values.max() > MAX_NOTE_SECONDS:
            row = int(np.argmax(values))
            raise UserError(f"{source}: note {row + 1} has a {name} of {values[row]:.4g} s; rests and notes "
                            f"longer than an hour are not a rhythm (the file is damaged?)")
    return rests, durs


def check_rhythm_file(p: Path) -> None:
    """A UserError unless ``p`` is a regular file of a rhythm's size: a pipe or /dev/zero would be read forever."""
    if p.is_dir():
        raise UserError(f"{p} is a folder; give a .npy, .mid or take file")
    check_regular_file(p, "a rhythm", MAX_RHYTHM_FILE_BYTES, missing=f"rhythm file not found: {p}")


def load_npy(p: Path) -> np.ndarray:
    """The array of a ``.npy`` rhythm, after its header says it is (n, 2) numbers with n at most
    :data:`MAX_RHYTHM_NOTES`: a 160-byte file may declare 10^10 rows, which ``np.load`` would allocate."""
    try:
        with open(p, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = read_header(f)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(f"{p} is not a readable .npy array: {exc}") from None
    if len(shape) != 2 or shape[1] != 2:
        raise UserError(f"{p}: a rhythm array must have shape (n, 2) = (rest, duration); got {shape}")
    if shape[0] > MAX_RHYTHM_NOTES:
        raise UserError(f"{p}: the rhythm has {shape[0]} notes; at most {MAX_RHYTHM_NOTES} are read")
    if dtype.hasobject or dtype.kind not in "biuf":
        raise UserError(f"{p}: the rhythm must hold numbers, not {dtype}")
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UserError(f"{p} is not a readable .npy array: {exc}") from None


def has_pitches(path) -> bool:
    """Whether a rhythm file also holds a melody (a MIDI file, a take) rather than bare beats (``.npy``)."""
    return Path(path).suffix.lower() in MIDI_SUFFIXES + TAKE_SUFFIXES


def load_melody(path) -> Notes:
    """The melody of a MIDI file (its skyline) or of a take, checked to hold notes."""
    p = Path(path)
    check_rhythm_file(p)
    return _read_melody(p)


def _read_melody(p: Path) -> Notes:
    """:func:`load_melody` for a file already checked."""
    suffix = p.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        from composer_app.data.melody import melody_from_midi

        return melody_from_midi(p)
    if suffix in TAKE_SUFFIXES:
        from composer_app.live.recovery import load_take

        notes = load_take(p).to_melody()
        if len(notes) == 0:
            raise UserError(f"{p}: the take has no notes")
        return notes
    raise UserError(f"{p}: unknown melody file type {suffix!r} (use .mid/.midi or a take file)")


def rhythm_of(melody: Notes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(rests, durs)`` of a melody read from ``source``, checked to be a rhythm the app generates for."""
    return check_lengths(*melody.rests_and_durations(), source)


def load_rhythm(path) -> tuple[np.ndarray, np.ndarray]:
    """``(rests, durs)`` from a ``.npy`` (n, 2) array, a MIDI file, or a take."""
    p = Path(path)
    check_rhythm_file(p)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return check_rhythm(load_npy(p), str(p))
    if has_pitches(p):
        return rhythm_of(_read_melody(p), str(p))
    raise UserError(f"{p}: unknown rhythm file type {suffix!r} (use .npy, .mid/.midi or a take file)")
