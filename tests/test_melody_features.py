import numpy as np
import pytest

from composer_app.melody_features import (
    FEATURE_NAMES,
    ends_in_loop,
    feature_matrix,
    longest_run,
    melody_features,
    repeated_pattern_share,
    shortest_period,
)


def features(pitches) -> dict:
    return dict(zip(FEATURE_NAMES, melody_features(pitches), strict=True))


def test_a_c_major_scale_and_back():
    f = features([60, 62, 64, 65, 67, 69, 71, 72, 72, 67, 60])
    assert len(melody_features([60, 62])) == len(FEATURE_NAMES) == len(set(FEATURE_NAMES))
    assert f["pitch_range"] == 12 and f["distinct_pitches"] == 8 and f["key_fit"] == pytest.approx(1.0)
    assert f["interval_+2"] == pytest.approx(5 / 10) and f["interval_-7"] == pytest.approx(1 / 10)
    assert sum(f[f"interval_{i:+d}"] for i in range(-12, 13)) == pytest.approx(1.0)
    assert f["same_pitch_repeats"] == pytest.approx(1 / 10) and f["leaps_over_fourth"] == pytest.approx(1 / 10)
    assert f["last_minus_first"] == 0 and f["ends_on_tonic"] == 1.0 and f["loop"] == 0.0
    assert f["direction_changes"] == pytest.approx(1 / 8)  # up ... up, then down down (the repeat is no move)


def test_wide_leaps_land_in_the_outer_bins():
    f = features([48, 72, 48])
    assert f["interval_+12"] == 0.5 and f["interval_-12"] == 0.5 and f["pitch_range"] == 24


def test_repeated_patterns_count_motifs_heard_before_in_any_key():
    assert repeated_pattern_share([60, 62, 64, 60, 62, 64, 60, 62], 4) == pytest.approx(2 / 5)
    assert repeated_pattern_share([60, 62, 64, 62, 67, 69, 71, 69], 4) == 1 / 5  # +2 +2 -2 again at 67
    assert repeated_pattern_share([60, 61, 63, 66, 70, 75], 4) == 0.0
    assert np.isnan(repeated_pattern_share([60, 62, 64], 4))


def test_loops_runs_and_periods():
    assert shortest_period([60, 62] * 4) == 2 and shortest_period([60, 62, 64, 65, 67]) == 0
    assert ends_in_loop([50, 52, 55] + [60, 64, 67] * 6)  # the last 16 notes cycle with period 3
    assert not ends_in_loop([60, 64, 67] * 5 + [69])  # broken at the end
    assert not ends_in_loop([60, 62, 64, 65, 67] * 4)  # period 5 is a phrase, not a loop
    assert not ends_in_loop([60] * 15)  # too short to tell
    assert longest_run([60, 60, 62, 62, 62, 60]) == 3 and longest_run([]) == 0


def test_feature_matrix_leaves_out_single_notes():
    m = feature_matrix([[60], [60, 62, 64], [], [70, 70]])
    assert m.shape == (2, len(FEATURE_NAMES)) and np.isfinite(m).all()
    with pytest.raises(ValueError):
        melody_features([60])
