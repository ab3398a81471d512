import numpy as np

from composer_app.musical_stats import compare_generated, melody_stats


def test_stats_of_a_c_major_scale():
    s = melody_stats([60, 62, 64, 65, 67, 69, 71, 72, 72])
    assert s["pitch_range"] == 12 and s["pitch_classes"] == 7
    assert abs(s["scale_consistency"] - 1.0) < 1e-9
    assert abs(s["repeat_rate"] - 1 / 8) < 1e-9
    assert abs(s["mean_abs_interval"] - 12 / 8) < 1e-9
    chromatic = melody_stats(list(range(60, 72)))
    assert abs(chromatic["pc_entropy_bits"] - np.log2(12)) < 1e-9 and chromatic["scale_consistency"] < 0.6


def test_compare_generated_reports_both_sides(tiny_model):
    loaded = tiny_model("vanilla_rnn", "offline")
    melody = np.array([[0.5 * i, 0.5 * i + 0.4, 60 + (i % 3) * 2] for i in range(16)])
    out = compare_generated(loaded, [melody, melody], seed=0)
    assert out["melodies"] == 2
    assert out["real"]["pitch_classes"] == 3.0 and abs(out["real"]["scale_consistency"] - 1.0) < 1e-9
    assert set(out["generated"]) == set(out["real"]) and 1 <= out["generated"]["pitch_classes"] <= 12
    assert out == compare_generated(loaded, [melody, melody], seed=0)  # a seed gives the same melodies


def test_repeated_patterns_counts_motifs_heard_before_in_any_key():
    # Intervals +2 +2 -4 | +2 +2 -4 ...: the patterns at notes 0-3, 1-4, 2-5 are new; every later one repeats.
    s = melody_stats([60, 62, 64, 60, 62, 64, 60, 62])
    assert abs(s["repeated_patterns"] - 2 / 5) < 1e-9  # 5 patterns, the last two heard before
    # A motif transposed up a fifth is the same interval pattern; a new shape is not a repeat.
    from composer_app.musical_stats import repeated_pattern_share
    assert repeated_pattern_share([60, 62, 64, 62, 67, 69, 71, 69]) == 1 / 5  # +2 +2 -2 again at 67
    assert repeated_pattern_share([60, 61, 63, 66, 70, 75]) == 0.0  # every interval new
    assert repeated_pattern_share([60, 60, 60, 60, 60]) == 1 / 2  # 0 0 0 twice, overlapping
    assert np.isnan(repeated_pattern_share([60, 62, 64]))  # too short for one 4-note pattern
