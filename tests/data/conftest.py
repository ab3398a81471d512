"""Shared fixtures for the data-layer tests: a private cache folder and hand-made MIDI files.

Helpers are fixtures (``make_midi``, ``scale_notes``) because the suite imports test files in importlib
mode, where a test folder is not importable as a module path.
"""

from __future__ import annotations

import pretty_midi
import pytest


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    """Every data test gets its own empty cache folder (never the user's real cache)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("EVERYBODY_COMPOSE_CACHE", str(folder))
    return folder


def _make_midi(path, notes, *, drums=(), program=0):
    """Write a MIDI file with one piano track of ``(start, end, pitch)`` notes and an optional drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=program)
    for start, end, pitch in notes:
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=int(pitch), start=float(start), end=float(end)))
    pm.instruments.append(inst)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for start, end, pitch in drums:
            kit.notes.append(
                pretty_midi.Note(velocity=90, pitch=int(pitch), start=float(start), end=float(end))
            )
        pm.instruments.append(kit)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def _scale_notes(n=10, *, base=60, step=0.5, transpose=0):
    """A simple monophonic line: ``n`` notes of a C major scale, ``step`` seconds each."""
    degrees = [0, 2, 4, 5, 7, 9, 11, 12, 14, 16, 17, 19]
    return [(i * step, (i + 1) * step, base + transpose + degrees[i % len(degrees)]) for i in range(n)]


@pytest.fixture
def make_midi():
    """``make_midi(path, notes, drums=(), program=0)`` writes a MIDI file and returns its path."""
    return _make_midi


@pytest.fixture
def scale_notes():
    """``scale_notes(n=10, base=60, step=0.5, transpose=0)``: a simple monophonic line of ``(start, end, pitch)``."""
    return _scale_notes
