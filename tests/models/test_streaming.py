"""Every model, offline and live, as published and with our additions (melody memory, located attention): states
copy, select and batch; live models are causal, offline ones see the whole rhythm; the memory recalls. (That the
reference step equals the forward, and the fast step both, is in test_fast.py.)"""

import pytest
import torch

import models
from models.streaming import repeat_state, select_state

SMALL = {
    "vanilla_rnn": {"embed_size": 8, "hidden_dim": 16},
    "lstm_attn": {"hidden_dim": 16},
    "attention_rnn": {"embed_dim": 8, "encode_hidden_dim": 12, "decode_hidden_dim": 20, "window": 7},
}
# A memory window shorter than the test sequences, so the ring buffer wraps around.
MEMORY = {"key_dim": 8, "pitch_dim": 4, "context": 3, "window": 5}
CASES = [(a, k) for a in models.ARCHITECTURES for k in ("offline", "live")]
ALL_CASES = [(a, k, ours) for a, k in CASES for ours in (False, True)]


def make(arch, kind, ours=False):
    """A small model; ``ours``: with the melody memory (and, for attention_rnn, located attention)."""
    torch.manual_seed(0)
    cfg = dict(SMALL[arch])
    if arch == "attention_rnn" and kind == "offline":
        cfg.pop("window")
    if ours:
        cfg["memory"] = MEMORY
        if arch == "attention_rnn":
            cfg["locality"] = 3
    model = models.build(arch, kind=kind, **cfg).eval()
    if ours:  # trained-looking values: the located attention's start is a fixed shape
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
    return model


def inputs(batch=3, length=23):
    g = torch.Generator().manual_seed(1)
    beats = torch.rand(batch, length, 2, generator=g)
    prev = torch.randint(0, 128, (batch, length), generator=g)
    return beats, prev


def run_steps(stepper, beats, prev):
    """Step ``stepper`` (a model, or its fast steps) through the batch; the stacked outputs and last state."""
    state = stepper.start(beats.shape[0], beats=beats)
    outs = []
    for t in range(beats.shape[1]):
        out, state = stepper.step(state, beats[:, t], prev[:, t])
        outs.append(out)
    return torch.stack(outs, 1), state


@pytest.mark.parametrize("arch", list(models.ARCHITECTURES))
@pytest.mark.parametrize("ours", [False, True])
def test_live_models_are_causal(arch, ours):
    """Changing a future beat must not change any earlier output of a live model."""
    model = make(arch, "live", ours)
    beats, prev = inputs(batch=1)
    changed = beats.clone()
    changed[:, 15:] += 1.0
    with torch.no_grad():
        a, b = model(beats, prev), model(changed, prev)
    assert torch.allclose(a[:, :15], b[:, :15], atol=1e-6)
    assert not torch.allclose(a[:, 15:], b[:, 15:], atol=1e-3)


@pytest.mark.parametrize("arch", list(models.ARCHITECTURES))
def test_offline_models_see_the_whole_rhythm(arch):
    model = make(arch, "offline")
    beats, prev = inputs(batch=1)
    changed = beats.clone()
    changed[:, 20:, 1] += 1.0  # later durations
    with torch.no_grad():
        a, b = model(beats, prev), model(changed, prev)
    if arch == "vanilla_rnn":  # decoder-only: no encoder, so no look-ahead (as published)
        assert torch.allclose(a[:, :20], b[:, :20], atol=1e-6)
    else:
        assert not torch.allclose(a[:, :20], b[:, :20], atol=1e-5)


def test_full_attention_live_window_bounds_history():
    """A live take's state does not grow with its length: older beats act only through the encoder state."""
    model = make("attention_rnn", "live")
    beats, prev = inputs(batch=1, length=40)
    with torch.no_grad():
        _, early = run_steps(model, beats[:, :10], prev[:, :10])
        _, late = run_steps(model, beats, prev)
    assert {k: v.shape for k, v in early.items()} == {k: v.shape for k, v in late.items()}
    assert late["ring_keys"].shape[1] == model.window


@pytest.mark.parametrize("arch,kind,ours", ALL_CASES)
def test_states_select_and_repeat(arch, kind, ours):
    """Beam search copies and reorders states: a repeated state steps exactly like the original."""
    model = make(arch, kind, ours)
    beats, prev = inputs(batch=2, length=10)
    with torch.no_grad():
        state = model.start(2, beats=beats)
        for t in range(7):
            _, state = model.step(state, beats[:, t], prev[:, t])
        wide = repeat_state(state, 3)  # 6 entries: a,a,a,b,b,b
        out_wide, _ = model.step(wide, beats[:, 7].repeat_interleave(3, 0), prev[:, 7].repeat_interleave(3, 0))
        out, _ = model.step(state, beats[:, 7], prev[:, 7])
        picked = select_state(wide, torch.tensor([5, 0]))
        out_picked, _ = model.step(picked, beats[[1, 0], 7], prev[[1, 0], 7])
    assert torch.allclose(out_wide[0], out[0], atol=1e-6) and torch.allclose(out_wide[3], out[1], atol=1e-6)
    assert torch.allclose(out_picked, out[[1, 0]], atol=1e-6)


@pytest.mark.parametrize("arch,kind", CASES)
def test_memory_outputs_are_log_probabilities(arch, kind):
    """With a memory, outputs are normalised log-probabilities (so softmax, cross-entropy and sampling read
    them as they read logits), and the first note of a tune, with nothing to point at, is the model's own
    distribution."""
    model = make(arch, kind, ours=True)
    beats, prev = inputs(batch=2, length=9)
    with torch.no_grad():
        out = model(beats, prev)
        model.memory = None
        plain = model(beats, prev)
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 9), atol=1e-4)
    assert torch.allclose(out[:, 0], torch.log_softmax(plain[:, 0], -1), atol=1e-4)
    assert not torch.allclose(out[:, 5:], torch.log_softmax(plain[:, 5:], -1), atol=1e-3)


@pytest.fixture
def one_thread():
    """Tiny matrices: a second torch thread only waits (and spins on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_memory_recalls_a_repeated_phrase(one_thread):
    """Trained briefly on tunes made of one random phrase played twice, the memory learns to bring the
    phrase back: the second time through, the repeated notes get most of the probability."""
    torch.manual_seed(0)
    model = models.build("vanilla_rnn", kind="live", embed_size=8, hidden_dim=16,
                         memory={"key_dim": 16, "pitch_dim": 8, "context": 3, "window": 32})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def batch(n=32, phrase=10):
        tune = torch.randint(40, 80, (n, phrase)).repeat(1, 2)
        prev = torch.cat([torch.zeros(n, 1, dtype=torch.long), tune[:, :-1]], 1)
        return torch.full((n, 2 * phrase, 2), 0.5), prev, tune

    for _ in range(150):
        beats, prev, target = batch()
        loss = torch.nn.functional.cross_entropy(model(beats, prev).transpose(1, 2), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    beats, prev, target = batch()
    with torch.no_grad():
        probs = model.eval()(beats, prev).exp().gather(-1, target[..., None])[..., 0]
    assert probs[:, 13:].mean() > 0.8  # recalled (a few notes in, once the context identifies the phrase)
    assert probs[:, 1:10].mean() < 0.2  # random the first time through
