"""Samplers over the step interface: controls keep their meaning, seeds reproduce, beams run batched."""

import numpy as np
import pytest
import torch

from composer_app.errors import UserError
from composer_app.notes import Notes
from composer_app.pitches import parse_hint
from composer_app.sampling import (
    LiveStepper,
    PitchHead,
    SamplingSettings,
    beam_search,
    generate,
    settings_from_profile,
)

RESTS = np.tile([0.0, 0.1, 0.0, 0.3], 10)
DURS = np.tile([0.25, 0.5, 0.25, 0.75], 10)


def test_hints_are_scale_degrees_from_middle_c():
    assert [parse_hint(h) for h in ["1", "3", "5", "8", "b3", "#4"]] == [60, 64, 67, 72, 63, 66]
    assert parse_hint("E4") == 64 and parse_hint("Bb3") == 58
    with pytest.raises(UserError):
        parse_hint("xyz")


def test_profiles_load_and_validate():
    beam = settings_from_profile("beam")
    assert beam.strategy == "rank" and beam.num_beams == 4
    assert settings_from_profile("default") == SamplingSettings()  # the defaults are the default profile's
    with pytest.raises(UserError, match="no sampling profile"):
        settings_from_profile("nope")
    with pytest.raises(UserError):
        SamplingSettings(temperature=0)


def test_repeat_decay_scales_previous_pitch_probability():
    logits = torch.randn(1, 128)
    base = PitchHead(SamplingSettings(repeat_decay=0.0, low=0, high=127)).log_probs_(logits.clone().numpy(), np.array([60]))
    pen = PitchHead(SamplingSettings(repeat_decay=0.5, low=0, high=127)).log_probs_(logits.clone().numpy(), np.array([60]))
    assert np.allclose(np.exp(pen).sum(1), 1.0, atol=1e-5)
    # p'(60) / p'(other) == 0.5 * p(60) / p(other)
    ratio = (pen[0, 60] - pen[0, 61]) - (base[0, 60] - base[0, 61])
    assert abs(float(ratio) - np.log(0.5)) < 1e-5


def test_top_k_and_top_p_limit_the_draw():
    logp = torch.log_softmax(torch.tensor([[5.0, 4.0, 3.0, 2.0] + [-10.0] * 124]), -1).numpy()
    rng = np.random.default_rng(0)
    k2 = {int(PitchHead(SamplingSettings(top_k=2, top_p=1.0), len(logp)).draw(logp, (rng).random(len(logp)))[0][0]) for _ in range(200)}
    assert k2 == {0, 1}
    p_small = {int(PitchHead(SamplingSettings(top_k=4, top_p=0.5), len(logp)).draw(logp, (rng).random(len(logp)))[0][0]) for _ in range(200)}
    assert p_small == {0}  # the first pitch alone holds > 50 %


def test_draw_follows_the_kept_probabilities():
    """Among the kept pitches, each is drawn in proportion to its probability (renormalised)."""
    probs = np.array([0.5, 0.3, 0.15, 0.05] + [0.0] * 124)
    with np.errstate(divide="ignore"):
        logp = np.log(probs)[None].repeat(4000, 0)
    drawn = PitchHead(SamplingSettings(top_k=3, top_p=1.0), len(logp)).draw(logp, (np.random.default_rng(1)).random(len(logp)))[0]
    freq = np.bincount(drawn, minlength=128)[:4] / len(drawn)
    assert freq[3] == 0  # outside top-k
    assert np.allclose(freq[:3], probs[:3] / probs[:3].sum(), atol=0.03)


def test_draw_never_picks_a_locked_pitch_inside_top_k():
    """With fewer allowed pitches than top_k, the locked ones (probability 0) are never drawn."""
    logp = np.full((2000, 128), -np.inf)
    logp[:, 60], logp[:, 62] = np.log(0.75), np.log(0.25)
    drawn = PitchHead(SamplingSettings(top_k=8, top_p=1.0), len(logp)).draw(logp, (np.random.default_rng(2)).random(len(logp)))[0]
    assert set(drawn.tolist()) == {60, 62}


def test_temperature_sharpens():
    logits = torch.randn(1, 128)
    s1, s2 = SamplingSettings(temperature=1.0, repeat_decay=0), SamplingSettings(temperature=0.5, repeat_decay=0)
    a = np.exp(PitchHead(s1).log_probs_(logits.clone().numpy(), np.array([0]))).max()
    b = np.exp(PitchHead(s2).log_probs_(logits.clone().numpy(), np.array([0]))).max()
    assert b > a


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
@pytest.mark.parametrize("strategy", ["stochastic", "rank", "beam"])
def test_same_seed_same_melody_and_lock_respected(tiny_model, arch, strategy):
    loaded = tiny_model(arch, "offline")
    s = SamplingSettings(strategy=strategy, scale="A minor", low=57, high=81, hints=(60, 64))
    a = generate(loaded, RESTS, DURS, s, seed=7)
    b = generate(loaded, RESTS, DURS, s, seed=7)
    assert np.array_equal(a, b) and len(a) == len(RESTS)
    assert list(a[:2]) == [60, 64]  # hints prime the melody
    assert all(57 <= p <= 81 and p % 12 in (9, 11, 0, 2, 4, 5, 7) for p in a[2:])
    c = generate(loaded, RESTS, DURS, s, seed=8)
    assert not np.array_equal(a, c) or strategy == "beam"


def test_pure_beam_search_finds_a_better_sequence_than_sampling(tiny_model):
    """With beam_prob 1 the search keeps the most likely continuations, so its melody scores higher."""
    loaded = tiny_model("lstm_attn", "offline")
    s = SamplingSettings(strategy="beam", beam_prob=1.0, num_beams=5, repeat_decay=0.0, low=1, high=127,
                         loop_guard=0, max_run=0)
    best = beam_search(loaded, RESTS, DURS, s, seed=0)
    sampled = generate(loaded, RESTS, DURS, s.with_(strategy="stochastic", top_k=20, top_p=1.0), seed=0)
    assert _log_likelihood(loaded, best) >= _log_likelihood(loaded, sampled)


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_beam_search_runs_all_beams_as_one_batch(monkeypatch, tiny_model, arch):
    """Every model step of a beam search carries all five beams at once."""
    import composer_app.sampling as sampling

    loaded = tiny_model(arch, "offline")
    sizes = []
    make_session = sampling.session_for

    def spying_session_for(model, beats, batch_size=1):
        session = make_session(model, beats, batch_size)
        step = session.step

        def spy(prev):
            sizes.append(prev.shape[0])
            return step(prev)

        session.step = spy
        return session

    monkeypatch.setattr(sampling, "session_for", spying_session_for)
    generate(loaded, RESTS, DURS, SamplingSettings(strategy="beam", num_beams=5), seed=0)
    assert sizes == [5] * len(RESTS)


def test_live_stepper_plays_hints_then_model_and_refuses_offline(tiny_model):
    stepper = LiveStepper(tiny_model("attention_rnn", "live"), SamplingSettings(hints=(60, 62)), seed=1)
    pitches = [stepper.next_pitch(0.1, 0.2) for _ in range(10)]
    assert pitches[:2] == [60, 62] and all(21 <= p <= 108 for p in pitches)
    stepper.set_settings(SamplingSettings(scale="C major", low=60, high=72))
    assert all(stepper.next_pitch(0.1, 0.2) in (60, 62, 64, 65, 67, 69, 71, 72) for _ in range(20))
    with pytest.raises(UserError, match="live"):
        LiveStepper(tiny_model("lstm_attn", "offline"))


def _log_likelihood(loaded, pitches) -> float:
    beats, prev, target = loaded.melody_inputs(Notes.from_beats(RESTS, DURS, pitches))
    with torch.no_grad():
        lp = torch.log_softmax(loaded.model(beats, prev), -1)
    return float(lp[0, torch.arange(len(pitches)), target[0]].sum())


@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_variations_are_drawn_in_one_batch_and_ordered_by_the_models_likelihood(monkeypatch, tiny_model, arch):
    import composer_app.sampling as sampling
    from composer_app.sampling import generate_variations

    loaded = tiny_model(arch, "offline", memory=True)
    sizes = []
    make_session = sampling.session_for

    def spying_session_for(model, beats, batch_size=1):
        sizes.append(batch_size)
        return make_session(model, beats, batch_size)

    monkeypatch.setattr(sampling, "session_for", spying_session_for)
    settings = SamplingSettings(temperature=1.0)
    lines = generate_variations(loaded, RESTS, DURS, settings, 4, seed=3)
    assert sizes == [4] and len(lines) == 4 and len({tuple(x.tolist()) for x in lines}) == 4
    scores = [_log_likelihood(loaded, line) for line in lines]
    assert scores == sorted(scores, reverse=True)  # the likeliest first
    again = generate_variations(loaded, RESTS, DURS, settings, 4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(lines, again, strict=True))  # a seed reproduces them
    # "rank" keeps the likeliest of its lines: the first variation of the same draw
    assert np.array_equal(generate(loaded, RESTS, DURS, settings.with_(strategy="rank", num_beams=4), seed=3),
                          lines[0])


def test_settings_beyond_what_arithmetic_and_memory_can_take_are_refused():
    for bad in ({"temperature": 1e-40}, {"temperature": 1e9}, {"top_k": 3_000_000_000}, {"num_beams": 10**9},
                {"loop_guard": 2}, {"loop_guard": 10**6}, {"max_run": -1}, {"strategy": "greedy"}):
        with pytest.raises(UserError):
            SamplingSettings(**bad)


def test_an_untruncated_draw_follows_the_distribution_and_never_a_locked_pitch():
    logp = np.full((1, 128), -np.inf, dtype=np.float32)
    logp[0, [60, 64, 67]] = np.log([0.5, 0.3, 0.2])
    head = PitchHead(SamplingSettings(top_k=128, top_p=1.0))
    assert head.untruncated
    u = np.random.default_rng(0).random(6000)
    drawn = np.array([head.draw(logp, u[i:i + 1])[0][0] for i in range(len(u))])
    assert set(drawn.tolist()) == {60, 64, 67}
    assert abs((drawn == 60).mean() - 0.5) < 0.03 and abs((drawn == 67).mean() - 0.2) < 0.03
    assert head.draw(logp, np.zeros(1))[0][0] == 60  # u = 0: the first pitch with any probability
