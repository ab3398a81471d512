"""Training on a tiny corpus: the loss falls for every architecture and kind, resume continues exactly,
curves are written, and the two recipes differ as documented."""

import csv
import math

import numpy as np
import pytest
import torch

from composer_app.beats import FeatureSpec
from composer_app.checkpoints import load_checkpoint
from composer_app.notes import Notes
from composer_app.training.config import load_config
from composer_app.training.trainer import train
from composer_app.training.windows import Tune, epoch_windows, iterate_batches, plan_batches

TINY = {"vanilla_rnn": ["embed_size=8", "hidden_dim=32"], "lstm_attn": ["hidden_dim=32"],
        "attention_rnn": ["embed_dim=8", "encode_hidden_dim=16", "decode_hidden_dim=32"]}


def corpus(n, seed):
    """Scale-wise tunes with a clear rhythm/pitch relation: learnable in a few hundred steps."""
    rng = np.random.default_rng(seed)
    tunes = []
    for _ in range(n):
        length = int(rng.integers(12, 70))
        durs = rng.choice([0.25, 0.5], size=length)
        starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
        steps = np.where(durs > 0.3, 2, 1) * rng.choice([-1, 1], size=length)
        pitches = 62 + np.cumsum(steps) % 12
        tunes.append(Notes(starts, starts + durs * 0.9, pitches))
    return tunes


TRAIN, VALID = corpus(40, 0), corpus(6, 1)


@pytest.mark.parametrize("arch", list(TINY))
@pytest.mark.parametrize("kind", ["offline", "live"])
def test_loss_falls(tmp_path, arch, kind):
    torch.manual_seed(0)
    cfg = load_config(arch, "ours", overrides=TINY[arch] + ["seq_len=32", "batch_size=16", "lr=0.005",
                                                            "warmup_steps=5"])
    result = train(arch, kind, cfg, TRAIN, VALID, epochs=3, out_dir=tmp_path, progress=False, log=lambda *a: None)
    h = result.history
    assert h[-1]["train_nll"] < h[0]["train_nll"] - 0.3
    assert h[-1]["valid_nll"] < np.log(128) - 1.0  # far better than uniform over 128 pitches
    best = load_checkpoint(tmp_path / "best.pt")
    assert best.architecture == arch and best.kind == kind
    assert best.metrics["valid"]["nll"] == pytest.approx(min(r["valid_nll"] for r in h))
    rows = list(csv.DictReader(open(tmp_path / "curves.csv")))
    assert len(rows) == 3 and (tmp_path / "curves.png").stat().st_size > 1000


def test_resume_continues_exactly(tmp_path):
    cfg = load_config("vanilla_rnn", "ours", overrides=TINY["vanilla_rnn"] + ["seq_len=32", "batch_size=16"])
    straight = train("vanilla_rnn", "live", cfg, TRAIN, VALID, epochs=3, out_dir=tmp_path / "a", progress=False,
                     log=lambda *a: None)
    train("vanilla_rnn", "live", cfg, TRAIN, VALID, epochs=3, out_dir=tmp_path / "b", progress=False,
          log=lambda *a: None, stop_after=2)  # interrupted after two epochs
    resumed = train("vanilla_rnn", "live", cfg, TRAIN, VALID, epochs=3, out_dir=tmp_path / "b", progress=False,
                    resume=str(tmp_path / "b" / "last.pt"), log=lambda *a: None)
    assert resumed.history[-1]["train_nll"] == pytest.approx(straight.history[-1]["train_nll"], abs=1e-6)
    assert resumed.history[-1]["valid_nll"] == pytest.approx(straight.history[-1]["valid_nll"], abs=1e-6)


def test_original_recipe_drops_short_tunes_and_ours_uses_every_note():
    tunes = [Tune.from_notes(t) for t in TRAIN]
    rng = np.random.default_rng(0)
    original = epoch_windows(tunes, 64, "original", rng)
    ours = epoch_windows(tunes, 64, "ours", rng)
    long_tunes = sum(len(t) >= 64 for t in tunes)
    assert len(original) == long_tunes and all(hi - lo == 64 for _, lo, hi in original)
    covered = sum(hi - lo for _, lo, hi in ours)
    assert covered >= sum(len(t) for t in tunes) - len(tunes)  # (windows of one note are skipped)


def test_schedule_counts_the_batches_an_epoch_really_has(tmp_path):
    """Windows are batched by length, so an epoch has more batches than ``ceil(windows / batch_size)``; the
    schedule's progress must reach the end of an epoch exactly when the epoch's last batch is trained."""
    cfg = load_config("vanilla_rnn", "ours", overrides=TINY["vanilla_rnn"] + [
        "seq_len=32", "batch_size=16", "schedule='cosine'", "warmup_steps=0", "min_lr_ratio=0.0"])
    tunes = [Tune.from_notes(t) for t in TRAIN]
    planned = plan_batches(tunes, 32, 16, "ours", np.random.default_rng(cfg["seed"]))
    n = len(planned)
    assert n > math.ceil(len(epoch_windows(tunes, 32, "ours", np.random.default_rng(cfg["seed"]))) / 16)
    yielded = list(iterate_batches(tunes, 32, 16, "live", FeatureSpec(), "ours", np.random.default_rng(cfg["seed"]),
                                   None))
    assert len(yielded) == n and all(b[2].shape[0] <= 16 for b in yielded)
    result = train("vanilla_rnn", "live", cfg, TRAIN, VALID, epochs=2, out_dir=tmp_path, progress=False,
                   log=lambda *a: None, stop_after=1)
    first = result.history[0]
    assert first["step"] == n
    # the epoch's last batch trains at progress (n - 1) / n of the first of two epochs
    assert first["lr"] == pytest.approx(cfg["lr"] * 0.5 * (1 + math.cos(math.pi * (n - 1) / n / 2)), rel=1e-9)


def test_config_defaults_are_the_originals():
    assert load_config("lstm_attn", "original")["hidden_dim"] == 512
    assert load_config("attention_rnn", "original")["decode_hidden_dim"] == 1024
    assert load_config("vanilla_rnn", "original")["seq_len"] == 64
    shipped = load_config("lstm_attn", "ours", "shipped")
    assert shipped["hidden_dim"] == 384 and shipped["augment"] is True


@pytest.mark.parametrize("kind", ["offline", "live"])
@pytest.mark.parametrize("arch", ["vanilla_rnn", "lstm_attn", "attention_rnn"])
def test_shipped_preset_sizes_the_shipped_checkpoints(arch, kind):
    """`--preset shipped` reproduces the sizes of the checkpoints in checkpoints/ (scripts/train_shipped.sh)."""
    from composer_app.checkpoints import default_checkpoint, load_checkpoint

    config = load_config(arch, "ours", "shipped", kind=kind)
    model_config = load_checkpoint(default_checkpoint(arch, kind)).model.config()
    sizes = {k: v for k, v in model_config.items() if k.endswith(("hidden_dim", "_size", "embed_dim"))}
    assert sizes and all(config[k] == v for k, v in sizes.items()), (sizes, config)


def test_a_preset_can_size_each_kind(tmp_path):
    """``[preset.<arch>.<kind>]`` applies on top of ``[preset.<arch>]`` for that kind only."""
    path = tmp_path / "config.toml"
    path.write_text("[lstm_attn]\nhidden_dim = 512\n[shipped.lstm_attn]\nhidden_dim = 256\nseq_len = 64\n"
                    "[shipped.lstm_attn.live]\nhidden_dim = 384\n")
    live = load_config("lstm_attn", "ours", "shipped", path, kind="live")
    offline = load_config("lstm_attn", "ours", "shipped", path, kind="offline")
    assert (live["hidden_dim"], offline["hidden_dim"]) == (384, 256)
    assert live["seq_len"] == offline["seq_len"] == 64 and "live" not in offline
