"""Scoring one very long melody stays in bounded memory, even with the offline attention_rnn whose whole-sequence
forward attends over every beat at every step (it grew past 4 GB on 5,000 notes before scoring went per beat)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Peak resident memory is per process, so the measurement runs in a fresh one.
MEASURE = """
import resource
import numpy as np, torch
from composer_app.checkpoints import default_checkpoint, load_checkpoint
from composer_app.evaluation import score_model
from composer_app.notes import Notes

torch.set_num_threads(1)
rng = np.random.default_rng(0)
starts = np.cumsum(rng.choice([0.25, 0.5], 5000))
melody = Notes(starts, starts + 0.2, 60 + rng.integers(0, 12, 5000))
loaded = load_checkpoint(default_checkpoint("attention_rnn", "offline"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scores = score_model(loaded, [melody])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(scores.notes, (after - before) / 1024)
"""


@pytest.mark.slow
@pytest.mark.timeout(1200)  # about 1.5 minutes on an idle machine; much longer beside training runs
def test_a_5000_note_melody_scores_in_bounded_memory():
    out = subprocess.run([sys.executable, "-c", MEASURE], cwd=ROOT, capture_output=True, text=True, timeout=1100)
    assert out.returncode == 0, out.stderr
    notes, growth_mb = out.stdout.split()
    assert int(notes) == 5000
    assert float(growth_mb) < 1024, f"peak memory grew by {growth_mb} MB"
