"""How the window shows the direction a key asked the melody to go (the engine decides it: a steer key
``a s d f j k l ;`` or a MIDI key higher than the previous one asks +1, lower -1, the same key 0)."""

from __future__ import annotations

ARROWS = {1: "↑", -1: "↓", 0: "→"}


def arrow(direction: int | None) -> str:
    """An arrow for a direction ('' for None: the key asked nothing)."""
    return ARROWS.get(direction, "") if direction is not None else ""
