"""Inference kernels: packed dense layers compute what F.linear does, plans follow weight changes, and steps
on shipped-precision (float16-exact) weights still equal the teacher-forced forward."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import models
from models.kernels import (
    FBGEMM,
    INT8_LINEAR,
    PACK_MIN_WEIGHTS,
    Dense,
    FoldedBeatLSTM,
    Int8Dense,
    lstm_update,
    sigmoid_gates_first,
    split_threads,
)
from models.streaming import session_for

from .test_streaming import CASES, inputs, make, run_steps


def fp16_exact(model):
    """Round every weight to float16 and back, as the shipped checkpoints are stored."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


@pytest.mark.parametrize("rows", [1, 5, 0])
def test_dense_packs_large_fp16_exact_weights_and_matches_linear(rows):
    torch.manual_seed(0)
    w, b = torch.randn(1024, 256).half().float(), torch.randn(1024)
    assert w.numel() >= PACK_MIN_WEIGHTS
    x = torch.randn(rows, 256)
    dense = Dense(w, b)
    assert (dense.packed is not None) == FBGEMM
    assert (dense.matrix is None) == FBGEMM  # one copy of the weights
    assert np.allclose(dense(x.numpy()), F.linear(x, w, b).numpy(), atol=1e-4)
    assert dense.apply(torch.randn(3, 7, 256)).shape == (3, 7, 1024)  # leading dimensions kept


needs_int8 = pytest.mark.skipif(INT8_LINEAR is None, reason="this torch build has no FBGEMM int8 linear")


@needs_int8
@pytest.mark.parametrize("rows", [1, 5])
def test_int8_dense_is_within_quantisation_error_of_linear(rows):
    """Int8 weights per output row and 7-bit inputs: each output within a few per cent of the largest
    product's size, and far closer on average."""
    torch.manual_seed(0)
    w, b = torch.randn(1536, 768) / 20, torch.randn(1536)
    dense = Int8Dense.of_large(w, b)
    assert dense is not None
    x = torch.cat([torch.rand(rows, 384) * 3, torch.rand(rows, 384) * 2 - 1], 1)  # relu part, then h in (-1, 1)
    exact = F.linear(x, w, b).numpy()
    got = dense(x.numpy())
    assert got.shape == exact.shape and got.dtype == np.float32
    error = np.abs(got - exact)
    scale = np.abs(exact - b.numpy()).max()
    assert error.max() < 0.03 * scale and error.mean() < 0.005 * scale
    assert not np.array_equal(got, exact)  # it really is another arithmetic


def test_int8_is_only_for_large_matrices():
    assert Int8Dense.of_large(torch.randn(96, 40)) is None
    assert Int8Dense.of_large(torch.randn(1024, 512)) is None  # attention_rnn's decoder: no gain over a search
    large = Int8Dense.of_large(torch.randn(1536, 768))  # lstm_attn's
    assert (large is not None) == (INT8_LINEAR is not None)


@pytest.mark.parametrize("shape", [(96, 40), (1024, 256)])
def test_dense_keeps_small_or_fp32_weights_unpacked(shape):
    """Small matrices multiply faster in fp32; fp32 weights packed into fp16 would change the outputs."""
    torch.manual_seed(0)
    w = torch.randn(*shape) / 3
    if shape[0] * shape[1] < PACK_MIN_WEIGHTS:
        w = w.half().float()  # fp16-exact, but too small to pack
    dense = Dense(w)
    assert dense.packed is None
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


@pytest.mark.parametrize("arch,kind", CASES)
def test_step_equals_forward_at_shipped_precision(arch, kind):
    """Float16-exact weights take the packed path; stepping still reproduces forward to 1e-5."""
    model = fp16_exact(make(arch, kind))
    beats, prev = inputs()
    with torch.no_grad():
        full = model(beats, prev)
        stepped, _ = run_steps(model, beats, prev)
    assert torch.allclose(full, stepped, atol=1e-5, rtol=0)


def test_packed_step_equals_forward():
    """A decoder large enough to be packed for FBGEMM (lstm_attn at hidden 256, as shipped) still steps to
    the forward logits."""
    torch.manual_seed(0)
    model = fp16_exact(models.build("lstm_attn", hidden_dim=256, kind="offline").eval())
    model.start(1, beats=torch.rand(1, 3, 2))
    assert (model._plan.plan.head.decoder.packed is not None) == FBGEMM
    beats, prev = inputs(batch=2, length=9)
    with torch.no_grad():
        full = model(beats, prev)
        stepped, _ = run_steps(model, beats, prev)
    assert torch.allclose(full, stepped, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", list(models.ARCHITECTURES))
def test_start_picks_up_changed_weights(arch):
    """The step plan is derived from the weights: loading other weights and starting again uses them."""
    model = make(arch, "live")
    beats, prev = inputs(batch=1, length=6)
    with torch.no_grad():
        before, _ = run_steps(model, beats, prev)
        torch.manual_seed(5)
        other = models.build(arch, **model.config()).eval()
        model.load_state_dict(other.state_dict())
        after, _ = run_steps(model, beats, prev)
        expected = other(beats, prev)
    assert not torch.allclose(before, after, atol=1e-3)
    assert torch.allclose(after, expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["offline", "live"])
def test_only_offline_plans_keep_an_int8_decoder(kind):
    """Whole-rhythm sessions (offline kinds) may run lstm_attn's decoder in int8; live plans keep one
    packing, and attention_rnn's decoder stays exact (it would not pay)."""
    from composer_app.checkpoints import default_checkpoint, load_checkpoint

    torch.manual_seed(0)
    model = fp16_exact(models.build("lstm_attn", hidden_dim=384, kind=kind).eval())
    model.start(1, beats=torch.rand(1, 3, 2))
    head = model._plan.plan.head
    assert head.decoder.packed is not None or not FBGEMM
    assert (head.int8 is not None) == (kind == "offline" and INT8_LINEAR is not None)
    attention = load_checkpoint(default_checkpoint("attention_rnn", kind)).model
    attention.start(1, beats=torch.rand(1, 3, 2))
    assert attention._plan.plan.head.int8 is None


@needs_int8
def test_int8_session_follows_the_exact_one_on_the_shipped_model():
    """Teacher-forced along a melody the exact model drew, the int8 session of the shipped model gives every
    pitch nearly the same probability at every beat (the error does not build up over 300 beats), ranks the
    same pitch first almost always, and scores the melody the same to 1e-2 nats a note."""
    from composer_app.checkpoints import default_checkpoint, load_checkpoint
    from composer_app.sampling import SamplingSettings, generate, model_beats

    loaded = load_checkpoint(default_checkpoint("lstm_attn", "offline"))
    rng = np.random.default_rng(0)
    rests, durs = rng.choice([0.0, 0.0, 0.1, 0.25], 300), rng.choice([0.125, 0.25, 0.5, 0.75], 300)
    melody = generate(loaded, rests, durs, SamplingSettings(), seed=1, exact=True)
    prev = np.concatenate([[0], melody[:-1]])
    beats = model_beats(loaded, rests, durs)
    with torch.inference_mode():
        exact, int8 = session_for(loaded.model, beats), session_for(loaded.model, beats, int8=True)
        assert exact.product is exact.head.decoder and int8.product is exact.head.int8 is not None
        a = torch.cat([torch.log_softmax(torch.from_numpy(exact.step(prev[t:t + 1])), 1) for t in range(300)])
        b = torch.cat([torch.log_softmax(torch.from_numpy(int8.step(prev[t:t + 1])), 1) for t in range(300)])
    assert not torch.equal(a, b)  # it really is another arithmetic
    assert (a.exp() - b.exp()).abs().max() < 0.05
    assert (a[-50:].exp() - b[-50:].exp()).abs().max() < 0.05
    assert (a.argmax(1) == b.argmax(1)).float().mean() > 0.95
    notes = torch.arange(300), torch.from_numpy(melody)
    assert abs(float(a[notes].mean() - b[notes].mean())) < 0.01


def test_whole_rhythm_encoder_runs_its_directions_side_by_side_with_the_same_numbers(monkeypatch):
    """Within split_threads the backward direction runs on the worker thread while the forward one runs
    here; the outputs are the same bits as one after the other, and match the nn.LSTM it was folded from."""
    import threading

    torch.manual_seed(0)
    fc, lstm = torch.nn.Linear(2, 24), torch.nn.LSTM(24, 32, batch_first=True, bidirectional=True)
    encoder = FoldedBeatLSTM(fc, lstm)
    beats = torch.rand(2, 50, 2)
    threads = {}
    run_direction = encoder._direction

    def noting_thread(beats, direction):
        threads[direction] = threading.current_thread()
        return run_direction(beats, direction)

    monkeypatch.setattr(encoder, "_direction", noting_thread)
    with torch.no_grad():
        out, (h, c) = encoder(beats)
        assert threads == {0: threading.main_thread(), 1: threading.main_thread()}
        with split_threads(2):
            split_out, (split_h, split_c) = encoder(beats)
        ref_out, (ref_h, ref_c) = lstm(fc(beats))
    assert threads[0] is threading.main_thread() and threads[1] is not threading.main_thread()
    assert torch.equal(out, split_out) and torch.equal(h, split_h) and torch.equal(c, split_c)
    assert out.shape == ref_out.shape and h.shape == ref_h.shape
    assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(h, ref_h, atol=1e-5)
    assert torch.allclose(c, ref_c, atol=1e-5)
