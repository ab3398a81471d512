"""``everybody-compose bench WHAT``: measurements (``live``: key-to-sound latency; ``step``, ``generate``: model cost).

Each benchmark lives in its own module with ``run(args) -> int`` and, optionally, ``add_arguments(parser)``;
:data:`BENCHMARKS` maps names to them. They are imported only when chosen, so ``--help`` stays instant and a
benchmark whose module is absent from this install is reported, not fatal.
"""

from __future__ import annotations

import argparse
import importlib

from composer_app.errors import UserError

NAME = "bench"
HELP = "Measure: live key-to-sound latency (live), per-beat model step (step), whole-melody generation (generate)."
ORDER = 60

#: name -> ("module:function", one-line help)
BENCHMARKS = {
    "live": ("composer_app.bench.live:run",
             "key-to-sound latency of the whole live path on a paced JACK dummy device"),
    "step": ("composer_app.bench.step:run", "per-beat model step time of each live model"),
    "generate": ("composer_app.bench.generate:run", "whole-melody generation time (stochastic and beam search)"),
}


def add_arguments(p) -> None:
    p.add_argument("what", choices=list(BENCHMARKS), metavar="WHAT",
                   help="; ".join(f"{k}: {v[1]}" for k, v in BENCHMARKS.items()))
    p.add_argument("options", nargs=argparse.REMAINDER,
                   help="the benchmark's own options (see `everybody-compose bench WHAT --help`)")


def load_benchmark(name: str):
    target, _ = BENCHMARKS[name]
    module_name, func = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UserError(f"the '{name}' benchmark is not part of this installation ({module_name} missing)") from None
        raise
    return module, getattr(module, func)


def sub_parser(name: str, module) -> argparse.ArgumentParser:
    """The parser of ``bench NAME``: ``--json`` for all, plus the module's ``add_arguments``."""
    parser = argparse.ArgumentParser(prog=f"everybody-compose bench {name}", description=BENCHMARKS[name][1],
                                     conflict_handler="resolve")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    return parser


def run(args) -> int:
    module, func = load_benchmark(args.what)
    sub_args = sub_parser(args.what, module).parse_args(args.options)
    return int(func(sub_args) or 0)
