"""Fine-tuning one of our checkpoints on a user's own melodies ("make it play like my music").

The starting model keeps its architecture, size, kind, features and every other setting its checkpoint holds
(it is rebuilt from that checkpoint by the ordinary loader); only the weights change. The user's files are
split *by file* into a tuning part and a held-out part; the starting model is scored on the held-out part as
epoch 0 and only a better model replaces it, so the result is never worse there than where it started.

:func:`finetune` is a plain function for the command line and for a background thread in the app: it reports
through a ``progress`` callback and stops at the next batch when ``cancel`` is set.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from composer_app.checkpoints import LoadedModel, load_checkpoint, save_checkpoint
from composer_app.data import extract, sources
from composer_app.errors import Cancelled, UserError
from composer_app.evaluation import Scores, score_model
from composer_app.notes import Notes
from composer_app.training.config import check_values, load_config
from composer_app.training.trainer import LRSchedule, TrainStep, augment_for, pick_device, write_curves
from composer_app.training.windows import Tune, batch_tensors, plan_batches

#: Fewer notes than this cannot say anything about a style (and the held-out score would be noise).
MIN_NOTES = 300
#: Share of the files held out for validation (at least one file).
HOLDOUT_FRACTION = 0.15
#: The fine-tuning recipe, on top of the architecture's ``ours`` recipe (its augmentation and clipping).
#: A fresh AdamW at a lower learning rate than training from scratch, no weight decay (it would pull the
#: weights towards zero, not towards where they started), a short warm-up and a cosine decay over the budget
#: (how it was chosen: docs/finetuning.md).
RECIPE = {"lr": 3e-4, "schedule": "cosine", "warmup_steps": 20, "min_lr_ratio": 0.05, "weight_decay": 0.0,
          "batch_size": 32}
#: Window length when the starting checkpoint does not say what it was trained with.
DEFAULT_SEQ_LEN = 64
#: Score the held-out part at each epoch's end, and at least this often (a share of the budget) in long epochs.
EVALS_PER_BUDGET = 8
#: Stop when this many held-out scores in a row bring no improvement.
PATIENCE = 6

BEST, CARD = "best.pt", "card.md"


class NotEnoughMusic(UserError):
    """The user's files hold too little usable melody to tune on (nothing is written)."""


@dataclass(frozen=True)
class Progress:
    """What a fine-tuning run is doing, for a progress bar: ``phase`` is ``reading``, ``scoring``, ``tuning``
    or ``done``; ``fraction`` (0..1) is of the whole job; ``before`` and ``best`` are held-out scores."""

    phase: str
    fraction: float
    message: str
    before: Scores | None = None
    best: Scores | None = None


@dataclass
class MelodyFile:
    """One of the user's files: its content hash and its melody, or why it was not used: ``skipped``, a short
    reason the summary counts files by, and ``detail``, what went wrong with this file in particular."""

    path: Path
    sha256: str
    notes: Notes | None = None
    skipped: str = ""
    detail: str = ""


@dataclass
class Material:
    """The user's melodies, split by file: ``tuning`` and ``held_out`` files, plus what was skipped."""

    tuning: list[MelodyFile]
    held_out: list[MelodyFile]
    skipped: list[MelodyFile] = field(default_factory=list)

    @property
    def used(self) -> list[MelodyFile]:
        return self.tuning + self.held_out

    @property
    def notes(self) -> int:
        return sum(len(f.notes) for f in self.used)

    @property
    def fingerprint(self) -> str:
        """sha256 over the sorted content hashes of the files used: the same melodies give the same print."""
        return hashlib.sha256("\n".join(sorted(f.sha256 for f in self.used)).encode()).hexdigest()

    def describe(self) -> dict:
        return {"files": len(self.used), "tuning_files": len(self.tuning), "held_out_files": len(self.held_out),
                "notes": self.notes, "tuning_notes": sum(len(f.notes) for f in self.tuning),
                "held_out_notes": sum(len(f.notes) for f in self.held_out), "fingerprint": self.fingerprint,
                "held_out": [f.path.name for f in self.held_out],
                "skipped": dict(Counter(f.skipped for f in self.skipped))}


@dataclass
class FinetuneResult:
    out_dir: Path
    before: Scores
    after: Scores
    best_epoch: float
    epochs: float
    steps: int
    seconds: float
    material: Material
    history: list[dict] = field(default_factory=list)
    device: str = "cpu"
    architecture: str = ""
    kind: str = ""

    @property
    def best_path(self) -> Path:
        return self.out_dir / BEST

    @property
    def card_path(self) -> Path:
        return self.out_dir / CARD


def midi_files(folder) -> list[Path]:
    """The ``.mid``/``.midi`` files under ``folder`` (recursively, sorted), as training reads a MIDI folder."""
    items, _ = sources.parse_source(f"midi:{folder}").items()
    return [Path(item[3]) for item in items]


def take_files(folder) -> list[Path]:
    """The takes in the app's take folder: saved takes and the journals every played take leaves (sorted)."""
    from composer_app.live.journal import JOURNAL_SUFFIX
    from composer_app.take import TAKE_SUFFIX

    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (TAKE_SUFFIX, JOURNAL_SUFFIX) and p.is_file())


def _melody_of(index: int, path: Path) -> tuple[Notes | None, str, str]:
    """``(notes, "", "")`` or ``(None, reason, detail)`` for a MIDI file (its skyline melody) or one of the
    app's takes, under the rules training applies to every tune (enough notes, pitches in MIDI range). The
    reason is one of a few short words (files are counted by it); the detail is this file's own problem."""
    from composer_app.live.journal import JOURNAL_SUFFIX
    from composer_app.live.recovery import load_take
    from composer_app.take import TAKE_SUFFIX

    if path.suffix.lower() in (TAKE_SUFFIX, JOURNAL_SUFFIX):
        try:
            notes = load_take(path).to_melody()
        except UserError as exc:
            return None, "unreadable take", str(exc)
        if len(notes) < extract.MIN_NOTES:
            return None, extract.SKIP_SHORT, f"{len(notes)} notes"
        return notes, "", ""
    result = extract.process_item((index, (sources.ITEM_MIDI, sources.MIDI_DIR, path.name, str(path))))
    return result.notes, result.reason, result.detail


def read_material(files: Iterable, *, cancel: threading.Event | None = None,
                  on_file: Callable[[int, int], None] | None = None) -> Material:
    """Read each file's melody (skyline of a polyphonic MIDI file, as training does; the notes of a take),
    drop repeated files, and split
    by file: files in the order of their content hash, the first ones held out until they hold
    :data:`HOLDOUT_FRACTION` of the files (at least one) and a tenth of the notes. The split depends only on
    the files' contents, so the same folder always gives the same split."""
    files = [Path(f) for f in files]
    seen: dict[str, MelodyFile] = {}
    skipped: list[MelodyFile] = []
    for i, path in enumerate(files):
        if cancel is not None and cancel.is_set():
            raise Cancelled("fine-tuning cancelled")
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            skipped.append(MelodyFile(path, "", skipped=f"unreadable file ({exc.strerror or exc})"))
            continue
        if digest in seen:
            skipped.append(MelodyFile(path, digest, skipped="same content as another file"))
        else:
            notes, reason, detail = _melody_of(i, path)
            if notes is None:
                skipped.append(MelodyFile(path, digest, skipped=reason, detail=detail))
            else:
                seen[digest] = MelodyFile(path, digest, notes)
        if on_file is not None:
            on_file(i + 1, len(files))
    used = sorted(seen.values(), key=lambda f: f.sha256)
    total = sum(len(f.notes) for f in used)
    if total < MIN_NOTES or len(used) < 2:
        found = f"{total} notes in {len(used)} usable MIDI file{'s' if len(used) != 1 else ''}"
        if skipped:
            found += f" ({len(skipped)} more skipped: {', '.join(sorted({f.skipped for f in skipped}))})"
        need = f"at least {MIN_NOTES} notes" if total < MIN_NOTES else "at least two files (one is held out to check the result)"
        raise NotEnoughMusic(f"too little melody to learn from: {found}; fine-tuning needs {need}")
    n_files = max(1, round(HOLDOUT_FRACTION * len(used)))
    held, held_notes = [], 0
    for f in used[:-1]:
        if len(held) >= n_files and held_notes >= total / 10:
            break
        held.append(f)
        held_notes += len(f.notes)
    return Material(used[len(held):], held, skipped)


def _recipe(loaded: LoadedModel, overrides: dict | None) -> dict:
    cfg = load_config(loaded.architecture, "ours")
    cfg.update(RECIPE)
    # windows as long as the model was trained on (a melody memory learns recall over its window)
    cfg["seq_len"] = int(loaded.training.get("config", {}).get("seq_len", DEFAULT_SEQ_LEN))
    tunable = set(RECIPE) | {"seq_len", "clip_value", "augment", "tempo_min", "tempo_max", "tempo_prob", "transpose",
                             "transpose_prob"}
    unknown = sorted(set(overrides or {}) - tunable)
    if unknown:
        raise UserError(f"cannot set {', '.join(unknown)} for fine-tuning; these can be set: {', '.join(sorted(tunable))}")
    cfg.update(overrides or {})
    check_values(cfg)
    cfg["recipe"] = "finetune"
    return cfg


def _sha256_of(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def finetune(start_checkpoint, files, minutes: float, out_dir, *, progress: Callable[[Progress], None] | None = None,
             cancel: threading.Event | None = None, clock: Callable[[], float] = time.process_time,
             device: str = "cpu", recipe: dict | None = None, max_epochs: int = 1000, seed: int = 0,
             log: Callable[[str], None] = lambda line: None) -> FinetuneResult:
    """Fine-tune ``start_checkpoint`` on the melodies of ``files`` (MIDI paths) for ``minutes`` of ``clock``.

    ``clock`` measures the budget: the process's CPU time by default (fair on a shared machine, as ``train
    --time-limit``); the app passes ``time.monotonic`` so the budget is the wall time the player waits.
    ``progress`` is called (on this thread) with a :class:`Progress` after each file read, each held-out score
    and every few batches; ``cancel`` stops the run within one batch by raising :class:`Cancelled` (the run folder
    then holds at best a partial result).
    ``out_dir`` receives ``best.pt`` (the best held-out model; the starting weights if nothing beat them),
    ``curves.csv``/``curves.png`` and ``card.md``. Raises :class:`NotEnoughMusic` before writing anything when
    the files hold too little melody.
    """
    run = _Tuning(Path(start_checkpoint), minutes, Path(out_dir), progress, cancel, clock, log)
    run.prepare(files, recipe, device, seed)
    run.score_start()
    run.tune(max_epochs)
    return run.finish()


class _Tuning:
    """One run of :func:`finetune`: the model, its material, the best score so far and the curves."""

    def __init__(self, start_path: Path, minutes: float, out: Path, progress, cancel, clock, log):
        self.say = progress or (lambda p: None)
        self.cancel, self.clock, self.log = cancel, clock, log
        self.budget = max(float(minutes), 0.0) * 60.0
        self.start_path, self.out = start_path, out
        self.clock_name = "CPU" if clock is time.process_time else "wall-clock"

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("fine-tuning cancelled")

    def prepare(self, files, recipe: dict | None, device: str, seed: int) -> None:
        """Load the starting model, read and split the material, seed the run."""
        self.loaded = load_checkpoint(self.start_path)
        self.cfg = _recipe(self.loaded, recipe)
        self.material = read_material(list(files), cancel=self.cancel, on_file=lambda i, n: self.say(
            Progress("reading", 0.05 * i / n, f"reading your melodies: file {i} of {n}")))
        info = self.info = self.material.describe()
        self.log(f"{info['files']} files, {info['notes']} notes: tuning on {info['tuning_files']} files "
                 f"({info['tuning_notes']} notes), holding out {info['held_out_files']} "
                 f"({info['held_out_notes']} notes)")
        self.dev = pick_device(device)
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.model = self.loaded.model.to(self.dev)
        self.held_out = [f.notes for f in self.material.held_out]
        self.tunes = [Tune.from_notes(f.notes) for f in self.material.tuning]

    def score_start(self) -> None:
        """Score the starting model on the held-out files (epoch 0) and write it as the best so far."""
        self.check_cancel()
        self.say(Progress("scoring", 0.05, "scoring the starting model on the held-out files"))
        before = self.before = score_model(self.loaded, self.held_out)
        self.log(f"start: held-out NLL {before.nll:.3f} nats/note, accuracy {100 * before.accuracy:.1f} %")
        self.say(Progress("scoring", 0.08, "starting model scored", before, before))

        self.out.mkdir(parents=True, exist_ok=True)
        loaded = self.loaded
        kept = ("recipe", "epochs", "seconds", "device")
        self.start_info = {"path": str(self.start_path), "name": self.start_path.name,
                           "sha256": _sha256_of(self.start_path), "architecture": loaded.architecture,
                           "kind": loaded.kind,
                           "training": {k: loaded.training.get(k) for k in kept if k in loaded.training}}
        self.t0, self.wall0 = self.clock(), time.monotonic()
        self.step, self.epoch_float = 0, 0.0
        self.best, self.best_epoch = before, 0.0
        self.history = [{"epoch": 0.0, "step": 0, "seconds": 0.0, "lr": 0.0, "train_nll": math.nan,
                         "train_acc": math.nan, "valid_nll": before.nll, "valid_acc": before.accuracy}]
        self.save(before, 0.0)
        write_curves(self.out, self.history, png=False)

    def save(self, model_scores: Scores, epoch: float) -> None:
        """Write the model as it is now to ``best.pt``, with its held-out scores and how it was made."""
        training = {"recipe": "finetune", "config": {k: v for k, v in self.cfg.items() if v is not None},
                    "finetuned_from": self.start_info, "data": self.info, "epochs": round(epoch, 2),
                    "steps": self.step, "seconds": round(self.clock() - self.t0, 1),
                    "seconds_are": f"{self.clock_name} seconds of fine-tuning", "device": str(self.dev)}
        loaded = self.loaded
        save_checkpoint(self.out / BEST, self.model, loaded.architecture, loaded.kind, loaded.features,
                        training=training,
                        metrics={"valid": {**model_scores.as_dict(), "epoch": round(epoch, 2)},
                                 "before": self.before.as_dict(),
                                 "held_out": "files of the tuning material held out"})

    def batch_stream(self, max_epochs: int):
        """``(epoch reached, batch, last of its epoch)`` over up to ``max_epochs`` freshly planned epochs."""
        for epoch in range(max_epochs):
            planned = plan_batches(self.tunes, self.cfg["seq_len"], self.cfg["batch_size"], "ours", self.rng)
            for i, batch in enumerate(planned):
                yield epoch + (i + 1) / len(planned), batch, i + 1 == len(planned)

    def tune(self, max_epochs: int) -> None:
        """Train within the budget, scoring the held-out files each epoch and in between; stop when they stop
        improving."""
        budget, before, loaded = self.budget, self.before, self.loaded
        train_step = TrainStep(self.model, self.cfg, self.dev)
        schedule = LRSchedule(self.cfg)
        augment = augment_for(self.cfg)
        eval_every = budget / EVALS_PER_BUDGET
        self.last_eval, self.stale, self.lr = 0.0, 0, 0.0
        self.loss_sum = self.correct = self.count = 0.0

        self.model.train()
        for reached, batch, epoch_end in (self.batch_stream(max_epochs) if budget > 0 else ()):
            self.check_cancel()
            spent = self.clock() - self.t0
            if spent >= budget:
                break
            self.lr = schedule.lr(self.step, spent / budget)
            tensors = batch_tensors(self.tunes, batch, loaded.kind, loaded.features, self.rng, augment)
            batch_loss, batch_correct, n = train_step(*tensors, self.lr)
            self.step, self.epoch_float = self.step + 1, reached
            self.loss_sum, self.correct, self.count = (self.loss_sum + batch_loss, self.correct + batch_correct,
                                                       self.count + n)
            if self.step % 5 == 0:
                self.say(Progress("tuning", 0.1 + 0.88 * min(1.0, spent / budget),
                                  f"tuning: epoch {math.ceil(reached)}, held-out NLL {self.best.nll:.3f} "
                                  f"(start {before.nll:.3f})", before, self.best))
            if epoch_end or spent - self.last_eval >= eval_every:
                self.score_held_out()
                if self.stale >= PATIENCE:
                    self.log(f"no better held-out score in {PATIENCE} scores in a row: stopping")
                    break
        if self.count:
            self.score_held_out()
        self.model.eval()

    def score_held_out(self) -> None:
        """Score what was trained since the last score; keep it when it beats the best so far."""
        self.check_cancel()
        scores = score_model(self.loaded, self.held_out)
        self.model.train()
        self.last_eval = self.clock() - self.t0
        self.history.append({"epoch": round(self.epoch_float, 3), "step": self.step,
                             "seconds": round(self.last_eval, 1), "lr": self.lr,
                             "train_nll": self.loss_sum / self.count, "train_acc": self.correct / self.count,
                             "valid_nll": scores.nll, "valid_acc": scores.accuracy})
        self.loss_sum = self.correct = self.count = 0.0
        if scores.nll < self.best.nll:
            self.best, self.best_epoch, self.stale = scores, self.epoch_float, 0
            self.save(self.best, self.epoch_float)
        else:
            self.stale += 1
        write_curves(self.out, self.history, png=False)  # the plot once, at the end: it costs a second
        self.log(f"epoch {self.epoch_float:.2f}: held-out NLL {scores.nll:.3f} (best {self.best.nll:.3f}) | "
                 f"{self.last_eval:.0f} {self.clock_name} s")
        self.say(Progress("tuning", 0.1 + 0.88 * min(1.0, self.last_eval / self.budget),
                          f"tuning: held-out NLL {self.best.nll:.3f} (start {self.before.nll:.3f})",
                          self.before, self.best))

    def finish(self) -> FinetuneResult:
        """Write the plot and the model card; the run's result."""
        seconds = self.clock() - self.t0
        write_curves(self.out, self.history)
        result = FinetuneResult(self.out, self.before, self.best, self.best_epoch, self.epoch_float, self.step,
                                seconds, self.material, self.history, str(self.dev), self.loaded.architecture,
                                self.loaded.kind)
        wall_seconds = time.monotonic() - self.wall0
        (self.out / CARD).write_text(model_card(result, self.loaded, self.start_info, self.cfg, self.clock_name,
                                                wall_seconds))
        self.say(Progress("done", 1.0, f"done: held-out NLL {self.before.nll:.3f} → {self.best.nll:.3f}",
                          self.before, self.best))
        return result


def _names(names: list[str], shown: int = 12) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def model_card(result: FinetuneResult, loaded: LoadedModel, start: dict, cfg: dict, clock_name: str,
               wall_seconds: float) -> str:
    """The markdown card of a fine-tuned model: where it started, on what, for how long, before and after."""
    info = result.material.describe()
    b, a = result.before, result.after
    kept = (f"the model of epoch {result.best_epoch:.2f}" if a.nll < b.nll else
            "the starting weights (no tuned epoch scored better on the held-out files)")
    skipped = ", ".join(f"{n} {why}" for why, n in info["skipped"].items()) or "none"
    recipe = {k: cfg[k] for k in ("lr", "schedule", "warmup_steps", "min_lr_ratio", "weight_decay", "batch_size",
                                  "seq_len", "augment") if k in cfg}
    return "\n".join([
        f"# {loaded.label}: `{loaded.architecture}`, {loaded.kind}, fine-tuned on your melodies",
        "",
        f"- **Tuned from**: `{start['name']}` ({start['path']}; sha256 {start['sha256'][:16]}…). Same architecture, "
        f"size, kind and features: {json.dumps(loaded.model.config())}",
        f"- **Material**: {info['files']} MIDI files, {info['notes']} notes (skyline melody of each file); "
        f"fingerprint sha256 `{info['fingerprint']}` (over the sorted hashes of the files). Skipped: {skipped}.",
        f"- **Split by file**: tuned on {info['tuning_files']} files ({info['tuning_notes']} notes), held out "
        f"{info['held_out_files']} ({info['held_out_notes']} notes): {_names(info['held_out'])}",
        f"- **Time**: {result.seconds / 60:.1f} {clock_name} minutes ({wall_seconds / 60:.1f} min wall clock), "
        f"{result.epochs:.1f} epochs, {result.steps} steps, on {result.device}",
        f"- **Recipe**: fresh AdamW, {json.dumps(recipe)}; the held-out files scored after every epoch",
        f"- **Held-out files, before**: NLL {b.nll:.3f} nats/note (perplexity {b.perplexity:.2f}), "
        f"next-note accuracy {100 * b.accuracy:.1f} %",
        f"- **Held-out files, after**: NLL {a.nll:.3f} nats/note (perplexity {a.perplexity:.2f}), "
        f"next-note accuracy {100 * a.accuracy:.1f} % — {kept}",
        "",
        "The held-out files come from the same material, so these numbers say how well the model fits that "
        "music, not how it plays music of other styles.",
        "",
    ])
