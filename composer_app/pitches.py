"""Pitch helpers: note names, scales and their parsing, hint notes, and the up/down contour of a melody."""

from __future__ import annotations

import re

import numpy as np

from composer_app.errors import UserError

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MODES = {
    "major": MAJOR, "ionian": MAJOR, "minor": (0, 2, 3, 5, 7, 8, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11), "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9), "minor pentatonic": (0, 3, 5, 7, 10), "blues": (0, 3, 5, 6, 7, 10),
    "chromatic": tuple(range(12)),
}
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch_class(text: str) -> int:
    m = re.fullmatch(r"([A-Ga-g])([#b]?)", text.strip())
    if not m:
        raise UserError(f"not a key name: {text!r} (try C, F#, Bb)")
    return (_PC[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12


def parse_scale(text: str | None) -> tuple[int, tuple[int, ...]] | None:
    """``"C major"``, ``"A minor"``, ``"D dorian"`` -> (tonic pitch class, intervals); None for no lock."""
    if not text or text.strip().lower() in ("none", "off", "chromatic"):
        return None
    tonic, _, mode = text.strip().partition(" ")
    mode = mode.strip().lower() or "major"
    if mode not in MODES:
        raise UserError(f"unknown scale {mode!r}; choose one of {', '.join(MODES)}")
    return parse_pitch_class(tonic), MODES[mode]


def parse_hint(text: str) -> int:
    """A hint note as the original wrote it: scale degree with "1" = middle C ("3", "5", "8" = C5,
    "b3", "#4"), or a note name with octave ("E4", "Bb3"). Degrees have at most three digits: a longer number
    is no note (and a 5,000-digit one could not even be converted)."""
    s = str(text).strip()
    m = re.fullmatch(r"([#b]?)(\d{1,3})", s)
    n = re.fullmatch(r"([A-Ga-g][#b]?)(-?\d)", s)
    if m:
        degree = int(m.group(2))
        if degree < 1:
            raise UserError(f"scale degrees start at 1 (middle C): {text!r}")
        octave, step = divmod(degree - 1, 7)
        pitch = 60 + 12 * octave + MAJOR[step] + {"#": 1, "b": -1, "": 0}[m.group(1)]
    elif n:
        pitch = parse_pitch_class(n.group(1)) + 12 * (int(n.group(2)) + 1)
    else:
        shown = s if len(s) <= 20 else f"{s[:12]}… ({len(s)} characters)"
        raise UserError(f"not a hint note: {shown!r} (scale degrees like 1 3 5, or names like E4)")
    if not 1 <= pitch <= 127:
        raise UserError(f"hint note {text!r} is MIDI pitch {pitch}, outside the playable 1-127")
    return pitch


def contour_of(pitches) -> np.ndarray:
    """The contour of a melody: per note +1 (up from the note before), -1 (down) or 0 (same); 0 for the first."""
    pitches = np.asarray(pitches, dtype=np.int64)
    if pitches.size == 0:
        return pitches.copy()
    return np.concatenate([[0], np.sign(np.diff(pitches))]).astype(np.int64)


def direction_between(prev_height, height) -> int | None:
    """Direction asked by playing key ``height`` after key ``prev_height`` (None when there is no previous key)."""
    if prev_height is None or height is None:
        return None
    return int(np.sign(float(height) - float(prev_height)))
