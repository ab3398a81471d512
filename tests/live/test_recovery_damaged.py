"""Damaged and hostile take files (saved takes and journals): each loads with its bad values dropped and said, or
is refused with a plain-words UserError; never a traceback, never read without end, never parsed when far too
large. The rhythm reader (generate -s TAKE) goes through the same checks."""

from __future__ import annotations

import json
import os

import pytest

from composer_app.errors import UserError
from composer_app.live import recovery
from composer_app.live.recovery import find_recoverable_takes, load_take
from composer_app.rhythm import load_rhythm
from composer_app.take import FORMAT

NOTE = {"index": 0, "start_ns": 0, "pitch": 60, "velocity": 100, "end_ns": 500_000_000}
NOTES = [NOTE, {**NOTE, "index": 1, "start_ns": 10**9, "end_ns": 1_500_000_000}]


def saved(tmp_path, header=None, notes=None, raw: str | None = None):
    path = tmp_path / "t.ectake"
    doc = {"header": {"format": FORMAT, **(header or {})}, "events": [], "notes": NOTES if notes is None else notes}
    path.write_text(raw if raw is not None else json.dumps(doc))
    return path


@pytest.mark.parametrize("header", [
    {"time_signature": ["x", 4]}, {"time_signature": [[[[4]]], 4]}, {"time_signature": [True, 4]},
    {"time_signature": "9" * 5000 + "/4"}, {"time_signature": {"a": 1}}, {"tempo_bpm": [120]},
    {"tempo_bpm": "9" * 5000}, {"program": 10**30}, {"program": "piano"},
])
def test_a_damaged_header_value_is_dropped_and_said_and_the_notes_kept(tmp_path, header):
    take = load_take(saved(tmp_path, header))
    assert len(take) == 2 and take.warnings and all(len(w) < 300 for w in take.warnings)
    assert (take.tempo_bpm, str(take.time_signature), take.program) == (120.0, "4/4", 0)
    assert len(load_rhythm(saved(tmp_path, header))[0]) == 2


def test_infinity_in_the_header_is_no_value(tmp_path):
    path = saved(tmp_path, raw=json.dumps({"header": {"format": FORMAT, "time_signature": [float("inf"), 4],
                                                      "tempo_bpm": float("nan")}, "notes": NOTES}))
    take = load_take(path)
    assert len(take) == 2 and str(take.time_signature) == "4/4" and take.tempo_bpm == 120.0 and take.warnings


@pytest.mark.parametrize("notes,why", [
    ({"a": 1}, "no list of notes"), (["a", "b"], "a note is a str"),
    ([{**NOTE, "start_ns": float("inf")}], "time must be"), ([{**NOTE, "start_ns": 10**30}], "time must be"),
    ([{**NOTE, "pitch": 10**30}], "pitch must be"), ([{**NOTE, "velocity": -1}], "velocity must be"),
    ([{**NOTE, "rest_s": "x"}], "rest_s must be"), ([{**NOTE, "direction": 7}], "direction must be"),
])
def test_damaged_notes_are_refused_in_words(tmp_path, notes, why):
    path = saved(tmp_path, notes=notes)
    for read in (load_take, load_rhythm):
        with pytest.raises(UserError, match=why):
            read(path)


@pytest.mark.parametrize("name", ["t.ectake", "take-1.jsonl"])
def test_nesting_past_the_parser_is_refused_in_words(tmp_path, name):
    path = tmp_path / name
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError):
        load_take(path)
    nested_header = tmp_path / "h.ectake"
    nested_header.write_text('{"header": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(UserError, match="not a take file"):
        load_take(nested_header)


def test_a_nested_journal_line_is_skipped(tmp_path):
    path = tmp_path / "take-1.jsonl"
    header = json.dumps({"type": "header", "format": FORMAT})
    on = json.dumps({"type": "on", "i": 0, "t": 0, "pitch": 60, "vel": 90})
    path.write_text(f"{header}\n{'[' * 100_000}{']' * 100_000}\n{on}\n")
    take = load_take(path)
    assert len(take) == 1 and any("line 2" in w for w in take.warnings)


def test_a_pipe_or_a_device_is_not_read(tmp_path):
    fifo = tmp_path / "take-x.jsonl"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(UserError, match="not a regular file"):
            load_take(path)
    assert find_recoverable_takes(tmp_path) == []


def test_a_huge_crashed_journal_is_not_parsed_and_does_not_stop_the_search(tmp_path, monkeypatch):
    monkeypatch.setattr(recovery, "MAX_TAKE_BYTES", 4096)
    big = tmp_path / "take-big.jsonl"
    on = json.dumps({"type": "on", "i": 0, "t": 0, "pitch": 60, "vel": 90})
    big.write_text(json.dumps({"type": "header", "format": FORMAT}) + "\n" + (on + "\n") * 200)
    monkeypatch.setattr(recovery, "_parse_lines", lambda *a: pytest.fail("a journal over the limit was parsed"))
    with pytest.raises(UserError, match="far larger than any take"):
        load_take(big)
    assert find_recoverable_takes(tmp_path) == [big]  # offered: opening it says what is wrong
