"""Fill a gap, measured: blank the middle quarter of held-out melodies and compose it again.

    .venv/bin/python scripts/infill_eval.py heldout/miscFolk [--split test] [--melodies 200] [--models ...]

For each melody (at least 16 notes) the pitches of its middle quarter are blanked; the rhythm stays. Reported per
model, on the kept notes *after* the gap (mean NLL, nats per note, the same model scoring):
(a) after the true middle, (b) after a plain left-to-right sample of the middle (one line, the default profile),
(c) after the infill of `generate --only` (the default profile, candidates ranked by how likely they make the
notes after the gap). Also the two-sample test of the filled middles against the real ones and the share of
lines that loop by the end of the gap. Writes docs/infill.json with --out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from composer_app.checkpoints import default_checkpoint, load_checkpoint  # noqa: E402
from composer_app.commands.evaluate import load_inputs  # noqa: E402
from composer_app.infill import fixed_pitches, following_nll  # noqa: E402
from composer_app.melody_features import ends_in_loop, feature_matrix  # noqa: E402
from composer_app.sampling import generate, ranked_lines, settings_from_profile  # noqa: E402
from composer_app.two_sample import classifier_accuracy  # noqa: E402

MODELS = ("lstm_attn/offline", "vanilla_rnn/offline", "attention_rnn/offline", "lstm_attn/live")


def gap_of(n: int) -> tuple[int, int]:
    """The middle quarter of ``n`` notes: ``(first, end)``."""
    first = (3 * n) // 8
    return first, first + max(1, n // 4)


def measure(loaded, melodies, settings) -> dict:
    nll = {"true": [], "left_to_right": [], "infill": []}
    middles = {"true": [], "left_to_right": [], "infill": []}
    loops = {"left_to_right": 0, "infill": 0}
    for i, notes in enumerate(melodies):
        rests, durs = notes.rests_and_durations()
        pitches = notes.pitches
        first, end = gap_of(len(notes))
        change = np.zeros(len(notes), dtype=bool)
        change[first:end] = True
        fixed = fixed_pitches(pitches, change)
        lines = {"true": pitches,
                 "left_to_right": ranked_lines(loaded, rests, durs, settings, 1, i, fixed=fixed)[0],
                 "infill": generate(loaded, rests, durs, settings, seed=i, fixed=fixed)}
        for name, line in lines.items():
            assert np.array_equal(line[~change], pitches[~change])
            nll[name].append(following_nll(loaded, notes.with_pitches(line), end) * (len(notes) - end))
            middles[name].append(line[first:end])
            if name in loops:
                loops[name] += ends_in_loop(line[:end])
    counted = sum(len(m) - gap_of(len(m))[1] for m in melodies)
    real = feature_matrix([m for m in middles["true"]])
    out = {"melodies": len(melodies), "following_notes": counted}
    for name in nll:
        out[f"nll_after_{name}"] = float(np.sum(nll[name]) / counted)
    for name in loops:
        out[f"two_sample_{name}"] = classifier_accuracy(real, feature_matrix(middles[name]))
        out[f"loops_{name}"] = loops[name] / len(melodies)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", help="held-out MIDI folders")
    ap.add_argument("--split", default=None, help="also a split of the prepared corpus (test)")
    ap.add_argument("--melodies", type=int, default=200)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sets = {Path(f).name: load_inputs(None, [f])[0] for f in args.folders}
    if args.split:
        from composer_app.data.corpus import load_melodies

        sets[f"{args.split} split"] = [m.notes for m in load_melodies(args.split)]
    settings = settings_from_profile("default")
    results = {}
    for set_name, melodies in sets.items():
        melodies = [m for m in melodies if len(m) >= 16][: args.melodies]
        for spec in args.models:
            arch, kind = spec.split("/")
            r = measure(load_checkpoint(default_checkpoint(arch, kind)), melodies, settings)
            results[f"{set_name}/{spec}"] = r
            print(f"{set_name:12s} {spec:22s} NLL after: true {r['nll_after_true']:.3f}, left-to-right "
                  f"{r['nll_after_left_to_right']:.3f}, infill {r['nll_after_infill']:.3f} | two-sample "
                  f"{r['two_sample_left_to_right']:.3f} / {r['two_sample_infill']:.3f} | loops "
                  f"{r['loops_left_to_right']:.3f} / {r['loops_infill']:.3f}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
