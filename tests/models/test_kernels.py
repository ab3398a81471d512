"""Inference kernels: packed dense layers compute what F.linear does, plans follow weight changes, and steps
on shipped-precision (float16-exact) weights still equal the teacher-forced forward."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import models
from models.kernels import (
    FBGEMM,
    PACK_MIN_WEIGHTS,
    PARALLEL_FP16,
    PARALLEL_MIN_WEIGHTS,
    Dense,
    lstm_update,
    sigmoid_gates_first,
    split_threads,
)

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


def test_largest_matrices_split_rows_over_threads_with_the_same_products():
    """Within split_threads the largest packed matrices use FBGEMM's multi-threaded op: the same fp16
    weights and fp32 accumulation, so the same numbers as the single-thread op."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    w, b = torch.randn(1536, 768).half().float(), torch.randn(1536)
    assert w.numel() >= PARALLEL_MIN_WEIGHTS
    dense = Dense(w, b, split=True)
    assert (dense.parallel is not None) == (PARALLEL_FP16 is not None)
    assert Dense(w, b).parallel is None  # without split=True (live plans) no second packing
    x = torch.randn(5, 768).numpy()
    one = dense(x)
    with split_threads(2):
        two = dense(x)
        assert torch.get_num_threads() == threads  # the split is for the product only
    assert np.allclose(one, two, atol=1e-6, rtol=0)
    assert np.allclose(two, F.linear(torch.from_numpy(x), w, b).numpy(), atol=1e-4)
    assert Dense(torch.randn(1024, 512).half().float(), split=True).parallel is None  # too small to pay (see kernels)


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
def test_only_offline_plans_pack_their_decoder_for_split_products(kind):
    """Only whole-rhythm generation splits products (offline kinds); a live plan keeps one packing."""
    torch.manual_seed(0)
    model = fp16_exact(models.build("lstm_attn", hidden_dim=384, kind=kind).eval())
    model.start(1, beats=torch.rand(1, 3, 2))
    decoder = model._plan.plan.head.decoder
    assert decoder.packed is not None or not FBGEMM
    assert (decoder.parallel is not None) == (kind == "offline" and PARALLEL_FP16 is not None)
