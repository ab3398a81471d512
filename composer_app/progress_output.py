"""Where progress goes: a bar redrawn in place on a terminal, plain lines anywhere else.

A tqdm bar redraws itself with carriage returns. Sent to a log file (``train ... > log 2>&1``, a batch job, CI)
that is one line growing by every redraw — 30 KB for a short fine-tuning — which no editor or ``tail`` reads
well. So off a terminal each redraw becomes a line of its own, drawn in plain ASCII, and seldom.
"""

from __future__ import annotations

import re
import sys

#: Seconds between two progress lines in a log (a terminal's bar redraws every 0.1 s).
LOG_INTERVAL_S = 30.0
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\r")


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (default: stderr, where progress goes) is a terminal that can redraw a line."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineWriter:
    """A file for tqdm that writes each redraw as a line of its own, without carriage returns or cursor moves
    (and nothing for the blank redraw a closing bar erases itself with)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        for part in _CONTROL.split(text):
            line = part.strip()
            if line:
                self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar_options(stream=None) -> dict:
    """tqdm keyword arguments for a bar on ``stream`` (default: stderr): as it is on a terminal; elsewhere plain
    lines every :data:`LOG_INTERVAL_S` seconds."""
    stream = sys.stderr if stream is None else stream
    if on_terminal(stream):
        return {"file": stream}
    return {"file": LineWriter(stream), "ascii": True, "mininterval": LOG_INTERVAL_S, "ncols": 100}


class ProgressLines:
    """Fine-tuning's progress as plain lines (off a terminal): one when the message changes or the share done
    passes another :attr:`step` percent, so a log holds a few dozen lines whatever the run's length."""

    def __init__(self, stream=None, step: int = 5):
        self.stream = sys.stdout if stream is None else stream
        self.step = step
        self._last: tuple[int, str] | None = None

    def __call__(self, fraction: float, message: str) -> None:
        percent = int(100 * min(1.0, max(0.0, fraction)))
        key = (percent // self.step, message)
        if key != self._last:
            self._last = key
            self.stream.write(f"{percent:3d} % {message}\n")
            self.stream.flush()
