"""The reference path runs on any device: every tensor it makes while stepping is made on the model's device.

There is no GPU here, and the reference step reads its beat counter as a Python number (which the ``meta``
device cannot give), so the test watches the making instead: every factory call (``torch.tensor``,
``torch.arange``, ``torch.zeros`` ...) during ``start``, ``step`` and ``forward`` must name a device or copy one
from a tensor. A call without one would build on the CPU and fail on a GPU where the model runs (it did, in
``full_attention.py`` and ``memory.py``).
"""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode

FACTORIES = {torch.tensor, torch.arange, torch.zeros, torch.ones, torch.full, torch.empty, torch.randn, torch.rand}


class DeviceWatch(TorchFunctionMode):
    """Records factory calls made without a ``device``."""

    def __init__(self):
        super().__init__()
        self.undeviced: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and "device" not in kwargs:
            self.undeviced.append(f"{func.__name__}{tuple(a for a in args if not isinstance(a, torch.Tensor))}")
        return func(*args, **kwargs)


@pytest.mark.parametrize("kind", ["offline", "live"])
@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_the_reference_step_makes_every_tensor_on_the_models_device(tiny_model, arch, kind):
    model = tiny_model(arch, kind, memory=True).model
    beats = torch.rand(1, 20, 2)  # longer than the tiny live attention window and the memory's
    prev = torch.randint(1, 128, (1, 20))
    with DeviceWatch() as watch:
        state = model.start(1, beats=beats if kind == "offline" else None)
        for t in range(20):
            _, state = model.step(state, beats[:, t], prev[:, t])
        model(beats, prev)
    assert watch.undeviced == []


def test_the_watch_sees_a_tensor_made_without_a_device():
    with DeviceWatch() as watch:
        torch.arange(3)
        torch.arange(3, device="cpu")
    assert watch.undeviced == ["arange(3,)"]
