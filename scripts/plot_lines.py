"""Draw a real tune and what a shipped model plays for its rhythm (before and now), one above the other:
docs/what_it_plays.png, the picture of docs/what_it_plays.md.

    .venv/bin/python scripts/plot_lines.py heldout/miscFolk/SOME_TUNE.mid [--model lstm_attn] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from what_it_plays import BEFORE  # noqa: E402  (the profiles shipped before, measured beside today's)

from composer_app.checkpoints import default_checkpoint, load_checkpoint  # noqa: E402
from composer_app.data.melody import melody_from_midi  # noqa: E402
from composer_app.sampling import generate, settings_from_profile  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tune")
    ap.add_argument("--model", default="lstm_attn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "docs" / "what_it_plays.png"))
    args = ap.parse_args()
    notes = melody_from_midi(args.tune)
    rests, durs = notes.rests_and_durations()
    loaded = load_checkpoint(default_checkpoint(args.model, "offline"))
    lines = {"real tune": notes.pitches,
             "before: default (top-k 4, top-p 0.9, repeat decay 0.5)": generate(
                 loaded, rests, durs, BEFORE["before: default"], seed=args.seed),
             "before: beam search": generate(loaded, rests, durs, BEFORE["before: beam"], seed=args.seed),
             "now: default": generate(loaded, rests, durs, settings_from_profile("default"), seed=args.seed),
             "now: beam (likeliest of 4 lines)": generate(loaded, rests, durs, settings_from_profile("beam"),
                                                          seed=args.seed)}
    fig, axes = plt.subplots(len(lines), 1, figsize=(11, 1.6 * len(lines)), sharex=True, sharey=True)
    for ax, (name, pitches) in zip(axes, lines.items(), strict=True):
        for start, end, pitch in zip(notes.starts, notes.ends, pitches, strict=True):
            ax.plot([start, end], [pitch, pitch], lw=4, solid_capstyle="butt",
                    color="#444" if name == "real tune" else "#2a7ab0")
        ax.set_title(f"{name}: {len(set(pitches.tolist()))} pitches, range {pitches.max() - pitches.min()}",
                     fontsize=9, loc="left")
        ax.set_ylabel("MIDI")
    axes[-1].set_xlabel(f"seconds — rhythm of {Path(args.tune).name}, offline {args.model}, seed {args.seed}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
