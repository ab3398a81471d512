"""Score the shipped checkpoints, their `--recipe original` twins and the baselines on the test split and, when
its folder exists, on a held-out collection. Writes
docs/results.md (the README's tables) and docs/results.json; what the models play is measured by
scripts/what_it_plays.py (docs/what_it_plays.md).

Usage: .venv/bin/python scripts/make_results.py [--heldout DIR]

The held-out folder is written by `scripts/heldout_melodies.py miscFolk --out heldout/miscFolk` (the default
DIR): a music21 collection no training tune comes from, repeats as written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from composer_app.checkpoints import default_checkpoint, load_checkpoint  # noqa: E402
from composer_app.commands.evaluate import load_inputs  # noqa: E402
from composer_app.data.corpus import load_melodies  # noqa: E402
from composer_app.evaluation import baseline_scores, score, short_term_scores  # noqa: E402

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")
TABLE_HEAD = ["| model | notes | NLL | perplexity | accuracy | NLL mixed with short-term | training |",
              "| --- | --- | --- | --- | --- | --- | --- |"]


def fmt_row(name, s, mixed=None, extra=""):
    nll = "—" if s["nll"] != s["nll"] else f"{s['nll']:.3f}"
    ppl = "—" if s["perplexity"] != s["perplexity"] else f"{s['perplexity']:.2f}"
    mix = f"{mixed['nll']:.3f}" if mixed else "—"
    return f"| {name} | {s['notes']} | {nll} | {ppl} | {100 * s['accuracy']:.1f} % | {mix} | {extra} |"


def _training(loaded) -> str:
    t = loaded.training
    return f"{t.get('epochs')} epochs, {t.get('seconds', 0) / 60:.1f} CPU min"


def score_all(melodies, train) -> tuple[dict, list[str]]:
    """Every shipped model, each offline one's twin where its run is here, and the baselines on ``melodies``."""
    results: dict = {"models": {}, "twins": {}, "baselines": {}}
    rows = []
    for arch in ARCHS:
        for kind in ("offline", "live"):
            path = default_checkpoint(arch, kind)
            if not path.exists():
                continue
            loaded = load_checkpoint(path)
            scores = score(loaded, melodies, short_term=True)
            s, mixed = scores["model"].as_dict(), scores["with_short_term"].as_dict()
            t = loaded.training
            results["models"][f"{arch}_{kind}"] = {**s, "with_short_term": mixed,
                                                   "cpu_minutes": round(t.get("seconds", 0) / 60, 1),
                                                   "epochs": t.get("epochs")}
            rows.append(fmt_row(f"**{arch}** {kind} (shipped, ours)", s, mixed, _training(loaded)))
            twin = ROOT / "runs" / f"{arch}_offline_original" / "best.pt"
            if kind == "offline" and twin.exists():
                tl = load_checkpoint(twin)
                tscores = score(tl, melodies, short_term=True)
                ts, tmixed = tscores["model"].as_dict(), tscores["with_short_term"].as_dict()
                results["twins"][arch] = {**ts, "with_short_term": tmixed,
                                          "cpu_minutes": round(tl.training.get("seconds", 0) / 60, 1),
                                          "epochs": tl.training.get("epochs")}
                rows.append(fmt_row(f"{arch} offline, `--recipe original` twin", ts, tmixed, _training(tl)))
    short = short_term_scores(melodies).as_dict()
    results["baselines"]["short_term"] = short
    rows.append(fmt_row("baseline: short-term model (within the tune, untrained)", short))
    for name, s in baseline_scores(train, melodies).items():
        results["baselines"][name] = s.as_dict()
        rows.append(fmt_row(f"baseline: {name.replace('_', ' ')}", s.as_dict(), None, "fitted on the train split"))
    return results, rows


MIX_NOTE = ("'NLL mixed with short-term': the model's distribution mixed with the within-tune short-term model "
            "(`evaluate --baselines`), weight 0.5 x min(1, longest matched context / 3).")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heldout", type=Path, default=ROOT / "heldout" / "miscFolk",
                    help="folder of held-out MIDI melodies (scripts/heldout_melodies.py); skipped when missing")
    args = ap.parse_args()
    torch.set_num_threads(2)
    test = [m.notes for m in load_melodies("test", progress=False)]
    train = [m.notes for m in load_melodies("train", progress=False)]
    results, rows = score_all(test, train)
    lines = [
        "### Test split: likelihood and accuracy",
        "",
        f"{len(test)} tunes never used for training or validation (music21 folk collections, split by tune, "
        "seed 0). NLL is nats per note (lower is better); each tune is scored as one whole sequence. " + MIX_NOTE,
        "",
        *TABLE_HEAD,
        *rows,
        "",
    ]
    if args.heldout.is_dir():
        heldout, skipped = load_inputs(None, [args.heldout])
        held_results, held_rows = score_all(heldout, train)
        results["heldout"] = {"folder": args.heldout.name, "files": len(heldout), "skipped": skipped, **held_results}
        lines += [
            f"### Held-out collection: {args.heldout.name}",
            "",
            f"{len(heldout)} melodies of a music21 collection no training tune comes from, repeats as written "
            "(`scripts/heldout_melodies.py`), never trained or tuned on "
            f"(`everybody-compose evaluate CHECKPOINT {args.heldout.name}/ --baselines`).",
            "",
            *TABLE_HEAD,
            *held_rows,
            "",
        ]
    lines += ["### What the models play", "",
              "The two-sample test of generated against real melodies, every model and profile: "
              "`docs/what_it_plays.md` (written by `scripts/what_it_plays.py`).", ""]
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "results.md").write_text("\n".join(lines) + "\n")
    (ROOT / "docs" / "results.json").write_text(json.dumps(results, indent=1, default=float))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
