"""``everybody-compose bench step``: the per-beat cost of each live model, ours versus the naive way.

Ours: one torch thread (tight tails), ``torch.lstm_cell``-style steps on carried state, attention keys
projected once per beat. Naive: the same weights stepped through ``nn.LSTM``/``nn.RNN`` modules one token at
a time with default torch settings (threads, oneDNN), full attention recomputed over the window each beat —
what the original's sampler did. Both are timed in the same process, so the ratio is what matters.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")


def _time_steps(step, n_warm: int, n: int) -> np.ndarray:
    for _ in range(n_warm):
        step()
    out = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter_ns()
        step()
        out[i] = (time.perf_counter_ns() - t0) / 1000.0
    return out


def original_size_model(arch: str):
    """An untrained live model at the original project's sizes (hidden 512, attention decoder 1024)."""
    import models
    from composer_app.beats import FeatureSpec
    from composer_app.checkpoints import LoadedModel
    from composer_app.training.config import load_config, model_config

    torch.manual_seed(0)
    model = models.build(arch, **model_config(arch, load_config(arch, "original"), "live")).eval()
    return LoadedModel(model, arch, "live", FeatureSpec(), "(untrained, original size)")


def measure(arch: str, steps: int = 2000, warmup: int = 200, original_size: bool = False) -> dict:
    from composer_app.checkpoints import shipped_or_untrained
    from composer_app.sampling import LiveStepper, SamplingSettings
    from models.naive import naive_start, naive_step

    if original_size:
        loaded, shipped = original_size_model(arch), None
    else:
        loaded, shipped = shipped_or_untrained(arch, "live")
    model = loaded.model
    rng = np.random.default_rng(0)
    beats = loaded.features_of(rng.uniform(0, 0.6, size=(steps + warmup, 2)))
    pitches = torch.from_numpy(rng.integers(50, 80, size=steps + warmup))
    default_threads = torch.get_num_threads()

    with torch.no_grad():
        # Naive: default settings.
        torch.set_num_threads(default_threads)
        st = {"s": naive_start(model), "i": 0}

        def naive():
            i = st["i"] % len(beats)
            _, st["s"] = naive_step(model, st["s"], beats[i:i + 1], pitches[i:i + 1])
            st["i"] += 1

        naive_t = _time_steps(naive, warmup, steps)
        # Ours: one thread, fast cell path.
        torch.set_num_threads(1)
        fs = {"s": model.start(1), "i": 0}

        def fast():
            i = fs["i"] % len(beats)
            _, fs["s"] = model.step(fs["s"], beats[i:i + 1], pitches[i:i + 1])
            fs["i"] += 1

        fast_t = _time_steps(fast, warmup, steps)
        stepper = LiveStepper(loaded, SamplingSettings(), seed=0)
        raw = rng.uniform(0, 0.6, size=(steps + warmup, 2))
        ks = {"i": 0}

        def beat():
            r = raw[ks["i"] % len(raw)]
            stepper.next_pitch(float(r[0]), float(r[1]))
            ks["i"] += 1

        beat_t = _time_steps(beat, warmup, steps)
    torch.set_num_threads(default_threads)
    return {
        "model": "untrained, original size" if shipped is None else "shipped" if shipped else "untrained, shipped size",
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


def run(args) -> int:
    results = {arch: measure(arch, getattr(args, "steps", 2000), original_size=getattr(args, "original_size", False))
               for arch in getattr(args, "models", ARCHS)}
    if getattr(args, "json", False):
        print(json.dumps(results))
        return 0
    print(f"per-beat model step, live models, batch 1 ({results[next(iter(results))]['steps']} steps after warm-up)")
    print(f"{'model':15s} {'ours p50':>9s} {'p99':>8s} {'naive p50':>10s} {'p99':>8s} {'ratio p50':>10s} "
          f"{'p99':>6s} {'beat p99':>9s}  (microseconds)")
    for arch, r in results.items():
        print(f"{arch:15s} {r['p50_us']:9.0f} {r['p99_us']:8.0f} {r['naive_p50_us']:10.0f} {r['naive_p99_us']:8.0f} "
              f"{r['speedup_p50']:9.1f}x {r['speedup_p99']:5.1f}x {r['beat_p99_us']:9.0f}  [{r['model']}]")
    print("beat = model step + features + sampling, everything done at key-down")
    return 0
