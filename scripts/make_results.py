"""Score the shipped checkpoints, their `--recipe original` twins and the trivial predictors on the test split,
plus musical statistics of generated melodies; write docs/results.md (the README's tables) and results.json.

Usage: .venv/bin/python scripts/make_results.py [--sample-melodies N]
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
from composer_app.data.corpus import load_melodies  # noqa: E402
from composer_app.evaluation import baseline_scores, score_model  # noqa: E402
from composer_app.musical_stats import STATS, compare_generated  # noqa: E402

ARCHS = ("vanilla_rnn", "lstm_attn", "attention_rnn")


def fmt_row(name, s, extra=""):
    nll = "—" if s["nll"] != s["nll"] else f"{s['nll']:.3f}"
    ppl = "—" if s["perplexity"] != s["perplexity"] else f"{s['perplexity']:.2f}"
    return f"| {name} | {s['notes']} | {nll} | {ppl} | {100 * s['accuracy']:.1f} % | {extra} |"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample-melodies", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(2)
    test = [m.notes for m in load_melodies("test", progress=False)]
    train = [m.notes for m in load_melodies("train", progress=False)]
    results: dict = {"models": {}, "twins": {}, "baselines": {}, "musical": {}}
    rows = []
    for arch in ARCHS:
        for kind in ("offline", "live"):
            path = default_checkpoint(arch, kind)
            if not path.exists():
                continue
            loaded = load_checkpoint(path)
            s = score_model(loaded, test).as_dict()
            t = loaded.training
            results["models"][f"{arch}_{kind}"] = {**s, "cpu_minutes": round(t.get("seconds", 0) / 60, 1),
                                                   "epochs": t.get("epochs")}
            rows.append(fmt_row(f"**{arch}** {kind} (shipped, ours)", s,
                                f"{t.get('epochs')} epochs, {t.get('seconds', 0) / 60:.1f} CPU min"))
            if kind == "offline":
                twin = ROOT / "runs" / f"{arch}_offline_original" / "best.pt"
                if twin.exists():
                    tl = load_checkpoint(twin)
                    ts = score_model(tl, test).as_dict()
                    results["twins"][arch] = {**ts, "cpu_minutes": round(tl.training.get("seconds", 0) / 60, 1),
                                              "epochs": tl.training.get("epochs")}
                    rows.append(fmt_row(f"{arch} offline, `--recipe original` twin", ts,
                                        f"{tl.training.get('epochs')} epochs, "
                                        f"{tl.training.get('seconds', 0) / 60:.1f} CPU min"))
            sample = compare_generated(loaded, test, profile="default", seed=0, max_melodies=args.sample_melodies)
            results["musical"][f"{arch}_{kind}"] = sample
    for name, s in baseline_scores(train, test).items():
        results["baselines"][name] = s.as_dict()
        rows.append(fmt_row(f"baseline: {name.replace('_', ' ')}", s.as_dict(), "fitted on the train split"))
    lines = [
        "### Test split: likelihood and accuracy",
        "",
        f"{len(test)} tunes never used for training or validation (music21 folk collections, split by tune, "
        "seed 0). NLL is nats per note (lower is better); each tune is scored as one whole sequence.",
        "",
        "| model | notes | NLL | perplexity | accuracy | training |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "### Musical statistics of generated melodies",
        "",
        f"For the rhythms of the first {args.sample_melodies} test tunes, profile `default`, seed 0 "
        "(`everybody-compose evaluate CHECKPOINT --split test --sample`); 'real' is the actual tunes.",
        "",
        "| model | " + " | ".join(STATS) + " |",
        "| --- | " + " | ".join("---" for _ in STATS) + " |",
    ]
    real = None
    for key, sample in results["musical"].items():
        lines.append(f"| {key} | " + " | ".join(f"{sample['generated'][k]:.2f}" for k in STATS) + " |")
        real = sample["real"]
    if real:
        lines.append("| *real tunes* | " + " | ".join(f"{real[k]:.2f}" for k in STATS) + " |")
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "results.md").write_text("\n".join(lines) + "\n")
    (ROOT / "docs" / "results.json").write_text(json.dumps(results, indent=1, default=float))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
