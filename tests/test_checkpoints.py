"""Checkpoint files that are wrong in every way a user might meet: each gets a plain-words error, fast, and none
allocates the model it claims before its weights are checked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import models
from composer_app.beats import FeatureSpec
from composer_app.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from composer_app.cli import main
from models.local_attention import LocalAttentionLSTM

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "everybody_compose_checkpoints"


@pytest.fixture
def payload(tmp_path, tiny_model):
    """A valid tiny checkpoint's dict, and a function writing an edited copy of it."""
    path = tmp_path / "tiny.pt"
    loaded = tiny_model("lstm_attn", "offline", hidden_dim=4)
    save_checkpoint(path, loaded.model, "lstm_attn", "offline", FeatureSpec(), half=True)
    good = torch.load(path, weights_only=True)

    def write(name, **changes):
        edited = {**good, **changes}
        for key in [k for k, v in changes.items() if v is DROP]:
            del edited[key]
        out = tmp_path / name
        torch.save(edited, out)
        return out

    return good, write


DROP = object()


def test_a_small_file_declaring_a_huge_model_fails_fast(payload):
    good, write = payload
    path = write("huge.pt", config={**good["config"], "hidden_dim": 8000})
    assert path.stat().st_size < 20_000
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"declares .* of shape \(8000, .*but the file holds \(4, "):
        load_checkpoint(path)
    assert time.perf_counter() - started < 5  # building the declared model alone takes tens of seconds and GBs


@pytest.mark.parametrize("changes,message", [
    ({"config": DROP}, "no 'config' table"),
    ({"features": DROP}, "no 'features' table"),
    ({"state_dict": [1, 2, 3]}, "'state_dict' is not a table of weights"),
    ({"state_dict": {}}, "'state_dict' is not a table of weights"),
    ({"features": {"max_seconds": "x"}}, "features are not valid .max_seconds"),
    ({"features": {"log_unit": -1.0}}, "features are not valid .log_unit"),
    ({"features": {"log_unit": 1e-320}}, "log_unit must be a number of seconds in 0.001..60, not 1e-320"),
    ({"features": {"max_seconds": 1e300}}, "max_seconds must be"),
    ({"config": {"hidden_dim": 4, "memory": {"key_dim": 4, "pitch_dim": 2, "context": 2, "window": 0}}},
     "memory.window = 0; it must be at least 1"),
    ({"config": {"hidden_dim": 4, "memory": {"key_dim": 4, "pitch_dim": 2, "context": 2, "window": -3}}},
     "memory.window = -3; it must be at least 1"),
    ({"config": {"hidden_dim": 0}}, "hidden_dim = 0; it must be at least 1"),
    ({"config": {"hidden_dim": 4, "dropout_p": -0.5}}, "dropout_p = -0.5"),
    ({"config": {"hidden_dim": [4]}}, "config hidden_dim is a list"),
    ({"config": {"hidden_dim": "four"}}, "config does not describe a lstm_attn model"),
    ({"config": {"hidden_dim": 4, "num_notes": 12}}, "12 pitches"),
    ({"config": {"hidden_dim": 4, "window": 10**9}}, "window = 1000000000, far beyond any model"),
    ({"architecture": "transformer"}, "unknown architecture"),
])
def test_damaged_entries_get_clear_errors(payload, changes, message):
    _, write = payload
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(write("bad.pt", **changes))


def test_weights_that_do_not_match_the_names_are_named(payload):
    good, write = payload
    weights = dict(good["state_dict"])
    weights.pop("decoder.note_embed.weight")
    weights["stray.weight"] = torch.zeros(2)
    with pytest.raises(CheckpointError, match="missing decoder.note_embed.weight; unexpected stray.weight"):
        load_checkpoint(write("renamed.pt", state_dict=weights))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_infinite_weights_are_refused(payload, bad):
    good, write = payload
    weights = {k: v.clone() for k, v in good["state_dict"].items()}
    weights["decoder.notes_output.bias"][3] = bad
    with pytest.raises(CheckpointError, match="decoder.notes_output.bias holds NaN or infinite"):
        load_checkpoint(write("nan.pt", state_dict=weights))


def test_original_format_with_nan_weights_is_refused(tmp_path):
    original = torch.load(FIXTURES / "vanilla_rnn.pth", weights_only=True)
    original["model"]["notes_output.weight"][0, 0] = float("nan")
    torch.save(original, tmp_path / "nan.pth")
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path / "nan.pth")


def test_config_keys_the_constructor_accepts_are_kept(payload, monkeypatch):
    """A config key this code has never heard of (the models' coming ``memory`` table) loads when the model's
    constructor takes it, and its weights are checked against it like any other."""

    class WithMemory(LocalAttentionLSTM):
        def __init__(self, memory: dict | None = None, **config):
            super().__init__(**config)
            self.memory_config = memory
            self.memory_key = torch.nn.Linear(4, memory["key_dim"]) if memory else None

        def config(self):
            return {**super().config(), "memory": self.memory_config}

    monkeypatch.setitem(models.ARCHITECTURES, "lstm_attn", WithMemory)
    _, write = payload
    model = WithMemory(memory={"key_dim": 6, "window": 32}, hidden_dim=4)
    path = write("unused.pt").with_name("memory.pt")
    save_checkpoint(path, model, "lstm_attn", "offline", FeatureSpec())
    loaded = load_checkpoint(path)
    assert loaded.model.memory_config == {"key_dim": 6, "window": 32}
    assert torch.equal(loaded.model.memory_key.weight, model.memory_key.weight)

    edited = torch.load(path, weights_only=True)
    edited["config"]["memory"]["key_dim"] = 5000
    torch.save(edited, path)
    with pytest.raises(CheckpointError, match=r"memory_key.weight of shape \(5000, 4\)"):
        load_checkpoint(path)


def test_files_that_are_not_checkpoints_say_so(tmp_path, payload):
    _, write = payload
    random = tmp_path / "random.pt"
    random.write_bytes(b"e" + bytes(range(256)) * 3)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(write("whole.pt").read_bytes()[:3000])
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for path, message in [(random, "is not a PyTorch checkpoint (or it is damaged)"),
                          (truncated, "is a damaged PyTorch checkpoint"), (empty, "is empty")]:
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(path)
        assert message in str(err.value)
        assert not str(err.value).rstrip()[-1].isdigit()  # never an internal code such as ": 101"


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_refused_without_reading_it(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "model.pt"
        os.mkfifo(path)  # opening it would wait for a writer forever
    else:
        path = Path("/dev/zero")  # reading it never ends
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(path)
    assert time.perf_counter() - started < 5


def test_a_file_far_larger_than_any_model_is_not_read(tmp_path, monkeypatch):
    from composer_app import checkpoints

    path = tmp_path / "big.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(4096))
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", 1024)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a file over the limit was read"))
    with pytest.raises(CheckpointError, match="far larger than any model"):
        load_checkpoint(path)


def test_generate_reports_a_corrupt_checkpoint_in_words(tmp_path, capsys):
    import numpy as np

    rhythm = tmp_path / "r.npy"
    np.save(rhythm, np.full((4, 2), 0.25))
    corrupt = tmp_path / "model.pt"
    corrupt.write_bytes(b"\x80\x02" + bytes(range(101, 256)))
    assert main(["generate", "-s", str(rhythm), "-o", str(tmp_path / "o.mid"), "-c", str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert "not a PyTorch checkpoint (or it is damaged)" in err and "Traceback" not in err
    assert not (tmp_path / "o.mid").exists()


def test_loading_checkpoints_needs_nothing_from_training():
    code = ("import sys, composer_app.checkpoints; "
            "print(sorted(m for m in sys.modules if m.startswith('composer_app.training')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
