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


class StatusBoard:
    """The latest :class:`Status` per topic; ``on_change(status)`` hears each change once (not repeats)."""

    def __init__(self, on_change):
        self._latest: dict[str, Status] = {}
        self._on_change = on_change

    def set(self, topic: str, text: str, level: str = "info") -> None:
        status = Status(topic, text, level)
        if self._latest.get(topic) == status:
            return
        self._latest[topic] = status
        self._on_change(status)

    @property
    def latest(self) -> dict[str, Status]:
        """A copy of the latest status per topic."""
        return dict(self._latest)

    def text(self, topic: str) -> str:
        """The latest words on ``topic`` ('' when nothing was said)."""
        status = self._latest.get(topic)
        return status.text if status is not None else ""
