"""Whether a beat costs more late in a long take than early on (``everybody-compose bench step --take N``).

Why a measurement and not a test: the engine keeps the take, its journal, the undo snapshots and the model's
melody memory, and a per-beat cost that grew with any of them would make a long session slowly lose its
timing. Whether it grows is a figure, read from one run: on a loaded machine whole stretches of a run go several
times slower, so a timed assertion would fail for reasons that are not the code's (the soak test checks order,
counts, memory and silence instead).

A take of ``beats`` taps (alternating keys, 120-500 ms apart, held for part of the gap, on a clock of their own
so the run goes as fast as the engine does) is played through a :class:`~composer_app.live.engine.LiveEngine`
with no sound device and its journal written, as the app plays. Per beat: the model step + draw
(:attr:`StepTiming.step_ns <composer_app.live.engine.StepTiming>`) and the whole ``press`` call (with the take's
bookkeeping). Reported: the median of each over the first and the last ``edge`` beats, and last / first.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from composer_app.clock import ns_to_us, s_to_ns

DEFAULT_EDGE = 500
KEYS = ("key:z", "key:x")
GAP_S = (0.12, 0.5)
HOLD = (0.3, 0.8)  # of the gap


def play_take(loaded, beats: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Play ``beats`` taps through a silent engine, on one torch thread as the app steps; ``(step_ns, press_ns)``
    per beat, in order."""
    import torch

    from composer_app.live.engine import LiveEngine
    from composer_app.live.instrument import SilentSynth

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    steps = np.zeros(beats, dtype=np.int64)
    presses = np.zeros(beats, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="ec-bench-take-") as take_dir:
        engine = LiveEngine(loaded, audio=False, take_dir=take_dir, seed=seed, synth=SilentSynth())
        try:
            t = time.perf_counter_ns()
            for k in range(beats):
                gap = rng.uniform(*GAP_S)
                t0 = time.perf_counter_ns()
                started = engine.press(KEYS[k % len(KEYS)], t)
                presses[k] = time.perf_counter_ns() - t0
                steps[k] = started.timing.step_ns
                engine.release(KEYS[k % len(KEYS)], t + s_to_ns(gap * rng.uniform(*HOLD)))
                t += s_to_ns(gap)
        finally:
            engine.close()
            torch.set_num_threads(threads)
    return steps, presses


def growth(times_ns: np.ndarray, edge: int) -> dict:
    """Median (microseconds) of the first and the last ``edge`` times, and last / first."""
    first, last = float(np.median(ns_to_us(times_ns[:edge]))), float(np.median(ns_to_us(times_ns[-edge:])))
    return {"first_p50_us": first, "last_p50_us": last, "ratio": last / first}


def measure(loaded, beats: int, edge: int = DEFAULT_EDGE, seed: int = 0) -> dict:
    """The whole measurement for one live model: ``{'beats', 'edge', 'step': growth, 'press': growth}``."""
    if beats < 2 * edge:
        raise ValueError(f"a take of {beats} beats has no separate first and last {edge}")
    steps, presses = play_take(loaded, beats, seed)
    return {"beats": beats, "edge": edge, "step": growth(steps, edge), "press": growth(presses, edge)}


def report_lines(results: dict) -> list[str]:
    """The table of ``{model name: measure(...)}``."""
    first = next(iter(results.values()))
    lines = [f"per-beat cost over a take of {first['beats']} beats: median of the first and last {first['edge']}",
             f"{'model':15s} {'step first':>11s} {'last':>7s} {'ratio':>6s} {'press first':>12s} {'last':>7s} "
             f"{'ratio':>6s}  (microseconds)"]
    for name, r in results.items():
        s, p = r["step"], r["press"]
        lines.append(f"{name:15s} {s['first_p50_us']:11.0f} {s['last_p50_us']:7.0f} {s['ratio']:5.2f}x "
                     f"{p['first_p50_us']:12.0f} {p['last_p50_us']:7.0f} {p['ratio']:5.2f}x")
    lines.append("ratio = last / first: about 1 when a beat costs the same late in a long take as early on; "
                 "press = the whole key-down (step, draw, take, journal, undo)")
    return lines
