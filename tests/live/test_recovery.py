"""Takes on disk: the journal survives kill -9, crashed takes are found, corrupt files give clear errors, and the
take files written so far still load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from composer_app.errors import UserError
from composer_app.live.journal import TakeJournal
from composer_app.live.recovery import dismiss_recoverable, find_recoverable_takes, load_take
from composer_app.take import FORMAT, Take, TakeNote, save_take

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "takes"
MS = 1_000_000


def journal_with(folder, n_notes=3, close=True) -> Path:
    """A journal of ``n_notes``; ``close=False`` leaves it as a crash would (no closed line, lock released)."""
    j = TakeJournal(folder, {"model": {"architecture": "vanilla_rnn"}, "settings": {"top_k": 4}, "program": 5})
    for i in range(n_notes):
        j.write({"type": "on", "i": i, "t": i * 300 * MS, "pitch": 60 + i, "vel": 90, "rest": 0.1, "prev_dur": 0.2,
                 "src": "key:z"})
        j.write({"type": "off", "i": i, "t": i * 300 * MS + 150 * MS})
    j.close(n_notes * 0.3)
    assert j.wait_closed()
    if not close:  # as the process had died before its last line: no closed line, no lock held
        lines = j.path.read_text().splitlines(keepends=True)
        j.path.write_text("".join(line for line in lines if '"closed"' not in line))
    return j.path


def test_journal_round_trip(tmp_path):
    path = journal_with(tmp_path)
    take = load_take(path)
    assert take.closed and len(take) == 3 and take.header["format"] == FORMAT
    assert take.header["model"]["architecture"] == "vanilla_rnn" and take.header["settings"]["top_k"] == 4
    np.testing.assert_allclose(take.to_melody().rows(), [[0, 0.15, 60], [0.3, 0.45, 61], [0.6, 0.75, 62]])
    assert take.velocities().tolist() == [90, 90, 90]
    assert find_recoverable_takes(tmp_path) == []


def test_no_notes_no_file(tmp_path):
    j = TakeJournal(tmp_path / "takes", {})
    j.close(0.0)
    assert j.path is None and not (tmp_path / "takes").exists()


def test_unclosed_journal_is_recoverable_and_truncated_line_tolerated(tmp_path):
    path = journal_with(tmp_path, close=False)
    with open(path, "a") as f:
        f.write('{"type":"on","i":3,"t":9')  # the write a crash cut short
    assert find_recoverable_takes(tmp_path) == [path]
    take = load_take(path)
    assert not take.closed and len(take) == 3
    dismiss_recoverable(path)
    take = load_take(path)  # the cut line was dropped so the marker is a line of its own
    assert take.closed and len(take) == 3


def test_note_held_at_crash_ends_at_last_event(tmp_path):
    path = tmp_path / "take-x.jsonl"
    lines = [{"type": "header", "format": FORMAT}, {"type": "on", "i": 0, "t": 0, "pitch": 60},
             {"type": "off", "i": 0, "t": 100}, {"type": "on", "i": 1, "t": 200 * MS, "pitch": 62},
             {"type": "settings", "t": 500 * MS, "program": 40}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    take = load_take(path)
    assert take.notes[1].end == 0.5 and take.header["program"] == 40


def test_a_damaged_line_is_skipped_and_every_good_event_kept(tmp_path):
    path = journal_with(tmp_path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:10] + "###"  # the first note's "off"
    path.write_text("\n".join(lines) + "\n")
    take = load_take(path)
    assert [n.pitch for n in take.notes] == [60, 61, 62] and take.closed
    assert take.warnings == ["line 3 is not a take event and was skipped"]


@pytest.mark.parametrize("content", ["", "hello", "[1, 2]", '{"header": {"format": "something else"}}'])
def test_not_a_take(tmp_path, content):
    path = tmp_path / "x.ectake"
    path.write_text(content)
    with pytest.raises(UserError, match="not .*take"):
        load_take(path)


def test_newer_format_and_missing_file(tmp_path):
    path = tmp_path / "new.ectake"
    path.write_text(json.dumps({"header": {"format": "everybody-compose-take/9"}, "notes": []}))
    with pytest.raises(UserError, match="newer version"):
        load_take(path)
    with pytest.raises(UserError, match="no such take"):
        load_take(tmp_path / "missing.ectake")


def test_save_and_open_user_take(tmp_path):
    take = Take({"format": FORMAT, "model": {"architecture": "lstm_attn"}, "program": 3},
                [TakeNote(0, 0.1, 64, 70, 0.4, 0.1, 0.0, "midi:64")])
    path = save_take(take, tmp_path / "mine")
    assert path.suffix == ".ectake" and not list(tmp_path.glob("*.part"))
    back = load_take(path)
    assert back.header["model"]["architecture"] == "lstm_attn"
    assert back.notes == take.notes
    np.testing.assert_allclose(back.to_melody().rows(), [[0.1, 0.4, 64]])
    with pytest.raises(UserError, match="does not exist"):
        save_take(take, tmp_path / "no" / "such" / "dir.ectake")


CHILD = textwrap.dedent("""
    import sys, time
    from composer_app.live.engine import LiveEngine
    sys.path.insert(0, "tests")
    from conftest import build_tiny
    eng = LiveEngine(build_tiny(), audio=False, take_dir=sys.argv[1])
    for k in range(8):
        eng.press("key:z" if k % 2 else "key:x")
        time.sleep(0.01)
        eng.release("key:z" if k % 2 else "key:x")
    eng.press("key:space")  # held when killed
    print("TAKE", eng.take_path, flush=True)
    time.sleep(60)
""")


def test_take_survives_kill_9(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        # Libraries may print on import (pyfluidsynth does when CI is set): find the child's own line.
        line = ""
        while not line.startswith("TAKE "):
            line = proc.stdout.readline()
            assert line, "the child did not start"
        path = Path(line[len("TAKE "):].strip())
        assert path.exists(), "the child did not start"
        assert find_recoverable_takes(tmp_path) == []  # still being written by a live process
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.05)
    assert find_recoverable_takes(tmp_path) == [path]
    take = load_take(path)
    assert not take.closed and len(take) == 9
    assert all(n.end is not None and n.end >= n.start for n in take.notes)
    assert [n.source for n in take.notes[:8]] == ["key:x", "key:z"] * 4
    assert take.header["model"]["architecture"] == "vanilla_rnn" and "settings" in take.header


def test_a_journal_written_before_takes_were_in_seconds_still_loads():
    take = load_take(FIXTURES / "played-2024.jsonl")
    assert take.closed and take.warnings == []
    np.testing.assert_allclose(take.to_melody().rows(), [[0, 0.18, 73], [0.25, 0.37, 54], [0.4, 0.7, 87], [0.7, 0.79, 49],
                                                  [1.0, 1.2, 61]])
    assert take.velocities().tolist() == [90, 91, 92, 93, 80]
    assert [n.direction for n in take.notes] == [None, 1, 1, 1, None]
    assert take.step_us == {0: 609.8, 1: 338.8, 2: 95.4, 3: 61.3, 4: 52.0}  # the undone note 4 took 59.2
    assert take.program == 5 and take.tempo_bpm == 96 and str(take.time_signature) == "3/4"
    assert take.events == [{"t": 2095185, "program": 5}]


def test_a_saved_take_written_before_takes_were_in_seconds_loads_and_saves_the_same(tmp_path):
    path = FIXTURES / "saved-2024.ectake"
    take = load_take(path)
    assert [n.pitch for n in take.notes] == [73, 54, 87, 49, 61] and take.notes[4].end == 1.2
    assert take.program == 5 and take.tempo_bpm == 96 and str(take.time_signature) == "3/4"
    again = save_take(take, tmp_path / "again.ectake")
    assert json.loads(again.read_text()) == json.loads(path.read_text())  # the same document, note for note
