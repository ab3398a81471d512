"""``everybody-compose bench step``: the per-beat cost of each live model, the fast path against the plain one.

Ours: the fast path (:mod:`models.fast`) on one torch thread in inference mode, as the app steps. Baseline:
the model's own reference ``step`` in plain torch (the same numbers, melody memory included) with default torch
settings. Both run in the same process, in alternating blocks, so the ratio is what matters.

``--take N`` also plays a take of N beats through the engine and compares the cost of its first and last beats
(:mod:`composer_app.bench.take_growth`): whether a beat costs more as the take grows.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from composer_app.bench import take_growth
from composer_app.clock import ns_to_us

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")


def _time_interleaved(contestants: dict, warmup: int, steps: int, blocks: int = 8) -> dict[str, np.ndarray]:
    """Per-call times (us) of each contestant ``name -> (torch threads, step function)``, run in alternating
    blocks so that whatever the machine does meanwhile (frequency, other processes, the OpenMP pool's
    moods) falls on every contestant alike, not on whichever happened to run first."""
    times = {name: [] for name in contestants}
    for threads, step in contestants.values():
        torch.set_num_threads(threads)
        for _ in range(warmup):
            step()
    for b in range(blocks):
        n = steps // blocks + (b < steps % blocks)  # the steps shared out as evenly as they go
        for name, (threads, step) in contestants.items():
            torch.set_num_threads(threads)
            out = np.empty(n)
            for i in range(n):
                t0 = time.perf_counter_ns()
                step()
                out[i] = ns_to_us(time.perf_counter_ns() - t0)
            times[name].append(out)
    return {name: np.concatenate(parts) for name, parts in times.items()}


def original_size_model(arch: str):
    """An untrained live model at the original project's sizes (hidden 512, attention decoder 1024), its weights
    rounded to float16 as a shipped checkpoint stores them (so it steps as a shipped model would)."""
    import models
    from composer_app.beats import FeatureSpec
    from composer_app.checkpoints import LoadedModel
    from composer_app.training.config import load_config, model_config

    torch.manual_seed(0)
    model = models.build(arch, **model_config(arch, load_config(arch, "original"), "live")).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return LoadedModel(model, arch, "live", FeatureSpec(), "(untrained, original size)")


def live_model(arch: str, original_size: bool = False) -> tuple:
    """``(the live model measured, what it is in words)``: the shipped one (or an untrained one of its size), or
    with ``original_size`` an untrained one at the original project's sizes."""
    from composer_app.stand_ins import shipped_or_untrained

    if original_size:
        return original_size_model(arch), "untrained, original size"
    loaded, shipped = shipped_or_untrained(arch, "live")
    return loaded, "shipped" if shipped else "untrained, shipped size"


def measure(arch: str, steps: int = 2000, warmup: int = 200, original_size: bool = False) -> dict:
    from composer_app.sampling import LiveStepper, SamplingSettings
    from models.fast import fast_steps

    loaded, what = live_model(arch, original_size)
    model = loaded.model
    rng = np.random.default_rng(0)
    beats = loaded.features_of(rng.uniform(0, 0.6, size=(steps + warmup, 2)))
    pitches = torch.from_numpy(rng.integers(50, 80, size=steps + warmup))
    default_threads = torch.get_num_threads()

    with torch.no_grad():
        naive_state = {"s": model.start(1), "i": 0}

        def naive():  # the reference step in plain torch, default torch settings
            i = naive_state["i"] % len(beats)
            _, naive_state["s"] = model.step(naive_state["s"], beats[i:i + 1], pitches[i:i + 1])
            naive_state["i"] += 1

        fast_path = fast_steps(model)
        ours_state = {"s": fast_path.start(1), "i": 0}

        def fast():  # ours: one thread, the fast path, inference mode (as LiveStepper runs it)
            i = ours_state["i"] % len(beats)
            with torch.inference_mode():
                _, ours_state["s"] = fast_path.step(ours_state["s"], beats[i:i + 1], pitches[i:i + 1])
            ours_state["i"] += 1

        stepper = LiveStepper(loaded, SamplingSettings(), seed=0)
        raw = rng.uniform(0, 0.6, size=(steps + warmup, 2))
        beat_index = {"i": 0}

        def beat():  # everything done at key-down: features, model step, sampling
            r = raw[beat_index["i"] % len(raw)]
            stepper.next_pitch(float(r[0]), float(r[1]))
            beat_index["i"] += 1

        timed = _time_interleaved({"naive": (default_threads, naive), "ours": (1, fast), "beat": (1, beat)},
                                  warmup, steps)
        naive_t, fast_t, beat_t = timed["naive"], timed["ours"], timed["beat"]
    torch.set_num_threads(default_threads)
    return {
        "model": what,
        "params": int(sum(p.numel() for p in model.parameters())),
        "p50_us": float(np.median(fast_t)), "p99_us": float(np.percentile(fast_t, 99)),
        "naive_p50_us": float(np.median(naive_t)), "naive_p99_us": float(np.percentile(naive_t, 99)),
        "speedup_p50": float(np.median(naive_t) / np.median(fast_t)),
        "speedup_p99": float(np.percentile(naive_t, 99) / np.percentile(fast_t, 99)),
        "beat_p50_us": float(np.median(beat_t)), "beat_p99_us": float(np.percentile(beat_t, 99)),
        "steps": steps, "naive_threads": default_threads,
    }


def add_arguments(p) -> None:
    p.add_argument("--steps", type=int, default=2000, help="timed steps per model (default 2000)")
    p.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS))
    p.add_argument("--original-size", action="store_true",
                   help="untrained models at the original project's sizes instead of the shipped ones")
    p.add_argument("--take", type=int, default=0, metavar="BEATS",
                   help="also play a take of BEATS beats through the engine and compare the median cost of its "
                        "first and last beats (0, the default: not done)")
    p.add_argument("--edge", type=int, default=take_growth.DEFAULT_EDGE, metavar="N",
                   help=f"with --take: how many first and last beats (default {take_growth.DEFAULT_EDGE})")


def run(args) -> int:
    original_size = getattr(args, "original_size", False)
    results = {arch: measure(arch, getattr(args, "steps", 2000), original_size=original_size)
               for arch in getattr(args, "models", ARCHS)}
    take = getattr(args, "take", 0)
    if take:
        edge = getattr(args, "edge", take_growth.DEFAULT_EDGE)
        for arch, result in results.items():
            result["take"] = take_growth.measure(live_model(arch, original_size)[0], take, edge)
    if getattr(args, "json", False):
        print(json.dumps(results))
        return 0
    print(f"per-beat model step, live models, batch 1 ({results[next(iter(results))]['steps']} steps after warm-up)")
    print(f"{'model':15s} {'ours p50':>9s} {'p99':>8s} {'plain p50':>10s} {'p99':>8s} {'ratio p50':>10s} "
          f"{'p99':>6s} {'beat p99':>9s}  (microseconds)")
    for arch, r in results.items():
        print(f"{arch:15s} {r['p50_us']:9.0f} {r['p99_us']:8.0f} {r['naive_p50_us']:10.0f} {r['naive_p99_us']:8.0f} "
              f"{r['speedup_p50']:9.1f}x {r['speedup_p99']:5.1f}x {r['beat_p99_us']:9.0f}  [{r['model']}]")
    print("beat = model step + features + sampling, everything done at key-down")
    if take:
        print()
        print("\n".join(take_growth.report_lines({arch: r["take"] for arch, r in results.items()})))
    return 0
