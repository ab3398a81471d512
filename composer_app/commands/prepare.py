"""``everybody-compose prepare``: parse the training melodies once and cache them.

Training reads melodies from a cache in the user's cache folder; this command builds it ahead of time
(training would otherwise build it on first use) and reports what went in: tunes and notes per split,
what was skipped and why, where the cache is, and how long it took.
"""

from __future__ import annotations

import argparse

NAME = "prepare"
HELP = "Parse the training melodies (music21 folk tunes, your MIDI) into the cache and report counts."
ORDER = 20


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--midi-dir",
        metavar="DIR",
        action="append",
        default=[],
        help="also use every .mid/.midi file under DIR (repeatable)",
    )
    parser.add_argument(
        "--maestro-zip",
        metavar="PATH",
        action="append",
        default=[],
        help="also use the MIDI files inside a zip such as MAESTRO's (read in place; repeatable)",
    )
    parser.add_argument(
        "--no-music21",
        action="store_true",
        help="leave out the music21 folk collections (ryansMammoth, essenFolksong, oneills1850)",
    )
    parser.add_argument("--jobs", type=_positive_int, default=2, help="parallel parser processes (default 2)")
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="only the first N files of each collection, folder or zip (quick runs)",
    )
    parser.add_argument("--force", action="store_true", help="parse again even if a cache exists")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the train/valid/test split to report (default 0)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from composer_app.data.corpus import prepare
    from composer_app.errors import UserError

    sources = [] if args.no_music21 else ["music21"]
    sources += [f"midi:{d}" for d in args.midi_dir]
    sources += [f"maestro:{z}" for z in args.maestro_zip]
    if not sources:
        raise UserError("nothing to prepare: --no-music21 needs --midi-dir or --maestro-zip")
    summary = prepare(
        sources,
        jobs=args.jobs,
        limit=args.limit,
        force=args.force,
        progress=not args.no_progress,
        seed=args.seed,
    )
    print("\n".join(summary.lines()), flush=True)
    return 0
