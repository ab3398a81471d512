"""``everybody-compose train``: train one model (the original's flags: -m, -n, -nf, -d, -s, -c).

Under ``torchrun --nproc_per_node=N`` the processes train one model together (DistributedDataParallel:
gloo on CPU, NCCL on GPU); the configured ``batch_size`` is the global batch, shared among the processes, so
the result is that of one process.

``train --from CHECKPOINT --midi-dir DIR`` fine-tunes one of our checkpoints on a folder of the user's melodies
instead (:mod:`composer_app.training.finetune`)."""

from __future__ import annotations

import os
from pathlib import Path

from composer_app.errors import UserError

NAME = "train"
HELP = "Train a model on the prepared corpus (see `prepare`), or fine-tune one on your MIDI (--from)."
ORDER = 30
#: ``--time-limit`` of a fine-tuning run when none is given (CPU minutes).
FINETUNE_MINUTES = 3.0


def add_arguments(p) -> None:
    p.add_argument("-m", "--model-name", choices=["vanilla_rnn", "lstm_attn", "attention_rnn"],
                   help="architecture, by the original project's names (required unless --from)")
    p.add_argument("--live", action="store_true", help="train the live (causal, key-down) kind")
    p.add_argument("-n", "--n-epochs", type=int, default=None, help="number of epochs (default 10; with --from: "
                   "at most this many, the time limit decides)")
    p.add_argument("-nf", "--n-files", type=int, default=None, help="use only the first N training tunes")
    p.add_argument("-d", "--device", default="auto", help="cpu, cuda, cuda:1 … (default: GPU if there is one)")
    p.add_argument("-s", "--snapshots-freq", type=int, default=0, help="save a snapshot every N epochs")
    p.add_argument("-c", "--checkpoint", default=None, help="resume from a run's last.pt (exactly)")
    p.add_argument("--recipe", choices=["ours", "original"], default="ours",
                   help="'original' reproduces the original project's recipe for comparison")
    p.add_argument("--preset", choices=["shipped"], default=None,
                   help="apply the [shipped.*] sizes of the config (the sizes of the shipped checkpoints)")
    p.add_argument("--config", default=None, help="training config TOML (default: the bundled config.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--out", default=None, help="run folder (default runs/<model>_<kind>_<recipe>)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after this many minutes of CPU time (fair "
                   f"when runs share a machine; with --from the default is {FINETUNE_MINUTES:g})")
    p.add_argument("--midi-dir", default=None, help="train on a folder of MIDI files instead of the folk corpus")
    p.add_argument("--maestro-zip", default=None, help="train on the MAESTRO zip (as the original did)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--ship", action="store_true",
                   help="when done, write the best model to checkpoints/ in half precision with a model card")
    p.add_argument("--from", dest="from_checkpoint", default=None, metavar="CHECKPOINT",
                   help="fine-tune this checkpoint (shipped or trained, any architecture and kind) on the melodies "
                        "of --midi-dir; a part of the files is held out, and the result is never worse there")


def run(args) -> int:
    import torch

    from composer_app.training import distributed

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.from_checkpoint:
        return _finetune(args)
    if not args.model_name:
        raise UserError("-m/--model-name is required (or --from CHECKPOINT to fine-tune a model)")
    group, device = distributed.start(args.device)
    try:
        return _train(args, group, device)
    finally:
        distributed.stop(group)


def _train(args, group, device: str) -> int:
    from composer_app.data.corpus import load_melodies
    from composer_app.training.config import load_config
    from composer_app.training.trainer import train

    say = print if group.main else (lambda *a, **k: None)
    kind = "live" if args.live else "offline"
    cfg = load_config(args.model_name, args.recipe, args.preset, args.config, args.set, kind=kind)
    out = check_run_folder(args.out or f"runs/{args.model_name}_{kind}_{args.recipe}")
    sources = tuple(s for s in (f"midi:{args.midi_dir}" if args.midi_dir else None,
                                f"maestro:{args.maestro_zip}" if args.maestro_zip else None) if s) or ("music21",)
    if not group.main:
        group.barrier()  # rank 0 builds the melody cache first (when missing); the others then read it
    train_m = load_melodies("train", sources, progress=group.main)
    valid_m = load_melodies("valid", sources, progress=group.main)
    if group.main:
        group.barrier()
    if args.n_files:
        train_m = train_m[: args.n_files]
    data_info = {"sources": [str(s) for s in sources], "train_tunes": len(train_m),
                 "train_notes": int(sum(len(m.notes) for m in train_m)), "valid_tunes": len(valid_m),
                 "split_seed": 0}
    say(f"training {args.model_name} ({kind}, recipe {args.recipe}) on {data_info['train_tunes']} tunes / "
        f"{data_info['train_notes']} notes; validating on {len(valid_m)} tunes"
        + (f"; {group.world} processes" if group.distributed else ""))
    result = train(args.model_name, kind, cfg, [m.notes for m in train_m], [m.notes for m in valid_m],
                   epochs=args.n_epochs or 10, out_dir=out, device=device, snapshot_every=args.snapshots_freq,
                   resume=args.checkpoint, time_limit_s=args.time_limit * 60 if args.time_limit else None,
                   data_info=data_info, group=group)
    if not group.main:
        return 0
    print(f"done: {result.epochs_run} epochs in {result.seconds:.0f}s; best validation {result.best_valid}")
    print(f"run folder: {out} (best.pt, last.pt, curves.csv, curves.png)")
    if args.ship:
        from composer_app.training.shipping import ship

        card = ship(out / "best.pt", sources)
        print(f"shipped: {card}")
    return 0


def _finetune(args) -> int:
    """``train --from CHECKPOINT --midi-dir DIR``: fine-tune with a progress bar, then say before and after."""
    from tqdm import tqdm

    from composer_app.progress_output import ProgressLines, on_terminal
    from composer_app.training import distributed
    from composer_app.training.finetune import finetune, midi_files

    refused = [flag for flag, given in (("-c", args.checkpoint), ("--maestro-zip", args.maestro_zip),
                                        ("--ship", args.ship), ("--preset", args.preset), ("--config", args.config),
                                        ("-nf", args.n_files), ("-s", args.snapshots_freq),
                                        ("--recipe original", args.recipe == "original"),
                                        ("torchrun", distributed.launched_by_torchrun())) if given]
    if refused:
        raise UserError(f"--from fine-tunes a checkpoint as it is; it cannot be combined with {', '.join(refused)}")
    if not args.midi_dir:
        raise UserError("--from needs --midi-dir DIR: the folder of your MIDI melodies to learn from")
    from composer_app.checkpoints import load_checkpoint
    from composer_app.training.config import toml_value

    start = load_checkpoint(args.from_checkpoint)
    if args.model_name and args.model_name != start.architecture:
        raise UserError(f"{args.from_checkpoint} holds a {start.architecture} model, not {args.model_name}; "
                        "fine-tuning keeps the architecture (leave out -m)")
    if args.live and start.kind != "live":
        raise UserError(f"{args.from_checkpoint} holds an {start.kind} model; fine-tuning keeps the kind "
                        "(leave out --live)")
    recipe = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set expects key=value, got {item!r}")
        recipe[key.strip()] = toml_value(value)
    minutes = FINETUNE_MINUTES if args.time_limit is None else args.time_limit
    if args.out:
        out = check_run_folder(args.out)
        if (out / "best.pt").exists():
            raise UserError(f"{out} already holds a tuned model (best.pt); choose another --out, or leave it out "
                            "for a fresh folder")
    else:  # a fresh folder: an earlier tuning's best.pt is never replaced
        out = check_run_folder(fresh_folder(Path(f"runs/finetune_{Path(args.from_checkpoint).stem}")))
    files = midi_files(args.midi_dir)
    print(f"fine-tuning {start.architecture} ({start.kind}) from {args.from_checkpoint} on {len(files)} MIDI files "
          f"in {args.midi_dir}, {minutes:g} CPU minutes")
    def run(progress, log):
        return finetune(args.from_checkpoint, files, minutes, out, progress=progress, device=args.device,
                        recipe=recipe, max_epochs=args.n_epochs or 1000, log=log)

    if on_terminal():
        with tqdm(total=1000, bar_format="{l_bar}{bar}| {elapsed}") as bar:
            def progress(p):
                bar.n = int(1000 * p.fraction)
                bar.set_description_str(p.message, refresh=False)
                bar.refresh()

            result = run(progress, tqdm.write)
    else:  # a log file or a pipe: plain lines, never a carriage-return bar
        lines = ProgressLines()
        result = run(lambda p: lines(p.fraction, p.message), print)
    b, a = result.before, result.after
    print(f"held-out files ({b.notes} notes): NLL {b.nll:.3f} -> {a.nll:.3f} nats/note, "
          f"accuracy {100 * b.accuracy:.1f} % -> {100 * a.accuracy:.1f} %"
          + ("" if a.nll < b.nll else " (no tuned epoch did better: best.pt keeps the starting weights)"))
    print(f"run folder: {out} (best.pt, card.md, curves.csv, curves.png); "
          f"compare on other melodies with `everybody-compose evaluate {out / 'best.pt'} FOLDER`")
    return 0


def check_run_folder(path) -> Path:
    """``path`` as a run folder this command can write, checked before minutes of reading and training: not a
    file, and in a folder (the nearest that exists) that is writable."""
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder for the run's files")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot make the run folder {out}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write the run folder {out}: {existing} is not writable")
    return out


def fresh_folder(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3`` ... : the first that holds no ``best.pt``."""
    candidate, n = path, 1
    while (candidate / "best.pt").exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate
