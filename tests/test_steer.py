"""Contour steering: re-weights (never replaces) the model's pitch distribution, 0 changes nothing, 1 follows."""

import numpy as np
import pytest

from composer_app.errors import UserError
from composer_app.pitches import contour_of, direction_between
from composer_app.sampling import (
    STEP_SEMITONES,
    LiveStepper,
    PitchHead,
    SamplingSettings,
    generate,
    steer_side,
)

ARCHS = ["vanilla_rnn", "lstm_attn", "attention_rnn"]


def melody(seed: int, n: int = 40) -> np.ndarray:
    """A random-walk melody with repeats, steps and leaps: a contour to follow."""
    rng = np.random.default_rng(seed)
    moves = rng.choice([-7, -4, -2, -1, 0, 0, 1, 2, 3, 5], n - 1)
    return np.clip(64 + np.concatenate([[0], np.cumsum(moves)]), 40, 90)


RESTS = np.tile([0.0, 0.1, 0.0, 0.3], 10)
DURS = np.tile([0.25, 0.5, 0.25, 0.75], 10)


def follows(pitches, contour, low=21, high=108) -> float:
    """Share of moves that went where the contour asked (0: same pitch or a step of at most two semitones),
    among the moves the range allows (nothing is below the lowest pitch)."""
    pitches = np.asarray(pitches)
    got = np.diff(pitches)
    want = np.asarray(contour)[1:]
    ok = np.where(want > 0, got > 0, np.where(want < 0, got < 0, np.abs(got) <= STEP_SEMITONES))
    possible = ~(((want > 0) & (pitches[:-1] >= high)) | ((want < 0) & (pitches[:-1] <= low)))
    return float(ok[possible].mean())


def test_contour_and_key_direction():
    assert contour_of([60, 62, 62, 59]).tolist() == [0, 1, 0, -1]
    assert direction_between(None, 60) is None
    assert [direction_between(60, h) for h in (61, 60, 48)] == [1, 0, -1]


@pytest.mark.parametrize("strategy", ["stochastic", "beam"])
@pytest.mark.parametrize("arch", ARCHS)
def test_steer_zero_is_bit_for_bit_the_model_alone(tiny_model, arch, strategy):
    loaded = tiny_model(arch, "offline")
    plain = SamplingSettings(strategy=strategy)
    contour = contour_of(melody(1))
    a = generate(loaded, RESTS, DURS, plain, seed=3)
    b = generate(loaded, RESTS, DURS, plain.with_(steer=0.0), seed=3, contour=contour)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("strategy", ["stochastic", "beam"])
@pytest.mark.parametrize("arch", ARCHS)
def test_full_steer_follows_other_melodies_contours(tiny_model, arch, strategy):
    loaded = tiny_model(arch, "offline")
    for seed in range(3):
        contour = contour_of(melody(seed))
        out = generate(loaded, RESTS, DURS, SamplingSettings(strategy=strategy, steer=1.0), seed=seed,
                       contour=contour)
        assert follows(out, contour) >= 0.95


def test_steer_reweights_the_distribution_not_replaces_it():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 128)).astype(np.float32)
    prev = np.array([60])
    plain = PitchHead(SamplingSettings(repeat_decay=0.0, low=1, high=127))
    half = PitchHead(SamplingSettings(repeat_decay=0.0, low=1, high=127, steer=0.5))
    p = np.exp(plain.log_probs_(logits.copy(), prev))[0]
    q = np.exp(half.steer_(half.log_probs_(logits.copy(), prev), prev, +1))[0]
    above, below = p[61:].sum(), p[1:61].sum()
    # Off-side pitches keep their proportions to each other and lose half their weight against the asked side.
    assert q[61:].sum() == pytest.approx(above / (above + 0.5 * below), rel=1e-4)
    assert q[70] / q[80] == pytest.approx(p[70] / p[80], rel=1e-4)
    assert q[50] / q[70] == pytest.approx(0.5 * p[50] / p[70], rel=1e-4)
    q_same = np.exp(half.steer_(half.log_probs_(logits.copy(), prev), prev, 0))[0]
    assert q_same[58:63].sum() > p[58:63].sum()  # the same pitch or a step is favoured


def test_an_empty_side_falls_back_within_the_lock():
    """At the top of the range nothing is above: the draw stays in range and lock instead of failing."""
    head = PitchHead(SamplingSettings(scale="C pentatonic", low=60, high=72, steer=1.0))
    logits = np.zeros((1, 128), dtype=np.float32)
    prev = np.array([72])
    logp = head.steer_(head.log_probs_(logits.copy(), prev), prev, +1)
    assert np.isfinite(logp).any() and not np.isnan(logp).any()
    pitch, _ = head.draw(logp, np.array([0.5]))
    assert 60 <= pitch[0] <= 72 and pitch[0] % 12 in (0, 2, 4, 7, 9)
    # "the same" where the pentatonic scale has no step of <= 2 semitones from E: the nearest allowed pitches
    prev = np.array([64])
    logp = head.steer_(head.log_probs_(logits.copy(), prev), prev, 0)
    assert set(np.flatnonzero(np.isfinite(logp[0]))) <= {62, 64, 67}


def test_steer_with_scale_lock_and_range_follows_and_stays_inside(tiny_model):
    loaded = tiny_model("lstm_attn", "offline")
    contour = contour_of(melody(5))
    s = SamplingSettings(scale="A minor", low=57, high=81, steer=1.0)
    out = generate(loaded, RESTS, DURS, s, seed=1, contour=contour)
    assert all(57 <= p <= 81 and p % 12 in (9, 11, 0, 2, 4, 5, 7) for p in out)
    assert follows(out, contour, low=57, high=81) >= 0.95


def test_bad_steer_and_contour_are_clear_errors(tiny_model):
    with pytest.raises(UserError, match="steer must be between 0 and 1"):
        SamplingSettings(steer=1.5)
    with pytest.raises(UserError, match="contour has 3 directions for 40 notes"):
        generate(tiny_model("lstm_attn", "offline"), RESTS, DURS, SamplingSettings(steer=1), contour=[1, 0, -1])


def test_live_stepper_steers_each_key_down(tiny_model):
    stepper = LiveStepper(tiny_model("vanilla_rnn", "live"), SamplingSettings(steer=1.0), seed=2)
    contour = contour_of(melody(9, 30))
    pitches = [stepper.next_pitch(0.1, 0.2, int(d) if i else None) for i, d in enumerate(contour)]
    assert follows(pitches, contour) >= 0.95
    a = LiveStepper(tiny_model("vanilla_rnn", "live"), SamplingSettings(), seed=2)
    b = LiveStepper(tiny_model("vanilla_rnn", "live"), SamplingSettings(), seed=2)
    assert [a.next_pitch(0.1, 0.2) for _ in range(20)] == [b.next_pitch(0.1, 0.2, 1) for _ in range(20)]


def test_the_same_key_again_repeats_its_pitch_at_full_steer(tiny_model):
    """`d d d d` at Steer 1 plays one pitch four times (it played 67 67 67 69: a step counted as 'the same')."""
    for seed in range(4):
        stepper = LiveStepper(tiny_model("vanilla_rnn", "live"), SamplingSettings(steer=1.0), seed=seed)
        first = stepper.next_pitch(0.1, 0.2, None)
        assert [stepper.next_pitch(0.1, 0.2, 0) for _ in range(6)] == [first] * 6


def test_the_same_key_again_takes_the_nearest_pitch_the_lock_allows():
    allowed = np.zeros((2, 128), dtype=bool)
    allowed[0, [60, 62, 64, 65, 67]] = True  # 63 is outside the lock: 62 and 64 are equally near
    allowed[1, [55, 60, 61, 70]] = True  # 61 is allowed: only it
    side = steer_side(np.array([63, 61]), np.array([0, 0]), allowed)
    assert np.flatnonzero(side[0]).tolist() == [62, 64]
    assert np.flatnonzero(side[1]).tolist() == [61]


def test_asked_up_from_the_top_of_the_range_stays_instead_of_jumping():
    import numpy as np

    from composer_app.sampling import PitchHead, SamplingSettings

    head = PitchHead(SamplingSettings(steer=1.0, low=48, high=72))
    logp = head.log_probs_(np.zeros((1, 128), dtype=np.float32), np.array([72]))
    steered = head.steer_(logp, np.array([72]), 1)
    assert np.flatnonzero(np.isfinite(steered[0])).tolist() == [72]  # nothing above 72 allowed: stay on 72
