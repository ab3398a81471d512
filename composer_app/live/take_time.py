"""The tempo and metre of the engine's takes: a take keeps the time it was played at, a new one waits.

A part of :class:`~composer_app.live.engine.LiveEngine` (a mixin: it uses the engine's lock, take, metronome and
recording). A tempo or metre asked for while the take has notes would re-time notes already played (their bars,
their export), so it is kept for the next take instead.
"""

from __future__ import annotations

from composer_app.musical_time import check_tempo, parse_time_signature


class TakeTime:
    """Tempo and metre of the take being played and of the next one."""

    @property
    def tempo_bpm(self) -> float:
        return self._tempo_bpm

    @property
    def time_signature(self):
        """The take's metre (:class:`~composer_app.musical_time.TimeSignature`)."""
        return self._metre

    @property
    def next_tempo_bpm(self) -> float:
        """The tempo the next take starts with (this take's, unless another was asked for while it had notes)."""
        return self._next_time.get("tempo_bpm", self._tempo_bpm)

    @property
    def next_time_signature(self):
        """The metre the next take starts with (see :attr:`next_tempo_bpm`)."""
        return self._next_time.get("time_signature", self._metre)

    def set_tempo(self, bpm: float) -> bool:
        """The tempo (quarter notes per minute; UserError outside 10-400): recorded, exported, clicked.

        A take that has notes keeps the tempo it was played at (its bars, its export): the new one waits for the
        next take. Returns True when it applies now, False when it waits."""
        return self._set_time(tempo_bpm=check_tempo(bpm))

    def set_time_signature(self, metre) -> bool:
        """The metre ("4/4", "3/4", "6/8", ...; UserError otherwise), like :meth:`set_tempo`: now on an empty
        take, else from the next take on."""
        return self._set_time(time_signature=parse_time_signature(metre))

    def _set_time(self, **value) -> bool:
        with self._lock:
            if self._take.notes:
                self._next_time.update(value)
                return False
            self._next_time.clear()
            self._apply_time(value)
            self._recording.change(self._now(), **{k: (str(v) if k == "time_signature" else v)
                                                   for k, v in value.items()})
            return True

    def _apply_time(self, values: dict) -> None:
        """The tempo and/or metre of the (empty or next) take, and the metronome's."""
        if "tempo_bpm" in values:
            self._tempo_bpm = values["tempo_bpm"]
            self.metronome.set_tempo(self._tempo_bpm)
        if "time_signature" in values:
            self._metre = values["time_signature"]
            self.metronome.set_metre(self._metre)

