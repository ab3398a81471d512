import numpy as np
import pytest

from composer_app.musical_stats import STATS, compare_generated, format_comparison, melody_stats
from composer_app.notes import Notes


def test_stats_of_a_c_major_scale():
    s = melody_stats([60, 62, 64, 65, 67, 69, 71, 72, 72])
    assert set(s) == set(STATS)
    assert s["pitch_range"] == 12 and s["distinct_pitches"] == 8 and s["key_fit"] == pytest.approx(1.0)
    assert s["same_pitch_repeats"] == pytest.approx(1 / 8) and s["mean_abs_interval"] == pytest.approx(12 / 8)
    assert s["loop"] == 0.0 and s["longest_run"] == 2
    chromatic = melody_stats(list(range(60, 72)))
    assert chromatic["pc_entropy_bits"] == pytest.approx(np.log2(12)) and chromatic["key_fit"] < 0.6


def test_compare_generated_reports_the_two_sample_test_beside_the_real_floor(tiny_model):
    loaded = tiny_model("vanilla_rnn", "offline")
    rng = np.random.default_rng(0)
    melodies = []
    for _ in range(24):
        pitches = 60 + np.cumsum(rng.choice([-2, -1, 0, 1, 2], 20))
        melodies.append(Notes.from_rows([[0.5 * j, 0.5 * j + 0.4, p] for j, p in enumerate(pitches)]))
    out = compare_generated(loaded, melodies, seed=0)
    assert out["melodies"] == 24 and set(out["generated"]) == set(out["real"]) == set(STATS)
    # An untrained model draws nearly uniformly over 128 pitches: every melody gives itself away.
    assert out["two_sample"] > 0.9 and out["generated"]["pitch_range"] > 3 * out["real"]["pitch_range"]
    assert 0.2 <= out["real_vs_real"] <= 0.8
    assert out == compare_generated(loaded, melodies, seed=0)  # a seed gives the same melodies and figures
    text = format_comparison(out)
    assert "a classifier tells generated from real" in text and f"{out['two_sample']:.3f}" in text
