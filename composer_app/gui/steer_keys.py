"""Which way a key asks the melody to go: the home-row steer keys and MIDI keys, as Piano Genie's buttons.

A steer key (``a s d f j k l ;``, low to high) or a MIDI key higher than the previous one asks for a higher
pitch (+1), lower for a lower one (-1), the same key for the same pitch or a step (0). The plain tap keys
(z, x, space) ask nothing (None), and neither does the first steering key of a take.
"""

from __future__ import annotations

STEER_KEYS = ("a", "s", "d", "f", "j", "k", "l", ";")
ARROWS = {1: "↑", -1: "↓", 0: "→"}


def key_height(source) -> int | None:
    """How high a source is on its keyboard: 0..7 for the steer keys, the note number for a MIDI key."""
    kind, _, name = str(source).partition(":")
    if kind == "key":
        return STEER_KEYS.index(name) if name in STEER_KEYS else None
    if kind == "midi" and name.isdigit():
        return int(name)
    return None


def steer_direction(previous, source) -> int | None:
    """+1, -1 or 0: where ``source`` lies against ``previous`` (both sources of one kind), else None."""
    now, before = key_height(source), key_height(previous)
    if now is None or before is None or str(source).split(":")[0] != str(previous).split(":")[0]:
        return None
    return (now > before) - (now < before)


def arrow(direction: int | None) -> str:
    """An arrow for a direction ('' for None)."""
    return ARROWS.get(direction, "") if direction is not None else ""
