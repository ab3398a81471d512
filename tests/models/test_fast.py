"""The fast path (models/fast) computes what the plain reference computes: fast step == reference step ==
forward for every model and kind, with and without the melody memory, at shipped precision too; sessions
follow beam reorders; plans follow weight changes; the building blocks match torch."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import models
from models.fast import StepSession, fast_steps, session_for
from models.fast.kernels import HALF_MIN_WEIGHTS, Dense, lstm_update, sigmoid_gates_first

from .test_streaming import ALL_CASES, CASES, inputs, make, run_steps


def fp16_exact(model):
    """Round every weight to float16 and back, as the shipped checkpoints are stored."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


@pytest.mark.parametrize("arch,kind,ours", ALL_CASES)
def test_fast_step_equals_reference_step_and_forward(arch, kind, ours):
    model = make(arch, kind, ours)
    beats, prev = inputs()
    with torch.no_grad():
        full = model(beats, prev)
        reference, reference_state = run_steps(model, beats, prev)
        fast, fast_state = run_steps(fast_steps(model), beats, prev)
    assert full.shape == (3, 23, 128)
    assert torch.allclose(reference, full, atol=1e-5, rtol=0)
    assert torch.allclose(fast, reference, atol=1e-5, rtol=0)
    assert torch.allclose(fast, full, atol=1e-5, rtol=0)
    assert torch.allclose(fast_state["h" if arch != "vanilla_rnn" else "h2"],
                          reference_state["h" if arch != "vanilla_rnn" else "h2"], atol=1e-5)


@pytest.mark.parametrize("arch,kind", CASES)
def test_fast_step_at_shipped_precision_and_size_takes_the_half_product(arch, kind):
    """fp16-exact weights large enough for the fp16-weight product (as shipped) step to the forward logits."""
    torch.manual_seed(0)
    sizes = {"vanilla_rnn": {"hidden_dim": 384}, "lstm_attn": {"hidden_dim": 256},
             "attention_rnn": {"encode_hidden_dim": 64, "decode_hidden_dim": 256, "window": 6}}[arch]
    if kind == "offline":
        sizes.pop("window", None)
    model = fp16_exact(models.build(arch, kind=kind, **sizes).eval())
    beats, prev = inputs(batch=2, length=9)
    with torch.no_grad():
        full = model(beats, prev)
        fast, _ = run_steps(fast_steps(model), beats, prev)
    assert torch.allclose(fast, full, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch,kind,ours", ALL_CASES)
def test_session_equals_forward_and_follows_reorders(arch, kind, ours):
    """A session (the architecture's own, or the generic one over the fast steps) gives the logits of forward
    for each row, and after ``reorder`` each row continues from the row it was given."""
    model = make(arch, kind, ours)
    g = torch.Generator().manual_seed(3)
    beats = torch.rand(1, 12, 2, generator=g)
    prev = torch.randint(0, 128, (4, 12), generator=g)
    with torch.no_grad():
        session = session_for(model, beats, 4)
        logits = []
        for t in range(12):
            if t == 6:  # rows 0..3 continue from rows 2, 2, 0, 3: their histories are swapped accordingly
                session.reorder(np.array([2, 2, 0, 3]))
                prev[:, :6] = prev[[2, 2, 0, 3], :6]
            logits.append(torch.from_numpy(session.step(prev[:, t].numpy()).copy()))
        expected = model(beats.expand(4, -1, -1), prev)
    assert torch.allclose(torch.stack(logits, 1)[:, 6:], expected[:, 6:], atol=1e-5, rtol=0)
    assert torch.allclose(torch.stack(logits, 1)[[3], :6], expected[[3], :6], atol=1e-5, rtol=0)
    with pytest.raises(IndexError, match="past the end of the rhythm"):
        session.step(prev[:, 0].numpy())


@pytest.mark.parametrize("arch,kind,ours", ALL_CASES)
def test_offline_kinds_and_vanilla_have_their_own_session(arch, kind, ours):
    """Generation decodes offline models (and vanilla_rnn of either kind) in place; the live attention models
    step their encoders with the decoder and use the generic session over the fast steps."""
    own = kind == "offline" or arch == "vanilla_rnn"
    assert isinstance(session_for(make(arch, kind, ours), torch.rand(1, 5, 2)), StepSession) != own


@pytest.mark.parametrize("arch", list(models.ARCHITECTURES))
def test_start_picks_up_changed_weights(arch):
    """The fast path's weights are derived from the model's: loading others and starting again uses them."""
    model = make(arch, "live")
    steps = fast_steps(model)
    beats, prev = inputs(batch=1, length=6)
    with torch.no_grad():
        before, _ = run_steps(steps, beats, prev)
        torch.manual_seed(5)
        other = models.build(arch, **model.config()).eval()
        model.load_state_dict(other.state_dict())
        after, _ = run_steps(steps, beats, prev)
        expected = other(beats, prev)
    assert not torch.allclose(before, after, atol=1e-3)
    assert torch.allclose(after, expected, atol=1e-5)


def test_live_full_attention_state_stays_the_same_size():
    model = make("attention_rnn", "live")
    beats, prev = inputs(batch=1, length=40)
    with torch.no_grad():
        _, early = run_steps(fast_steps(model), beats[:, :10], prev[:, :10])
        _, late = run_steps(fast_steps(model), beats, prev)
    assert {k: v.shape for k, v in early.items()} == {k: v.shape for k, v in late.items()}


def test_offline_start_needs_the_rhythm():
    with pytest.raises(ValueError, match="whole rhythm"):
        fast_steps(make("lstm_attn", "offline")).start(1)
    with pytest.raises(ValueError, match="whole rhythm"):
        make("attention_rnn", "offline").start(1)


@pytest.mark.parametrize("rows", [1, 5, 0])
def test_dense_keeps_large_fp16_exact_weights_in_half_and_matches_linear(rows):
    torch.manual_seed(0)
    w, b = torch.randn(1024, 256).half().float(), torch.randn(1024)
    assert w.numel() >= HALF_MIN_WEIGHTS
    x = torch.randn(rows, 256)
    dense = Dense(w, b)
    fbgemm = "fbgemm" in torch.backends.quantized.supported_engines
    assert (dense.half is not None) == fbgemm and (dense.matrix is None) == fbgemm  # one copy of the weights
    assert np.allclose(dense(x.numpy()), F.linear(x, w, b).numpy(), atol=1e-4)
    assert dense.apply(torch.randn(3, 7, 256)).shape == (3, 7, 1024)  # leading dimensions kept


@pytest.mark.parametrize("shape", [(96, 40), (1024, 256)])
def test_dense_keeps_small_or_fp32_weights_in_fp32(shape):
    """Small matrices stay in fp32 (they fit the cache); fp32 weights in fp16 would change the outputs."""
    torch.manual_seed(0)
    w = torch.randn(*shape) / 3
    if shape[0] * shape[1] < HALF_MIN_WEIGHTS:
        w = w.half().float()  # fp16-exact, but small
    dense = Dense(w)
    assert dense.half is None
    x = torch.randn(2, shape[1])
    assert np.allclose(dense(x.numpy()), F.linear(x, w).numpy(), atol=1e-5)


def test_lstm_update_matches_lstm_cell():
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(6, 10)
    x, h, c = torch.randn(3, 6), torch.randn(3, 10), torch.randn(3, 10)
    with torch.no_grad():
        gates = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h, cell.weight_hh, cell.bias_hh)
        ref_h, ref_c = cell(x, (h, c))
        new_h, new_c = lstm_update(sigmoid_gates_first(gates.t()).t().contiguous().numpy(), c.numpy())
    assert np.allclose(new_h, ref_h.numpy(), atol=1e-6) and np.allclose(new_c, ref_c.numpy(), atol=1e-6)
