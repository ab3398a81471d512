"""The metronome: clicks on the percussion channel at the take's tempo and metre, heard by the player only.

Clicks go straight to the instrument the player hears (``Instrument.click``: General MIDI channel 10, a wood
block, louder and higher on each bar's first beat), never through the take or MIDI out: nothing of them is
recorded or exported. A :class:`ClickTrack` says when each click falls; a :class:`Metronome` plays it from its own
thread, and can count a bar in, after which the take starts on the downbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from composer_app.clock import ns_to_s, s_to_ns
from composer_app.musical_time import DEFAULT_BPM, TimeSignature, check_tempo, parse_time_signature

log = logging.getLogger(__name__)

#: General MIDI percussion sounds (the synth plays them on channel 10): the downbeat's and the other beats'.
ACCENT_NOTE = 76  # Hi Wood Block
BEAT_NOTE = 77  # Low Wood Block
ACCENT_VELOCITY = 120
BEAT_VELOCITY = 80
CLICK_S = 0.03
#: A count-in's first click comes this much after it was asked for, so it is never late.
LEAD_S = 0.05


@dataclass(frozen=True)
class Click:
    """One click: when (``perf_counter_ns``), its beat within the bar (0 = downbeat), and whether it is accented."""

    t_ns: int
    beat: int

    @property
    def accent(self) -> bool:
        return self.beat == 0

    @property
    def note(self) -> int:
        return ACCENT_NOTE if self.accent else BEAT_NOTE

    @property
    def velocity(self) -> int:
        return ACCENT_VELOCITY if self.accent else BEAT_VELOCITY


@dataclass(frozen=True)
class ClickTrack:
    """Clicks on every beat of ``metre`` at ``bpm``, the first bar's downbeat at ``origin_ns``."""

    origin_ns: int
    bpm: float = DEFAULT_BPM
    metre: TimeSignature = TimeSignature()

    @property
    def beat_ns(self) -> int:
        return s_to_ns(self.metre.beat_s(self.bpm))

    @property
    def bar_ns(self) -> int:
        return self.beat_ns * self.metre.numerator

    def click(self, k: int) -> Click:
        """The ``k``-th click (0 = the origin's downbeat)."""
        return Click(self.origin_ns + k * self.beat_ns, k % self.metre.numerator)

    def next_index(self, t_ns: int) -> int:
        """Index of the first click at or after ``t_ns``."""
        return max(0, -((self.origin_ns - t_ns) // self.beat_ns))


class Metronome:
    """Plays a :class:`ClickTrack` on ``instrument()`` (a callable giving the
    :class:`~composer_app.live.instrument.Instrument` to click on now: the engine's synth, or its silent
    stand-in) from a background thread.

    ``on`` clicks until switched off; :meth:`count_in` clicks one bar (and goes on if ``on``) and returns the
    downbeat after it. Tempo and metre changes restart the beat grid on the next beat.
    """

    def __init__(self, instrument, bpm: float = DEFAULT_BPM, metre="4/4", on_click=None):
        self._instrument = instrument
        self.on_click = on_click  # on_click(Click), on the metronome's thread, right after each click sounds
        self.bpm = check_tempo(bpm)
        self.metre = parse_time_signature(metre)
        self.on = False
        self._track: ClickTrack | None = None
        self._until_ns: int | None = None  # a count-in alone stops here
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: The clicks played so far, newest last (bounded): what a test or a beat display can observe.
        self.played: list[Click] = []

    @property
    def running(self) -> bool:
        return self._track is not None

    @property
    def track(self) -> ClickTrack | None:
        return self._track

    def set_on(self, on: bool, now_ns: int | None = None) -> None:
        """Click on every beat from now (True) or stop clicking after any count-in (False)."""
        with self._lock:
            self.on = bool(on)
            if self.on:
                self._until_ns = None
                if self._track is None:
                    self._track = ClickTrack(_now(now_ns) + s_to_ns(LEAD_S), self.bpm, self.metre)
            elif self._until_ns is None:
                self._track = None
        self._kick()

    def set_tempo(self, bpm: float, now_ns: int | None = None) -> None:
        self.bpm = check_tempo(bpm)
        self._regrid(now_ns)

    def set_metre(self, metre, now_ns: int | None = None) -> None:
        self.metre = parse_time_signature(metre)
        self._regrid(now_ns)

    def _regrid(self, now_ns: int | None) -> None:
        with self._lock:
            if self._track is not None:
                nxt = self._track.click(self._track.next_index(_now(now_ns))).t_ns
                self._track = ClickTrack(nxt, self.bpm, self.metre)
        self._kick()

    def count_in(self, now_ns: int | None = None) -> int:
        """Click one bar starting just after now; returns the downbeat after it (``perf_counter_ns``), when the
        take starts. Clicking goes on past it only if the metronome is on."""
        with self._lock:
            track = ClickTrack(_now(now_ns) + s_to_ns(LEAD_S), self.bpm, self.metre)
            self._track = track
            downbeat = track.origin_ns + track.bar_ns
            self._until_ns = None if self.on else downbeat
        self._kick()
        return downbeat

    def _kick(self) -> None:
        if self._closed:
            return
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            thread = threading.Thread(target=self._run, name="metronome", daemon=True)
            thread.start()  # published only once started: close() on another thread may join it at once
            self._thread = thread
        self._wake.set()

    def _run(self) -> None:
        last: tuple[ClickTrack, int] | None = None  # the click played last, so none is played twice
        while not self._stop.is_set():
            with self._lock:
                track, until = self._track, self._until_ns
            if track is None:
                self._wake.wait()
                self._wake.clear()
                continue
            # A click up to half a beat late is still played (a busy machine woke us late), never one twice.
            k = track.next_index(time.perf_counter_ns() - track.beat_ns // 2)
            if last is not None and last[0] is track:
                k = max(k, last[1] + 1)
            click = track.click(k)
            if until is not None and click.t_ns >= until:
                with self._lock:
                    if self._track is track and not self.on:
                        self._track, self._until_ns = None, None
                continue
            delay = ns_to_s(click.t_ns - time.perf_counter_ns())
            self._wake.clear()
            if delay > 0 and self._wake.wait(delay):
                continue  # changed meanwhile: look again
            with self._lock:
                if self._track is not track:
                    continue
            last = (track, k)
            self._play(click, track)

    def _play(self, click: Click, track: ClickTrack) -> None:
        instrument = self._instrument()  # click_off goes to the same one, should the synth be swapped meanwhile
        instrument.click(click.note, click.velocity)
        self.played = [*self.played[-63:], click]
        if self.on_click is not None:
            try:
                self.on_click(click)
            except Exception:
                log.exception("metronome click listener failed")
        off = min(CLICK_S, track.beat_ns / 2e9)
        self._stop.wait(off)
        instrument.click_off(click.note)

    def close(self) -> None:
        """Stop clicking and end the thread (for good: later changes start no new one)."""
        self._closed = True
        with self._lock:
            self._track, self._until_ns, self.on = None, None, False
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


def _now(now_ns: int | None) -> int:
    return time.perf_counter_ns() if now_ns is None else int(now_ns)
