"""Data-parallel training: two CPU processes (gloo) give the weights one process gets on the same global batch."""

import multiprocessing

import numpy as np
import pytest
import torch
from torch import distributed as dist

from composer_app.checkpoints import read_payload
from composer_app.notes import Notes
from composer_app.training.config import load_config
from composer_app.training.distributed import Group
from composer_app.training.trainer import train


def tunes(n, seed):
    """Tunes of varied lengths (so batches of one window length vary in size, some smaller than two)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(5, 40))
        durs = rng.choice([0.25, 0.5], size=length)
        starts = np.concatenate([[0.0], np.cumsum(durs)[:-1]])
        pitches = 60 + rng.integers(0, 12, size=length)
        out.append(Notes(starts, starts + durs * 0.9, pitches))
    return out


TRAIN, VALID = tunes(24, 0), tunes(5, 1)
# no dropout: its masks are drawn per process; augmentation stays on (every process draws it alike)
CFG = load_config("lstm_attn", "ours", overrides=["hidden_dim=16", "dropout_p=0.0", "seq_len=16", "batch_size=6",
                                                  "lr=0.01", "warmup_steps=1"])


def _one_process(rank: int, world: int, rendezvous: str, out: str, kind: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    try:
        train("lstm_attn", kind, CFG, TRAIN, VALID, epochs=1, out_dir=out, progress=False, log=lambda *a: None,
              group=Group(rank, world))
    finally:
        dist.destroy_process_group()


def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path):
    kind = "offline"
    single = train("lstm_attn", kind, CFG, TRAIN, VALID, epochs=1, out_dir=tmp_path / "one", progress=False,
                   log=lambda *a: None)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_one_process, args=(rank, 2, str(tmp_path / "rendezvous"),
                                                          str(tmp_path / "two"), kind)) for rank in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    one, two = read_payload(tmp_path / "one" / "last.pt"), read_payload(tmp_path / "two" / "last.pt")
    assert one["resume"]["step"] == two["resume"]["step"] >= 8
    assert one["state_dict"].keys() == two["state_dict"].keys()
    for name, weights in one["state_dict"].items():
        torch.testing.assert_close(two["state_dict"][name], weights, atol=1e-5, rtol=0)
    h1, h2 = one["resume"]["history"], two["resume"]["history"]
    assert h2[-1]["valid_nll"] == pytest.approx(h1[-1]["valid_nll"], abs=1e-5)
    assert h2[-1]["train_nll"] == pytest.approx(h1[-1]["train_nll"], abs=1e-5)
    assert single.history[-1]["valid_nll"] < np.log(128) - 1  # it learnt: the weights moved
    # only rank 0 writes the run folder; one single file set
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["best.pt", "curves.csv", "curves.png",
                                                                    "last.pt"]
