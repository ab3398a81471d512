"""What the shipped models play, every profile, measured: the two-sample test and the loop share on the test
split and on held-out collections; writes docs/what_it_plays.json and the tables of docs/what_it_plays.md.

    .venv/bin/python scripts/what_it_plays.py [--melodies 500] [--heldout heldout/miscFolk ...]

Each figure is `everybody-compose evaluate CHECKPOINT --split test --sample --profile NAME` (or the held-out
folder instead of --split); the "before" rows are the profiles this project shipped before the two-sample test
(default: top-k 4, top-p 0.9, repeat decay 0.5; beam: hybrid beam search, 5 beams), for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from composer_app.checkpoints import default_checkpoint, load_checkpoint  # noqa: E402
from composer_app.commands.evaluate import load_inputs  # noqa: E402
from composer_app.data.corpus import load_melodies  # noqa: E402
from composer_app.musical_stats import compare_generated  # noqa: E402
from composer_app.sampling import SamplingSettings, load_profiles, settings_from_profile  # noqa: E402

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")
BEFORE = {
    "before: default": SamplingSettings(top_k=4, top_p=0.9, repeat_decay=0.5, loop_guard=0, max_run=0),
    "before: beam": SamplingSettings(strategy="beam", num_beams=5, beam_prob=0.5, top_k=4, top_p=0.9,
                                     repeat_decay=0.5, loop_guard=0, max_run=0),
}


def measure(melodies, n: int, log) -> dict:
    profiles = {name: settings_from_profile(name) for name in load_profiles()}
    profiles.update(BEFORE)
    out, floor = {}, None
    for arch in ARCHS:
        for kind in ("offline", "live"):
            loaded = load_checkpoint(default_checkpoint(arch, kind))
            for name, settings in profiles.items():
                t0 = time.time()
                r = compare_generated(loaded, melodies, profile=name, settings=settings, max_melodies=n,
                                      real_floor=floor)
                floor = r["real_vs_real"]
                out[f"{arch}_{kind}/{name}"] = r
                log(f"{arch}_{kind:8s} {name:16s} two-sample {r['two_sample']:.3f} (real {floor:.3f}) loop "
                    f"{r['generated']['loop']:.3f} distinct {r['generated']['distinct_pitches']:.1f} "
                    f"range {r['generated']['pitch_range']:.1f} ({time.time() - t0:.0f} s)")
    return out


def table(results: dict) -> list[str]:
    first = next(iter(results.values()))
    real = first["real"]
    lines = [f"real vs real (two halves): **{first['real_vs_real']:.3f}**; real melodies: range "
             f"{real['pitch_range']:.1f}, distinct pitches {real['distinct_pitches']:.1f}, same-pitch repeats "
             f"{real['same_pitch_repeats']:.3f}, 6-note repeats {real['repeated_6_note_patterns']:.3f}, longest run "
             f"{real['longest_run']:.2f}, loops {real['loop']:.3f}", "",
             "| model | profile | two-sample | loops | distinct | range | leaps > 4th | repeats | 6-note repeats "
             "| longest run |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, r in results.items():
        model, profile = key.split("/")
        g = r["generated"]
        lines.append(f"| {model} | {profile} | {r['two_sample']:.3f} | {100 * g['loop']:.1f} % | "
                     f"{g['distinct_pitches']:.1f} | {g['pitch_range']:.1f} | {g['leaps_over_fourth']:.3f} | "
                     f"{g['same_pitch_repeats']:.3f} | {g['repeated_6_note_patterns']:.3f} | {g['longest_run']:.2f} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--melodies", type=int, default=500, help="melodies per set (default 500)")
    ap.add_argument("--heldout", nargs="*", default=[str(ROOT / "heldout" / "miscFolk")],
                    help="held-out folders of MIDI files (scripts/heldout_melodies.py writes them)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "what_it_plays"), help="writes OUT.json and OUT.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sets = {"test split": [m.notes for m in load_melodies("test")]}
    for folder in args.heldout:
        sets[Path(folder).name] = load_inputs(None, [folder])[0]
    results, lines = {}, []
    for name, melodies in sets.items():
        print(f"== {name}", flush=True)
        results[name] = measure(melodies, args.melodies, lambda text: print(text, flush=True))
        lines += [f"### {name} ({min(len(melodies), args.melodies)} melodies)", "", *table(results[name]), ""]
    Path(args.out + ".json").write_text(json.dumps(results, indent=1, default=float))
    Path(args.out + ".tables.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}.json and {args.out}.tables.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
