"""The one command-line entry point, ``everybody-compose``, with subcommands.

Each subcommand lives in its own module under :mod:`composer_app.commands` and is found by discovery, so a
new command never needs an edit here. A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. Heavy imports (torch, Qt) belong inside ``run`` so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from composer_app import __version__, commands
from composer_app.errors import UserError

DEFAULT_COMMAND = "run"


def _command_modules():
    found = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        found.append(module)
    return sorted(found, key=lambda m: getattr(m, "ORDER", 50))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="everybody-compose",
        description="Turn rhythm into melody. Without a subcommand, starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        cmd = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run, command=module.NAME)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The subcommand's arguments, options anywhere among its positionals (``evaluate CKPT --json FILE``).

    The subcommand's own parser reads its arguments, so a mistake prints that command's usage, not the
    top-level one. Commands that pass the rest of the line on (``bench WHAT ...``) are parsed as written.
    """
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = [DEFAULT_COMMAND, *argv]
    command = subcommands(parser).get(argv[0])
    if command is None:  # -h, --version, or an unknown command: the top-level parser says what there is
        return parser.parse_args(argv)
    passes_rest_on = any(a.nargs in (argparse.REMAINDER, argparse.PARSER) for a in command._actions
                         if not a.option_strings)
    return command.parse_args(argv[1:]) if passes_rest_on else command.parse_intermixed_args(argv[1:])


MIDI_SUFFIXES = (".mid", ".midi")


def is_midi_data(path) -> bool:
    """Whether a command-line path is MIDI data (a ``.mid``/``.midi`` file, a folder, or a file that starts
    like a MIDI file) rather than a model checkpoint."""
    p = Path(path)
    if p.suffix.lower() in MIDI_SUFFIXES or p.is_dir():
        return True
    if not p.is_file():  # opening a pipe would wait for a writer forever
        return False
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"MThd"
    except OSError:
        return False


def checkpoint_before_data(args, checkpoint: str = "checkpoint", data: str = "paths") -> None:
    """For ``COMMAND [CHECKPOINT] [PATH ...]``: when the first positional is MIDI data, not a checkpoint, it
    joins the data and the checkpoint is left to the command's default (``evaluate tune.mid``)."""
    first = getattr(args, checkpoint)
    if first is not None and is_midi_data(first):
        setattr(args, data, [first, *getattr(args, data)])
        setattr(args, checkpoint, None)


#: Random seeds NumPy and torch both take: a non-negative whole number below 2**63.
MAX_SEED = 2**63 - 1


def check_seed(args) -> None:
    """Every command's ``--seed``, checked once here: NumPy raises a bare ValueError for -1 deep in generation."""
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed must be a whole number from 0 to 2**63 - 1, not {seed if abs(seed) < 10**20 else '…'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        check_seed(args)
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"everybody-compose {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
