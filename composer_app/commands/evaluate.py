"""``everybody-compose evaluate``: score a model on melodies (MIDI files or folders)."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "evaluate"
HELP = "Score a checkpoint on MIDI melodies: NLL per note, perplexity, next-note accuracy."
ORDER = 40


def add_arguments(p) -> None:
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="checkpoint file (ours or the original's); default: the shipped offline lstm_attn")
    p.add_argument("paths", nargs="*", help="MIDI files or folders (each file is one sequence)")
    p.add_argument("--model-name", choices=["vanilla_rnn", "lstm_attn", "attention_rnn"], default=None,
                   help="architecture of an original-format checkpoint (inferred when omitted)")
    p.add_argument("--split", choices=["train", "valid", "test"], default=None,
                   help="score on a split of the prepared folk corpus instead of PATHs")
    p.add_argument("--baselines", action="store_true",
                   help="also score the trivial predictors (repeat, most frequent, bigram), fitted on the train split")
    p.add_argument("--sample", action="store_true",
                   help="also generate melodies for the same rhythms and compare musical statistics")
    p.add_argument("--profile", default="default", help="sampling profile for --sample (default 'default')")
    p.add_argument("--seed", type=int, default=0, help="random seed for --sample")
    p.add_argument("--as-generated", choices=["exact", "int8"], default=None,
                   help="score through the per-beat path generation decodes with instead of the whole-sequence "
                        "forward: 'int8' as `generate` runs by default, 'exact' as with --exact")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def find_midi_files(paths) -> list[Path]:
    from composer_app.errors import UserError

    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".mid", ".midi")))
        elif p.exists():
            files.append(p)
        else:
            raise UserError(f"no such file or folder: {p}")
    if not files:
        raise UserError("no MIDI files found in " + ", ".join(map(str, paths)))
    return files


def load_inputs(args) -> tuple[list, list[str]]:
    """Melodies to score and the names of any files that could not be read (skipped, not fatal)."""
    from composer_app.data.melody import melody_from_midi
    from composer_app.errors import UserError

    if args.split:
        from composer_app.data.corpus import load_melodies

        return [m.notes for m in load_melodies(args.split)], []
    if not args.paths:
        raise UserError("give MIDI files or folders to score, or --split test")
    melodies, skipped = [], []
    for f in find_midi_files(args.paths):
        try:
            melodies.append(melody_from_midi(f))
        except UserError as exc:
            skipped.append(f"{f}: {exc}")
    if not melodies:
        raise UserError("none of the files could be read:\n  " + "\n  ".join(skipped))
    return melodies, skipped


def run(args) -> int:
    from composer_app.checkpoints import default_checkpoint, load_checkpoint
    from composer_app.cli import checkpoint_before_data
    from composer_app.evaluation import baseline_scores, score_model, score_sessions

    checkpoint_before_data(args)
    ckpt = args.checkpoint or default_checkpoint("lstm_attn")
    loaded = load_checkpoint(ckpt, architecture=args.model_name)
    melodies, skipped = load_inputs(args)
    if args.as_generated:
        scores = score_sessions(loaded, melodies, int8=args.as_generated == "int8")
    else:
        scores = score_model(loaded, melodies)
    scored_as = f"per beat, {args.as_generated}" if args.as_generated else "whole sequence"
    result = {"checkpoint": str(ckpt), "architecture": loaded.architecture, "kind": loaded.kind,
              "files": len(melodies), "scored_as": scored_as, **scores.as_dict()}
    if skipped:
        result["skipped"] = skipped
    if args.baselines:
        from composer_app.data.corpus import load_melodies

        train = [m.notes for m in load_melodies("train")]
        result["baselines"] = {k: v.as_dict() for k, v in baseline_scores(train, melodies).items()}
    if args.sample:
        from composer_app.musical_stats import compare_generated

        result["sample"] = compare_generated(loaded, melodies, profile=args.profile, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=None, default=float))
        return 0
    print(f"{loaded.label} from {ckpt}")
    print(f"  files {len(melodies)}  notes {scores.notes}  scored {scored_as}")
    print(f"  NLL {scores.nll:.4f} nats/note  perplexity {scores.perplexity:.3f}  accuracy {100 * scores.accuracy:.2f} %")
    for line in skipped:
        print(f"  skipped {line}")
    for name, s in result.get("baselines", {}).items():
        print(f"  baseline {name:14s} NLL {s['nll']:.4f}  accuracy {100 * s['accuracy']:.2f} %")
    if "sample" in result:
        from composer_app.musical_stats import format_comparison

        print(format_comparison(result["sample"]))
    return 0
