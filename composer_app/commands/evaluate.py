"""``everybody-compose evaluate``: score checkpoints on melodies (MIDI files or folders), side by side."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "evaluate"
HELP = "Score checkpoints on MIDI melodies: NLL per note, perplexity, next-note accuracy, side by side."
ORDER = 40
#: A positional argument with one of these suffixes is a checkpoint.
CHECKPOINT_SUFFIXES = (".pt", ".pth")


def add_arguments(p) -> None:
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="checkpoint file (ours or the original's); default: the shipped offline lstm_attn")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="MIDI files or folders (each file is one sequence), and further checkpoints (.pt/.pth) "
                        "to score on the same melodies, side by side")
    p.add_argument("--model-name", choices=["vanilla_rnn", "lstm_attn", "attention_rnn"], default=None,
                   help="architecture of an original-format checkpoint (inferred when omitted)")
    p.add_argument("--split", choices=["train", "valid", "test"], default=None,
                   help="score on a split of the prepared folk corpus instead of MIDI files")
    p.add_argument("--baselines", action="store_true",
                   help="also score the within-tune short-term model alone and mixed into each checkpoint, and "
                        "the trivial predictors (repeat, most frequent, unigram, bigram) fitted on the train split")
    p.add_argument("--sample", action="store_true",
                   help="also generate a melody for each real one's rhythm and test what the model plays: how "
                        "often a classifier tells generated from real (0.5 = cannot tell; two halves of the "
                        "real set beside it), loops, range, repeats")
    p.add_argument("--profile", default="default",
                   help="sampling profiles for --sample, comma-separated, or 'all' (default 'default')")
    p.add_argument("--sample-melodies", type=int, default=500, metavar="N",
                   help="--sample uses the first N melodies (default 500)")
    p.add_argument("--seed", type=int, default=0, help="random seed for --sample")
    p.add_argument("--as-generated", action="store_true",
                   help="score through the per-beat path generation decodes with instead of the whole-sequence "
                        "forward (the same numbers to 1e-5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def is_checkpoint(arg: str) -> bool:
    """A positional is a checkpoint when it ends in .pt/.pth, or is an existing file that is not MIDI data;
    MIDI files, folders and paths that do not exist (reported as missing data) are data."""
    from composer_app.cli import is_midi_data

    path = Path(arg)
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return True
    return path.exists() and not is_midi_data(path)


def split_inputs(inputs) -> tuple[list[str], list[str]]:
    """``(checkpoints, data paths)``, each in the order given."""
    return [a for a in inputs if is_checkpoint(a)], [a for a in inputs if not is_checkpoint(a)]


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


def load_inputs(split: str | None, paths) -> tuple[list, list[str]]:
    """Melodies to score and the names of any files that could not be read (skipped, not fatal)."""
    from composer_app.data.melody import melody_from_midi
    from composer_app.errors import UserError

    if split:
        if paths:
            raise UserError("give MIDI files or folders, or --split, not both")
        from composer_app.data.corpus import load_melodies

        return [m.notes for m in load_melodies(split)], []
    if not paths:
        raise UserError("give MIDI files or folders to score, or --split test")
    melodies, skipped = [], []
    for f in find_midi_files(paths):
        try:
            melodies.append(melody_from_midi(f))
        except UserError as exc:
            skipped.append(f"{f}: {exc}")
    if not melodies:
        raise UserError("none of the files could be read:\n  " + "\n  ".join(skipped))
    return melodies, skipped


def score_checkpoint(loaded, args, melodies, profiles=(), real_floor: float | None = None) -> dict:
    """One checkpoint's scores (and, as asked, its mix with the short-term model and, for each of ``profiles``,
    what it plays; ``real_floor``: the real-vs-real figure of these melodies when already known)."""
    from composer_app.evaluation import score

    scores = score(loaded, melodies, as_generated=args.as_generated, short_term=args.baselines)
    entry = {"checkpoint": loaded.path, "architecture": loaded.architecture, "kind": loaded.kind,
             "label": loaded.label, **scores["model"].as_dict()}
    if args.baselines:
        entry["with_short_term"] = scores["with_short_term"].as_dict()
    if args.sample:
        from composer_app.musical_stats import compare_generated

        entry["sample"] = []
        for name in profiles:
            entry["sample"].append(compare_generated(loaded, melodies, profile=name, seed=args.seed,
                                                     max_melodies=args.sample_melodies, real_floor=real_floor))
            real_floor = entry["sample"][-1]["real_vs_real"]  # the same real melodies for every profile
    return entry


def profiles_to_sample(spec: str) -> list[str]:
    """The profile names of ``--profile`` (comma-separated, or 'all'), each checked to exist."""
    from composer_app.errors import UserError
    from composer_app.sampling import read_profiles

    found = read_profiles()
    names = list(found.profiles) if spec.strip() == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    for name in names:
        if name not in found.profiles:
            raise UserError(found.problems.get(name)
                            or f"no sampling profile {name!r}; available: {', '.join(found.profiles)}")
    if not names:
        raise UserError("--profile names no profile")
    return names


def model_free_baselines(melodies) -> dict:
    """The short-term model alone, and the trivial predictors fitted on the train split."""
    from composer_app.data.corpus import load_melodies
    from composer_app.evaluation import baseline_scores, short_term_scores

    out = {"short_term": short_term_scores(melodies).as_dict()}
    train = [m.notes for m in load_melodies("train")]
    out.update({k: v.as_dict() for k, v in baseline_scores(train, melodies).items()})
    return out


def run(args) -> int:
    from composer_app.checkpoints import default_checkpoint, load_checkpoint

    given = [args.checkpoint] if args.checkpoint is not None else []
    checkpoints, paths = split_inputs([*given, *args.paths])
    checkpoints = checkpoints or [str(default_checkpoint("lstm_attn"))]
    if args.sample_melodies < 10:
        from composer_app.errors import UserError

        raise UserError("--sample-melodies must be at least 10 (the two-sample test needs a few on each side)")
    profiles = profiles_to_sample(args.profile) if args.sample else []
    loaded = [load_checkpoint(path, architecture=args.model_name) for path in checkpoints]  # a bad one stops early
    melodies, skipped = load_inputs(args.split, paths)
    entries, real_floor = [], None
    for model in loaded:  # the real-vs-real figure is the same for every model: computed once
        entries.append(score_checkpoint(model, args, melodies, profiles, real_floor))
        real_floor = entries[-1]["sample"][0]["real_vs_real"] if profiles else None
    scored_as = "per beat" if args.as_generated else "whole sequence"
    first = entries[0]
    # The first checkpoint's results at the top level, as when evaluate took one checkpoint; all under "models".
    result = {"checkpoint": first["checkpoint"], "architecture": first["architecture"], "kind": first["kind"],
              "files": len(melodies), "scored_as": scored_as,
              **{k: first[k] for k in ("notes", "nll", "perplexity", "accuracy")}}
    if skipped:
        result["skipped"] = skipped
    if args.baselines:
        result["baselines"] = {**model_free_baselines(melodies), "with_short_term": first["with_short_term"]}
    if args.sample:
        result["sample"] = first["sample"]
    result["models"] = entries
    if args.json:
        print(json.dumps(result, indent=None, default=float))
    else:
        print(format_report(result))
    return 0


def _nll(s: dict) -> str:
    return "—" if s["nll"] != s["nll"] else f"{s['nll']:.4f}"


def format_report(result: dict) -> str:
    """The results as a table: one row per checkpoint, then the model-free baselines."""
    from composer_app.musical_stats import format_comparison

    entries = result["models"]
    mixed = "with_short_term" in entries[0]
    names = [f"{e['label']}: {Path(e['checkpoint']).name}" for e in entries]
    width = max(26, *map(len, names))
    lines = [f"{result['files']} files, {result['notes']} notes, scored {result['scored_as']}"]
    header = f"  {'model':{width}s} {'NLL':>8s} {'perplexity':>10s} {'accuracy':>9s}"
    lines.append(header + (f" {'+short-term NLL':>16s} {'accuracy':>9s}" if mixed else ""))
    for name, e in zip(names, entries, strict=True):
        row = f"  {name:{width}s} {_nll(e):>8s} {e['perplexity']:10.3f} {100 * e['accuracy']:8.2f}%"
        if mixed:
            m = e["with_short_term"]
            row += f" {_nll(m):>16s} {100 * m['accuracy']:8.2f}%"
        lines.append(row)
    for name, s in result.get("baselines", {}).items():
        if name == "with_short_term":
            continue
        lines.append(f"  {'baseline: ' + name.replace('_', ' '):{width}s} {_nll(s):>8s} {'':10s} "
                     f"{100 * s['accuracy']:8.2f}%")
    for line in result.get("skipped", []):
        lines.append(f"  skipped {line}")
    for name, e in zip(names, entries, strict=True):
        for sample in e.get("sample", []):
            lines.append(f"  {name}")
            lines.append(format_comparison(sample))
    return "\n".join(lines)
