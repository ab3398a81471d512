"""Turning a training run's best checkpoint into a shipped model: half precision, test metrics, model card."""

from __future__ import annotations

import json
from pathlib import Path

from composer_app.checkpoints import CHECKPOINT_DIR, load_checkpoint, save_checkpoint
from composer_app.evaluation import score_model


def model_card(loaded, size_bytes: int) -> str:
    t, m = loaded.training, loaded.metrics
    cfg = t.get("config", {})
    params = sum(p.numel() for p in loaded.model.parameters())
    test = m.get("test", {})
    lines = [
        f"# {loaded.label}: `{loaded.architecture}`, {loaded.kind}",
        "",
        f"- **Kind**: {loaded.kind} — " + ("sees `(rest_i, dur_i)` of the whole rhythm (bidirectional encoder "
                                          "where the architecture has one); used for Recolour and `generate`."
                                          if loaded.kind == "offline" else
                                          "sees only `(rest_i, dur_{i-1})` at key-down, causal; used for live play."),
        f"- **Dimensions**: {json.dumps(loaded.model.config())}; {params:,} parameters; "
        f"{size_bytes / 1e6:.2f} MB on disk (float16 weights)",
        f"- **Features**: {json.dumps(loaded.features.to_dict())} (see `composer_app/beats.py`)",
        f"- **Data**: {json.dumps(t.get('data', {}))} — music21's folk collections ryansMammoth, essenFolksong, "
        "oneills1850, split 90/5/5 by tune (seed 0, duplicates on one side); built by `everybody-compose prepare`",
        f"- **Recipe**: `{t.get('recipe')}`; config {json.dumps(cfg)}",
        f"- **Training**: {t.get('epochs')} epochs, {t.get('steps')} steps, {t.get('seconds', 0) / 60:.1f} CPU min "
        f"on {t.get('device')}",
        f"- **Validation** (best epoch): {json.dumps(m.get('valid', {}))}",
        f"- **Test split**: {test.get('notes')} notes, NLL {test.get('nll', float('nan')):.3f} nats/note, "
        f"perplexity {test.get('perplexity', float('nan')):.2f}, accuracy {100 * test.get('accuracy', 0):.1f} %",
        f"- **Sampling**: {default_sampling_words()}",
        "",
        "Reproduce: `everybody-compose train -m {a}{live} --preset shipped -n 100 --time-limit {tl} --ship{extra}` "
        "(`--time-limit` is in CPU minutes; `scripts/train_shipped.sh` trains all six).".format(
            a=loaded.architecture, live=" --live" if loaded.kind == "live" else "",
            tl=round(t.get("seconds", 0) / 60), extra="".join(f" --set {k}" for k in cfg.get("overrides", []))),
        "",
    ]
    return "\n".join(lines)


def default_sampling_words() -> str:
    """The sampling this model plays with by default (the bundled ``default`` profile), in words."""
    from composer_app.sampling import settings_from_profile

    s = settings_from_profile("default")
    truncation = "no truncation" if s.top_k >= 128 and s.top_p >= 1 else f"top-k {s.top_k}, top-p {s.top_p}"
    return (f"profile `default` — temperature {s.temperature}, {truncation}, repeat decay {s.repeat_decay}, loop "
            f"guard {s.loop_guard} notes, runs of at most {s.max_run}; chosen by the two-sample test "
            "(`docs/what_it_plays.md`; rerun with `everybody-compose evaluate CHECKPOINT --split test --sample "
            "--profile all`)")


def ship(best_path, sources=("music21",), dest_dir: Path = CHECKPOINT_DIR) -> Path:
    from composer_app.data.corpus import load_melodies

    loaded = load_checkpoint(best_path)
    test = load_melodies("test", sources)
    scores = score_model(loaded, [m.notes for m in test])
    dest = Path(dest_dir) / f"{loaded.architecture}_{loaded.kind}.pt"
    metrics = {**loaded.metrics, "test": scores.as_dict()}
    save_checkpoint(dest, loaded.model, loaded.architecture, loaded.kind, loaded.features,
                    training=loaded.training, metrics=metrics, half=True)
    shipped = load_checkpoint(dest)
    card = dest.with_suffix(".md")
    card.write_text(model_card(shipped, dest.stat().st_size))
    return card
