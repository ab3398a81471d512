"""Original-format checkpoints load with inferred dimensions and reproduce the original's logits."""

from pathlib import Path

import numpy as np
import pytest
import torch

from composer_app.checkpoints import load_checkpoint
from models.fast import fast_steps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "everybody_compose_checkpoints"
NAMES = ["vanilla_rnn", "lstm_attn", "attention_rnn"]


def fixture(name):
    data = np.load(FIXTURES / f"{name}.npz")
    return (torch.from_numpy(data["beats"]), torch.from_numpy(data["prev_notes"]),
            torch.from_numpy(data["logits"]))


@pytest.mark.parametrize("name", NAMES)
def test_forward_reproduces_original_logits(name):
    loaded = load_checkpoint(FIXTURES / f"{name}.pth", architecture=name)
    assert loaded.architecture == name and loaded.kind == "offline"
    beats, prev, logits = fixture(name)
    with torch.no_grad():
        out = loaded.model(beats, prev)
    assert out.shape == logits.shape
    assert torch.allclose(out, logits, atol=1e-5, rtol=0)


@pytest.mark.parametrize("path", ["reference", "fast"])
@pytest.mark.parametrize("name", NAMES)
def test_stepping_reproduces_original_logits(name, path):
    loaded = load_checkpoint(FIXTURES / f"{name}.pth")
    assert loaded.architecture == name  # inferred from the state-dict keys
    beats, prev, logits = fixture(name)
    stepper = loaded.model if path == "reference" else fast_steps(loaded.model)
    with torch.no_grad():
        state = stepper.start(beats.shape[0], beats=beats)
        steps = []
        for t in range(beats.shape[1]):
            out, state = stepper.step(state, beats[:, t], prev[:, t])
            steps.append(out)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-5, rtol=0)


def test_wrong_model_name_is_refused():
    from composer_app.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="lstm_attn"):
        load_checkpoint(FIXTURES / "vanilla_rnn.pth", architecture="lstm_attn")
