"""The app's two units of time, and the only place they are converted.

Instants come from ``time.perf_counter_ns()`` and take files store integer nanoseconds, so key events, clicks and
files count in **nanoseconds** (``int``, names end in ``_ns``). Music is reasoned about in **seconds** (``float``,
names end in ``_s``): rests, durations, a take's times. Diagnostics are shown in milliseconds. Writing the factor
by hand at each crossing is how a unit slips (a ``1e6`` where ``1e9`` was meant); these functions name it once.
"""

from __future__ import annotations

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_US = 1_000


def s_to_ns(seconds: float) -> int:
    """``seconds`` as whole nanoseconds, rounded to the nearest (an instant's offset, a time in a take file)."""
    return int(round(seconds * NS_PER_S))


def ns_to_s(ns):
    """Nanoseconds (an int, or a numpy array of them) as seconds (float)."""
    return ns / NS_PER_S


def ns_to_ms(ns):
    """Nanoseconds (an int, or a numpy array of them) as milliseconds (float): how timing figures are shown."""
    return ns / NS_PER_MS


def ns_to_us(ns):
    """Nanoseconds (an int, or a numpy array of them) as microseconds (float): a model step's time in a take file."""
    return ns / NS_PER_US
