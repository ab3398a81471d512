"""A status message as the engine reports it: what it is about, how serious it is, and the words to show.

Whoever shows it (the window's banner and status bar, a command line) decides by ``level`` and ``topic``, never by
reading the text.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("info", "warning", "error")
TOPICS = ("sound", "midi", "midi out", "model", "take")


@dataclass(frozen=True)
class Status:
    topic: str  # one of TOPICS
    text: str  # plain words for the player
    level: str = "info"  # one of LEVELS: 'warning' and 'error' deserve the player's attention

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"status level must be one of {', '.join(LEVELS)}, not {self.level!r}")
