"""The training loop: epochs with a progress bar, validation, best checkpoint, exact resume, curves.

Run directory layout (``--out``): ``best.pt`` (best validation NLL, our checkpoint format), ``last.pt`` (the
same plus optimizer, schedule and random-number state, so ``-c last.pt`` continues exactly),
``snapshot_eNNN.pt`` every ``-s`` epochs, ``curves.csv`` and ``curves.png``.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

import models
from composer_app.beats import FeatureSpec
from composer_app.checkpoints import LoadedModel, read_payload, save_checkpoint
from composer_app.errors import UserError
from composer_app.evaluation import Scores, score_model
from composer_app.progress_output import bar_options
from composer_app.training.config import model_config
from composer_app.training.distributed import SINGLE, Group
from composer_app.training.windows import Augment, Tune, batch_tensors, plan_batches


@dataclass
class TrainResult:
    out_dir: Path
    epochs_run: int
    best_valid: dict
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def pick_device(name: str) -> torch.device:
    if name in ("auto", ""):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"unknown device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("CUDA was asked for (-d cuda) but no GPU is available; use -d cpu")
    return device


def features_for(cfg: dict) -> FeatureSpec:
    return FeatureSpec.raw() if cfg.get("features") == "raw" else FeatureSpec()


def augment_for(cfg: dict) -> Augment | None:
    if not cfg.get("augment"):
        return None
    return Augment(cfg["tempo_min"], cfg["tempo_max"], cfg["tempo_prob"], cfg["transpose"], cfg["transpose_prob"])


class LRSchedule:
    """Warm-up then cosine decay (``cosine``: over the whole run; ``wsd``: warm-up, stable, decay over the last
    ``decay_fraction``) by training progress, where progress is the larger of the epoch fraction
    and the time fraction (so a ``--time-limit`` run still decays fully).

    Time is this process's CPU time, not wall time: runs that share a busy machine (two trainings side by
    side, a test suite) get the same amount of computation for the same limit, so comparisons stay fair."""

    def __init__(self, cfg: dict):
        self.kind = cfg.get("schedule", "constant")
        self.base = cfg["lr"]
        self.warmup = cfg.get("warmup_steps", 0)
        self.min_ratio = cfg.get("min_lr_ratio", 0.0)
        self.decay_fraction = cfg.get("decay_fraction", 1.0) if self.kind == "wsd" else 1.0

    def lr(self, step: int, progress: float) -> float:
        if self.kind == "constant":
            return self.base
        warm = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        start = 1.0 - self.decay_fraction
        decay = max(0.0, min(progress, 1.0) - start) / self.decay_fraction
        cos = 0.5 * (1 + math.cos(math.pi * decay))
        return self.base * warm * (self.min_ratio + (1 - self.min_ratio) * cos)


class TrainStep:
    """One optimisation step on one batch, the same for training from scratch and fine-tuning: AdamW, gradient
    value clipping, and in a data-parallel run (``group``) this process's share of the global batch.

    Every process is handed the whole global batch and keeps a disjoint share of its windows; the loss is
    weighted so that DistributedDataParallel's average of the processes' gradients is the gradient of the
    global batch's mean loss (all windows of a batch have one length, so each weighs the same)."""

    def __init__(self, model: torch.nn.Module, cfg: dict, device: torch.device, group: Group = SINGLE):
        self.model, self.device, self.group = model, device, group
        self.clip = cfg.get("clip_value")
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"],
                                           weight_decay=cfg.get("weight_decay", 0.0))
        self.net = model
        if group.distributed:  # after any weights are loaded: it broadcasts rank 0's weights
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def __call__(self, beats, prev, target, lr: float) -> tuple[float, int, int]:
        """Train on one global batch at learning rate ``lr``; ``(loss sum, correct, notes)`` over this
        process's share, for the running statistics."""
        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr
        n_windows = len(target)
        mine = self.group.share(n_windows)
        weight = len(mine) * self.group.world / n_windows
        if not mine:  # more processes than windows: take part in the gradient average with weight 0
            mine = range(1)
        beats, prev, target = (t[mine.start:mine.stop].to(self.device) for t in (beats, prev, target))
        logits = self.net(beats, prev)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        (loss * weight).backward()
        if self.clip:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip)
        self.optimizer.step()
        if not weight:
            return 0.0, 0, 0
        n = target.numel()
        return float(loss.detach()) * n, int((logits.argmax(-1) == target).sum()), n


def train(architecture: str, kind: str, cfg: dict, train_notes: list, valid_notes: list, *, epochs: int,
          out_dir, device: str = "cpu", snapshot_every: int = 0, resume: str | None = None,
          time_limit_s: float | None = None, data_info: dict | None = None, progress: bool = True,
          log=print, stop_after: int | None = None, group: Group = SINGLE) -> TrainResult:
    """Train ``architecture`` (``kind``) for ``epochs`` epochs, or until ``time_limit_s``.

    ``stop_after`` ends this invocation after that many epochs as an interruption would (the schedule
    still runs over ``epochs``), so that resuming from ``last.pt`` can be checked to continue exactly.
    ``group`` is this process's place in a data-parallel run (:mod:`composer_app.training.distributed`):
    every process calls ``train`` alike; only rank 0 logs and writes the run folder.
    """
    dev = pick_device(device)
    if not group.main:
        log, progress = (lambda *a, **k: None), False
    run = _Training(architecture, kind, cfg, train_notes, dev, Path(out_dir), group, log, resume=resume,
                    epochs=epochs, time_limit_s=time_limit_s, data_info=data_info)
    epoch = run.start_epoch
    stop = False
    last_epoch = epochs if stop_after is None else min(epochs, run.start_epoch + stop_after)
    while epoch < last_epoch and not stop:
        sums, lr, stop = run.train_epoch(epoch, progress)
        epoch += 1
        row, valid, improved, elapsed = run.score(epoch, sums, lr, valid_notes)
        if group.main:
            run.write(epoch, row, valid, improved, elapsed, snapshot_every)
    return TrainResult(run.out, epoch, run.best, run.history, time.process_time() - run.t0)


class _Training:
    """One call of :func:`train`: the model with its optimiser step and schedule, the tunes, the history so far,
    and the clock (CPU seconds, counting those of the run resumed)."""

    def __init__(self, architecture: str, kind: str, cfg: dict, train_notes: list, dev: torch.device, out: Path,
                 group: Group, log, *, resume: str | None, epochs: int, time_limit_s: float | None,
                 data_info: dict | None):
        self.architecture, self.kind, self.cfg = architecture, kind, cfg
        self.dev, self.group, self.log = dev, group, log
        self.epochs, self.time_limit_s = epochs, time_limit_s
        torch.manual_seed(cfg.get("seed", 0))
        self.rng = np.random.default_rng(cfg.get("seed", 0))
        self.feats = features_for(cfg)
        self.model = models.build(architecture, **model_config(architecture, cfg, kind)).to(dev)
        self.schedule = LRSchedule(cfg)
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.history: list[dict] = []
        self.start_epoch, self.step, elapsed_before = 0, 0, 0.0
        self.best = {"nll": float("inf")}
        resumed = self._resume(resume) if resume else None
        self.train_step = TrainStep(self.model, cfg, dev, group)
        if resumed:
            self.train_step.optimizer.load_state_dict(resumed["optimizer"])
            elapsed_before = resumed["elapsed"]
        self.tunes = [Tune.from_notes(n) for n in train_notes]
        self.augment = augment_for(cfg)
        self.t0 = time.process_time() - elapsed_before
        self.wall0 = time.monotonic()
        self.training_info = {"recipe": cfg["recipe"], "config": {k: v for k, v in cfg.items() if v is not None},
                              "data": data_info or {}, "device": str(dev), "processes": group.world}

    def _resume(self, resume: str) -> dict:
        """Load the weights, the counters and the random-number state of ``last.pt``; its ``resume`` table."""
        architecture, kind = self.architecture, self.kind
        payload = read_payload(resume)
        if "resume" not in payload or payload.get("architecture") != architecture or payload.get("kind") != kind:
            raise UserError(f"{resume} is not a resumable {architecture} ({kind}) run checkpoint (use last.pt)")
        state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
        self.model.load_state_dict(state)
        r = payload["resume"]
        self.start_epoch, self.step = r["epoch"], r["step"]
        self.best, self.history = r["best"], r["history"]
        self.rng.bit_generator.state = r["numpy_rng"]
        torch.set_rng_state(r["torch_rng"])
        self.log(f"resuming {architecture} ({kind}) from epoch {self.start_epoch}")
        return r

    def time_spent(self) -> float:
        """CPU seconds so far: the slowest process's, so that every process takes the same decisions."""
        return self.group.max(time.process_time() - self.t0) if self.time_limit_s else 0.0

    def progress_fraction(self, epoch_float: float, spent: float) -> float:
        p = epoch_float / max(self.epochs, 1)
        if self.time_limit_s:
            p = max(p, spent / self.time_limit_s)
        return p

    def train_epoch(self, epoch: int, progress: bool) -> tuple[list, float, bool]:
        """One epoch of batches: the summed ``[loss, correct, count]`` over every process, the last learning
        rate, and whether the time limit stopped it."""
        self.model.train()
        batches = plan_batches(self.tunes, self.cfg["seq_len"], self.cfg["batch_size"], self.cfg["recipe"], self.rng)
        n_batches = max(1, len(batches))
        bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{self.epochs}", disable=not progress, leave=False,
                   **bar_options())  # plain lines in a log file
        loss_sum = correct = count = 0
        stop = False
        spent = self.time_spent()
        for i, batch in enumerate(batches):
            lr = self.schedule.lr(self.step, self.progress_fraction(epoch + i / n_batches, spent))
            tensors = batch_tensors(self.tunes, batch, self.kind, self.feats, self.rng, self.augment)
            batch_loss, batch_correct, n = self.train_step(*tensors, lr)
            self.step += 1
            loss_sum, correct, count = loss_sum + batch_loss, correct + batch_correct, count + n
            bar.update(1)
            bar.set_postfix(loss=f"{loss_sum / max(count, 1):.3f}", lr=f"{lr:.1e}")
            spent = self.time_spent()
            if self.time_limit_s and spent > self.time_limit_s:
                stop = True
                break
        bar.close()
        return self.group.sum([loss_sum, correct, count]), lr, stop

    def score(self, epoch: int, sums: list, lr: float, valid_notes: list) -> tuple[dict, Scores, bool, float]:
        """Validate after ``epoch``; its row of the history, the scores, whether they are the best so far, and the
        CPU seconds spent."""
        loss_sum, correct, count = sums
        valid = validate(LoadedModel(self.model, self.architecture, self.kind, self.feats), valid_notes, self.group)
        elapsed = time.process_time() - self.t0
        row = {"epoch": epoch, "step": self.step, "seconds": round(elapsed, 1),
               "wall_seconds": round(time.monotonic() - self.wall0, 1), "lr": lr,
               "train_nll": loss_sum / max(count, 1), "train_acc": correct / max(count, 1),
               "train_ppl": math.exp(loss_sum / max(count, 1)), "valid_nll": valid.nll,
               "valid_acc": valid.accuracy, "valid_ppl": valid.perplexity}
        self.history.append(row)
        improved = valid.nll < self.best["nll"]
        if improved:
            self.best = {**valid.as_dict(), "epoch": epoch}
        return row, valid, improved, elapsed

    def write(self, epoch: int, row: dict, valid: Scores, improved: bool, elapsed: float, snapshot_every: int) -> None:
        """Log the epoch and write the run folder: ``best.pt`` when it improved, ``last.pt``, a snapshot when
        one is due, and the curves."""
        log, out, model, arch, kind, feats = self.log, self.out, self.model, self.architecture, self.kind, self.feats
        log(f"epoch {epoch}: train nll {row['train_nll']:.3f} acc {row['train_acc']:.3f} | valid nll "
            f"{valid.nll:.3f} ppl {valid.perplexity:.2f} acc {valid.accuracy:.3f} | {elapsed:.0f} CPU s")
        info = {**self.training_info, "epochs": epoch, "seconds": round(elapsed, 1), "steps": self.step,
                "seconds_are": "CPU seconds of the training process (1 torch thread)"}
        if improved:
            save_checkpoint(out / "best.pt", model, arch, kind, feats, training=info, metrics={"valid": self.best})
        resume_state = {"optimizer": self.train_step.optimizer.state_dict(), "epoch": epoch, "step": self.step,
                        "elapsed": elapsed, "best": self.best, "history": self.history,
                        "numpy_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state()}
        save_checkpoint(out / "last.pt", model, arch, kind, feats, training=info,
                        metrics={"valid": valid.as_dict()}, extra={"resume": resume_state})
        if snapshot_every and epoch % snapshot_every == 0:
            save_checkpoint(out / f"snapshot_e{epoch:03d}.pt", model, arch, kind, feats, training=info)
        write_curves(out, self.history)


def validate(loaded: LoadedModel, valid_notes: list, group: Group = SINGLE) -> Scores:
    """Validation scores; in a data-parallel run each process scores its share of the tunes and the sums
    are combined, so every process gets the same numbers."""
    if not group.distributed:
        return score_model(loaded, valid_notes)
    part = score_model(loaded, valid_notes[group.rank::group.world])
    notes, nll_sum, correct = group.sum([part.notes, part.nll * part.notes, part.accuracy * part.notes])
    return Scores.from_sums(int(notes), nll_sum, round(correct))


def write_curves(out: Path, history: list[dict], png: bool = True) -> None:
    """``curves.csv`` always; ``curves.png`` too unless ``png`` is false (matplotlib, headless backend)."""
    if not history:
        return
    with open(out / "curves.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    if not png:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [r["train_nll"] for r in history], label="train")
    ax1.plot(epochs, [r["valid_nll"] for r in history], label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("NLL (nats/note)")
    ax1.legend()
    ax2.plot(epochs, [r["train_acc"] for r in history], label="train")
    ax2.plot(epochs, [r["valid_acc"] for r in history], label="validation")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("next-note accuracy")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=90)
    plt.close(fig)
