"""Write a held-out music21 collection as a folder of monophonic MIDI files, for `everybody-compose evaluate`.

    .venv/bin/python scripts/heldout_melodies.py miscFolk --out heldout/miscFolk
    .venv/bin/python scripts/heldout_melodies.py palestrina --out heldout/palestrina_tune \\
        --eval-out heldout/palestrina_eval --tune-share 0.5 --seed 0

No training run reads these collections (see composer_app/data/heldout.py). Repeats are kept as written, not
expanded. With --eval-out the melodies are split by piece group (a Palestrina mass title; a folk tune) into a
fine-tuning folder (--out) and an evaluation folder (--eval-out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from composer_app.data.heldout import COLLECTIONS, export  # noqa: E402
from composer_app.errors import UserError  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("collection", choices=COLLECTIONS)
    ap.add_argument("--out", required=True, help="folder for the MIDI files (the fine-tuning side with --eval-out)")
    ap.add_argument("--eval-out", default=None, help="split by piece: the evaluation side goes here")
    ap.add_argument("--tune-share", type=float, default=0.5, help="share of the pieces in --out when splitting")
    ap.add_argument("--seed", type=int, default=0, help="seed of the split")
    ap.add_argument("--limit", type=int, default=None, help="only the first N tunes or files (a quick look)")
    args = ap.parse_args(argv)
    if args.eval_out and not 0 < args.tune_share < 1:
        ap.error("--tune-share must be between 0 and 1")
    try:
        summary = export(args.collection, args.out, eval_out=args.eval_out, tune_share=args.tune_share,
                         seed=args.seed, limit=args.limit)
    except UserError as exc:
        print(f"heldout_melodies: error: {exc}", file=sys.stderr)
        return 2
    for folder, count in summary["written"].items():
        print(f"{count} MIDI files in {folder}")
    if summary["duplicates"]:
        print(f"{len(summary['duplicates'])} duplicate melodies written once: " + "; ".join(summary["duplicates"]))
    by_reason: dict[str, list[str]] = {}
    for item, reason in summary["skipped"]:
        by_reason.setdefault(reason, []).append(item)
    for reason, items in by_reason.items():
        print(f"left out {len(items)} ({reason}): " + ", ".join(items[:5]) + (" ..." if len(items) > 5 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
