"""Listeners of the live engine and its parts: plain callbacks, called on whichever thread made the change."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class Signal:
    """A list of plain callbacks (``connect``/``disconnect``/``emit``); a failing callback is logged, never
    allowed to break the instrument."""

    def __init__(self, name: str):
        self.name = name
        self._slots: list = []

    def connect(self, fn) -> None:
        self._slots.append(fn)

    def disconnect(self, fn) -> None:
        self._slots.remove(fn)

    def emit(self, *args) -> None:
        for fn in list(self._slots):
            try:
                fn(*args)
            except Exception:
                log.exception("%s listener %r failed", self.name, fn)
