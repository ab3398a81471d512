"""Beat capture: key and MIDI press/release events become the beats a live model needs at key-down.

The instrument is **monophonic**: one model note sounds at a time, because the models predict one melody.
The rules, all decided here so that keys, MIDI keyboards and tests agree:

* **Sources.** Each event names its *source*: a tap key (``"key:z"``, ``"key:x"``, ``"key:space"``) or a MIDI
  note (``"midi:60"``). A press of a source that is already held is ignored: keyboard auto-repeat, the X11
  release/press pairs, a MIDI keyboard that sends two note-ons.
* **Legato.** A press of a new source while a note sounds ends that note at this very moment (rest 0), as the
  original's alternating tap keys did; the held source's later release is then ignored. On a MIDI keyboard,
  overlapping (legato) playing works the same way: a new note-on ends the sounding model note.
* **Chords.** Presses that come within ``chord_window_s`` (default 30 ms) of the sounding note's start join
  that note instead of starting another: a chord on a MIDI keyboard (or two tap keys hit together) is one
  beat, not three notes a few milliseconds long. The note ends when the last of its keys is released.
* **Velocity 0.** A MIDI ``note_on`` with velocity 0 is a note-off (:func:`midi_event` handles it even though
  :class:`~composer_app.live.midi_in.MidiInput` already maps it). MIDI velocity is kept and drives loudness;
  tap keys use ``default_velocity``.
* **What is known at key-down**: the rest since the previous note ended and the
  previous note's duration. A take starts at its first press (its rest is 0), unless it was given a start, such
  as a count-in's downbeat: then the first rest is the time since that start, and presses before it count from
  it. Every rest is clamped to
  ``[0, max_rest_s]`` (the model's ``FeatureSpec.max_seconds``): a long pause to think is a long rest, never a
  silent reset of the model.

Timestamps are integers in nanoseconds on one clock (``time.perf_counter_ns()``, which ``MidiInput`` uses);
:meth:`BeatCapture.take_time` turns them into the take's seconds.
Events from another clock (Qt's millisecond key timestamps) go through :class:`EventClock` first.
Out-of-order timestamps (two clocks that disagree by a little) never make a negative rest or duration.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field

from composer_app.clock import ns_to_s, s_to_ns

DEFAULT_VELOCITY = 100
DEFAULT_CHORD_WINDOW_S = 0.030
TAP_KEYS = ("z", "x", "space")
#: The computer keyboard's steer keys, low to high (Piano Genie's eight buttons): each taps a note and asks the
#: pitch to go up, down or stay by its place relative to the previous steer key (``LiveEngine.press(key_height=)``).
STEER_KEYS = ("a", "s", "d", "f", "j", "k", "l", ";")
_EARLIEST_NS = -(1 << 62)


def key_source(name: str) -> str:
    """Source name of a computer-keyboard tap key."""
    return f"key:{name}"


def steer_key_height(name: str) -> int | None:
    """Place (0 = lowest) of a steer key by its name (``"a"`` ... ``";"``, or ``"semicolon"``), else None."""
    name = ";" if name == "semicolon" else name
    return STEER_KEYS.index(name) if name in STEER_KEYS else None


def midi_source(note: int) -> str:
    """Source name of a MIDI note number."""
    return f"midi:{int(note)}"


def midi_event(kind: str, velocity: int) -> str:
    """``'on'`` or ``'off'``: a note-on with velocity 0 is a note-off."""
    if kind == "on" and velocity > 0:
        return "on"
    return "off"


@dataclass(frozen=True)
class Ended:
    """A note that ended: its index in the take, when, and how long it lasted."""

    index: int
    t_ns: int
    dur_s: float
    source: Hashable


@dataclass(frozen=True)
class Beat:
    """What is known at the key-down of note ``index``: all a live model may see.

    ``rest_s`` is clamped to the model's range (``raw_rest_s`` is what really passed); ``ended`` is the note
    this press cut short (legato), whose note-off must sound together with this note-on.
    """

    index: int
    t_ns: int
    rest_s: float
    raw_rest_s: float
    prev_dur_s: float
    velocity: int
    source: Hashable
    ended: Ended | None = None


@dataclass
class _Sounding:
    index: int
    start_ns: int
    keys: set = field(default_factory=set)


class BeatCapture:
    """Turns press/release events into :class:`Beat` and :class:`Ended` records (rules in the module doc).

    Parameters
    ----------
    t0_ns : int, optional
        When the take starts (the first note's rest is measured from it; earlier presses count from it);
        default None: the take starts at its first press.
    max_rest_s : float or None
        Clamp for rests (the model's ``FeatureSpec.max_seconds``); None = no clamp.
    default_velocity : int
        Loudness of presses that carry none (tap keys).
    chord_window_s : float
        Presses this close to the sounding note's start join it (0 disables chords).
    """

    def __init__(self, t0_ns: int | None = None, max_rest_s: float | None = 4.0,
                 default_velocity: int = DEFAULT_VELOCITY, chord_window_s: float = DEFAULT_CHORD_WINDOW_S):
        self.max_rest_s = max_rest_s
        self.default_velocity = int(default_velocity)
        self.chord_window_ns = s_to_ns(chord_window_s)
        self.reset(t0_ns)

    def reset(self, t0_ns: int | None = None) -> None:
        """Start a new take at ``t0_ns`` (None: at its first press), forgetting every held key."""
        self.t0_ns: int | None = None if t0_ns is None else int(t0_ns)
        self._held: dict[Hashable, int] = {}  # source -> index of the note it pressed
        self._sounding: _Sounding | None = None
        self._last_end_ns: int | None = None  # end of the previous note; None before the first
        self._prev_dur_s = 0.0
        self._count = 0
        self._last_t_ns = self.t0_ns if self.t0_ns is not None else _EARLIEST_NS

    @property
    def started(self) -> bool:
        """True once the take has its start (a first press, or the start it was given)."""
        return self.t0_ns is not None

    def restart_at_next_press(self) -> None:
        """Let the next press start the take again (every note was undone); held keys are kept."""
        self.t0_ns = None
        self._last_t_ns = _EARLIEST_NS

    # -- state --------------------------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Notes started so far (less any undone)."""
        return self._count

    @property
    def sounding(self) -> int | None:
        """Index of the note sounding now, or None."""
        return self._sounding.index if self._sounding else None

    def take_time(self, t_ns: int) -> float:
        """``t_ns`` (``perf_counter_ns``) as seconds in the take (0 before the take has started): the one place
        key-event times become take times."""
        return 0.0 if self.t0_ns is None else ns_to_s(max(0, int(t_ns) - self.t0_ns))

    def _clamp(self, seconds: float) -> float:
        seconds = max(0.0, seconds)
        return seconds if self.max_rest_s is None else min(seconds, float(self.max_rest_s))

    def _monotonic(self, t_ns: int) -> int:
        t_ns = max(int(t_ns), self._last_t_ns)
        self._last_t_ns = t_ns
        return t_ns

    # -- events -------------------------------------------------------------------------------------------------
    def press(self, source: Hashable, t_ns: int, velocity: int | None = None) -> Beat | None:
        """A key went down. Returns the new note's :class:`Beat`, or None when the press starts no note
        (a repeat of a held source, or a key joining a chord)."""
        if source in self._held:
            return None
        t_ns = self._monotonic(t_ns)
        if self.t0_ns is None:
            self.t0_ns = t_ns
        velocity = self.default_velocity if velocity is None else max(1, min(127, int(velocity)))
        cur = self._sounding
        if cur is not None and t_ns - cur.start_ns <= self.chord_window_ns:
            cur.keys.add(source)
            self._held[source] = cur.index
            return None
        ended = self._end(t_ns, source) if cur is not None else None
        since = self.t0_ns if self._last_end_ns is None else self._last_end_ns
        raw_rest = max(0.0, ns_to_s(t_ns - since))
        beat = Beat(self._count, t_ns, self._clamp(raw_rest), raw_rest, self._prev_dur_s, velocity, source, ended)
        self._sounding = _Sounding(self._count, t_ns, {source})
        self._held[source] = self._count
        self._count += 1
        return beat

    def release(self, source: Hashable, t_ns: int) -> Ended | None:
        """A key went up. Returns the note it ends, or None (not held, its note was already ended by legato,
        or other keys of its chord are still down)."""
        index = self._held.pop(source, None)
        cur = self._sounding
        if index is None or cur is None or cur.index != index:
            return None
        cur.keys.discard(source)
        if cur.keys:
            return None
        return self._end(self._monotonic(t_ns), source)

    def end_sounding(self, t_ns: int) -> Ended | None:
        """End the sounding note now whatever keys are down (stop, model switch, focus lost); the keys'
        later releases are ignored."""
        if self._sounding is None:
            return None
        return self._end(self._monotonic(t_ns), None)

    def _end(self, t_ns: int, source) -> Ended:
        cur = self._sounding
        dur = max(0.0, ns_to_s(t_ns - cur.start_ns))
        self._sounding = None
        self._last_end_ns = t_ns
        self._prev_dur_s = dur
        return Ended(cur.index, t_ns, dur, source)

    def undo(self, prev_end: float | None, prev_dur_s: float) -> None:
        """Forget the last note: the next rest is measured from ``prev_end`` (seconds in the take: the end of the
        note now last, None when none is left) and ``prev_dur_s`` is that note's duration."""
        if self._count == 0:
            return
        if self._sounding is not None and self._sounding.index == self._count - 1:
            self._sounding = None
        self._count -= 1
        # Keys still down on undone notes: their releases must not end a later note that reuses the index.
        self._held = {src: i for src, i in self._held.items() if i < self._count}
        self._last_end_ns = None if prev_end is None else self.t0_ns + s_to_ns(prev_end)
        self._prev_dur_s = float(prev_dur_s) if prev_end is not None else 0.0


class EventClock:
    """Maps timestamps of another clock (e.g. Qt's key events, milliseconds) onto ``perf_counter_ns``.

    The offset between the clocks is estimated as the smallest ``now - stamp`` seen: the event that reached us
    fastest. Intervals between events keep the precision of the foreign stamps, and a mapped time is never
    later than now.
    """

    def __init__(self, unit_ns: int = 1_000_000):
        self.unit_ns = int(unit_ns)
        self._offset: int | None = None

    def to_ns(self, stamp: int | float, now_ns: int | None = None) -> int:
        now_ns = time.perf_counter_ns() if now_ns is None else int(now_ns)
        foreign = int(stamp * self.unit_ns)
        offset = now_ns - foreign
        if self._offset is None or offset < self._offset:
            self._offset = offset
        return foreign + self._offset
