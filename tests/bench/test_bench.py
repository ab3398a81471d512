"""The speed benchmarks, small: their baselines compute what ours compute, and their JSON has the asked keys."""

import json

import numpy as np
import pytest

from composer_app.bench import take_growth
from composer_app.bench.generate import naive_beam_search
from composer_app.cli import main
from composer_app.sampling import SamplingSettings, beam_search

from ..test_sampling import DURS, RESTS


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_naive_beam_search_finds_the_same_melody_when_no_draw_is_made(tiny_model, arch):
    """With beam_prob 1 every beat expands and keeps the best: no random draw, so the per-beam baseline and
    the batched search must agree note for note (the baseline is the same search, done slowly)."""
    loaded = tiny_model(arch, "offline")
    s = SamplingSettings(strategy="beam", beam_prob=1.0, num_beams=4, repeat_decay=0.3, loop_guard=0, max_run=0)
    ours = beam_search(loaded, RESTS, DURS, s, seed=0)
    naive = naive_beam_search(loaded, RESTS, DURS, s, seed=0)
    assert np.array_equal(ours, naive)


def test_bench_generate_json(capsys):
    assert main(["bench", "generate", "--json", "--beats", "12", "--repeats", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"vanilla_rnn", "lstm_attn", "attention_rnn"}
    for r in result.values():
        assert r["stochastic_s"] > 0 and r["beam_s"] > 0 and r["naive_beam_s"] > 0 and r["variations_s"] > 0
        assert r["variations_vs_one_at_a_time"] == pytest.approx(4 * r["stochastic_s"] / r["variations_s"])
        assert r["infill_s"] > 0
        assert r["repeats"] == 2 and r["beam_speedup"] == pytest.approx(r["naive_beam_s"] / r["beam_s"])
        low, high = r["beam_speedup_range"]
        assert low <= high


def test_bench_step_json(capsys):
    assert main(["bench", "step", "--json", "--steps", "40", "--models", "lstm_attn", "attention_rnn"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"lstm_attn", "attention_rnn"}
    for r in result.values():
        assert 0 < r["p50_us"] <= r["p99_us"] and 0 < r["naive_p50_us"] <= r["naive_p99_us"]
        assert r["steps"] == 40 and r["beat_p50_us"] > 0


def test_bench_step_take_compares_the_first_and_last_beats_of_a_take(capsys):
    """``bench step --take`` plays a take through the engine and reports the medians of its first and last beats
    and their ratio: the report's shape is checked here, never its timing (that is the bench's to show)."""
    assert main(["bench", "step", "--json", "--steps", "40", "--models", "vanilla_rnn", "--take", "60",
                 "--edge", "20"]) == 0
    take = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["vanilla_rnn"]["take"]
    assert (take["beats"], take["edge"]) == (60, 20) and set(take) == {"beats", "edge", "step", "press"}
    for part in ("step", "press"):
        r = take[part]
        assert r["first_p50_us"] > 0 and r["ratio"] == pytest.approx(r["last_p50_us"] / r["first_p50_us"])
    # Each press contains its beat's step, so its medians cannot be the smaller ones.
    assert take["press"]["first_p50_us"] > take["step"]["first_p50_us"]
    assert take["press"]["last_p50_us"] > take["step"]["last_p50_us"]
    table = take_growth.report_lines({"vanilla_rnn": take})
    assert "60 beats" in table[0] and "last 20" in table[0] and table[2].startswith("vanilla_rnn")
    with pytest.raises(ValueError, match="first and last 20"):
        take_growth.measure(None, 30, edge=20)


@pytest.mark.parametrize("steps", [1, 7, 20, 40])
def test_every_timed_step_is_run_once_however_the_blocks_divide(steps):
    from composer_app.bench.step import _time_interleaved

    calls = {"a": 0, "b": 0}

    def counter(name):
        def step():
            calls[name] += 1
        return step

    times = _time_interleaved({"a": (1, counter("a")), "b": (1, counter("b"))}, warmup=2, steps=steps)
    assert {name: len(t) for name, t in times.items()} == {"a": steps, "b": steps}
    assert calls == {"a": steps + 2, "b": steps + 2}
