"""``everybody-compose bench generate``: stochastic and beam generation of a 512-beat rhythm per offline
model (a Recolour), beside the straightforward beam search in the same run: one beam and one candidate at a
time in Python, each beam stepped alone through the model's plain reference ``step`` (the original's method);
and Recolour's four variations drawn in one batch, beside four lines drawn one after the other, and four
variations of a selection (the middle quarter composed again around the rest, from up to 16 candidates).
"""

from __future__ import annotations

import heapq
import json
import math
import time

import numpy as np
import torch

from composer_app.sampling import SamplingSettings, generate, generate_variations, lock_bias, model_beats

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")
#: Recolour's variations, drawn as one batch.
VARIATIONS = 4


def _log_probs(logits, prev: int, s: SamplingSettings, bias: torch.Tensor) -> torch.Tensor:
    """One beam's log-probabilities with torch ops on a (128,) tensor, as the original worked on tensors."""
    z = logits[0].float() / s.temperature + bias
    if s.repeat_decay > 0:
        z[prev] += math.log1p(-s.repeat_decay) if s.repeat_decay < 1 else -1e9
    return torch.log_softmax(z, dim=-1)


def _draw(logp: torch.Tensor, s: SamplingSettings, g: torch.Generator) -> int:
    """Top-k, then the top-p nucleus among them (at least one), then a multinomial draw: one beam's pitch."""
    top, idx = torch.topk(logp, min(s.top_k, logp.shape[-1]))
    probs = top.exp()
    keep = (probs.cumsum(-1) - probs) < s.top_p
    keep[0] = True
    return int(idx[torch.multinomial(probs * keep, 1, generator=g)])


@torch.no_grad()
def naive_beam_search(loaded, rests, durs, settings: SamplingSettings, seed: int = 0) -> np.ndarray:
    """The same hybrid search, done the straightforward way: a Python list of beams, each stepped alone;
    on an expanding beat every (beam, pitch) candidate is scored and ranked one at a time."""
    g = torch.Generator().manual_seed(seed)
    model = loaded.model
    beats = model_beats(loaded, rests, durs)
    bias = torch.from_numpy(lock_bias(settings))
    beams = [(0.0, [], model.start(1, beats=beats))]
    for t in range(beats.shape[1]):
        stepped = []
        for score, notes, state in beams:
            prev = notes[-1] if notes else 0
            logits, new_state = model.step(state, beats[:, t], torch.tensor([prev]))
            stepped.append((score, notes, new_state, _log_probs(logits, prev, settings, bias)))
        if torch.rand(1, generator=g).item() < settings.beam_prob:
            candidates = []
            for score, notes, state, logp in stepped:
                for pitch in range(128):
                    lp = float(logp[pitch])
                    if lp > -math.inf:
                        candidates.append((score + lp, notes + [pitch], state))
            best = heapq.nlargest(settings.num_beams, candidates, key=lambda c: c[0])
            beams = [(s, n, dict(st)) for s, n, st in best]
        else:
            beams = []
            for score, notes, state, logp in stepped:
                pitch = _draw(logp, settings, g)
                beams.append((score + float(logp[pitch]), notes + [pitch], state))
    return np.array(max(beams, key=lambda b: b[0])[1])


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(arch: str, beats: int = 512, seed: int = 0, repeats: int = 5) -> dict:
    """Median of ``repeats`` rounds, each timing ours (on one torch thread, as the app and ``generate`` run it)
    and the baseline (default torch settings) one after the other, so that drift in the machine falls on both."""
    from composer_app.stand_ins import shipped_or_untrained

    loaded, shipped = shipped_or_untrained(arch, "offline")
    rng = np.random.default_rng(seed)
    rests = rng.choice([0.0, 0.0, 0.0, 0.1, 0.25], size=beats)
    durs = rng.choice([0.125, 0.25, 0.25, 0.5, 0.75], size=beats)
    stochastic = SamplingSettings()
    # The original project's search (no loop guard), so that both sides do the same work.
    beam = SamplingSettings(strategy="beam", num_beams=5, beam_prob=0.5, loop_guard=0, max_run=0)
    # A Recolour of a selection: the middle quarter composed again around the rest (sampling.INFILL_CANDIDATES).
    middle_blank = rng.integers(55, 80, size=beats)
    middle_blank[3 * beats // 8: 5 * beats // 8] = -1
    threads = torch.get_num_threads()
    rounds = []
    for _ in range(max(1, repeats)):
        torch.set_num_threads(1)
        ours = (_timed(lambda: generate(loaded, rests, durs, stochastic, seed=seed)),
                _timed(lambda: generate(loaded, rests, durs, beam, seed=seed)),
                _timed(lambda: generate_variations(loaded, rests, durs, stochastic, VARIATIONS, seed=seed)),
                _timed(lambda: generate_variations(loaded, rests, durs, stochastic, VARIATIONS, seed=seed,
                                                   fixed=middle_blank)))
        torch.set_num_threads(threads)
        rounds.append((*ours, _timed(lambda: naive_beam_search(loaded, rests, durs, beam, seed=seed))))
    stochastic_s, beam_s, variations_s, infill_s, naive_s = (float(np.median(c)) for c in zip(*rounds, strict=True))
    return {"model": "shipped" if shipped else "untrained, shipped size", "beats": beats, "repeats": len(rounds),
            "threads": threads, "stochastic_s": stochastic_s, "beam_s": beam_s, "naive_beam_s": naive_s,
            "variations_s": variations_s, "variations_vs_one_at_a_time": VARIATIONS * stochastic_s / variations_s,
            "infill_s": infill_s,
            "beam_speedup": naive_s / beam_s,
            "beam_speedup_range": [min(r[4] / r[1] for r in rounds), max(r[4] / r[1] for r in rounds)]}


def add_arguments(p) -> None:
    p.add_argument("--beats", type=int, default=512, help="rhythm length (default 512)")
    p.add_argument("--repeats", type=int, default=5, help="rounds per model, medians reported (default 5)")
    p.add_argument("--models", nargs="+", choices=ARCHS, default=list(ARCHS))


def run(args) -> int:
    n = getattr(args, "beats", 512)
    repeats = getattr(args, "repeats", 5)
    results = {arch: measure(arch, n, repeats=repeats) for arch in getattr(args, "models", None) or ARCHS}
    if getattr(args, "json", False):
        print(json.dumps(results))
        return 0
    threads = next(iter(results.values()))["threads"]
    print(f"generation of a {n}-beat rhythm, offline models (5 beams, beam_prob 0.5), median of {repeats} rounds; "
          f"the baseline on {threads} torch threads, ours on one")
    print(f"{'model':15s} {'stochastic':>11s} {'beam':>8s} {'naive beam':>11s} {'speed-up':>9s} {'range':>12s} "
          f"{VARIATIONS} variations (vs one at a time), of a selection")
    for arch, r in results.items():
        low, high = r["beam_speedup_range"]
        print(f"{arch:15s} {r['stochastic_s']:10.3f}s {r['beam_s']:7.3f}s {r['naive_beam_s']:10.2f}s "
              f"{r['beam_speedup']:8.1f}x {low:5.1f}-{high:4.1f}x  {r['variations_s']:6.3f}s "
              f"({r['variations_vs_one_at_a_time']:.1f}x faster), {r['infill_s']:.3f}s  [{r['model']}]")
    return 0
