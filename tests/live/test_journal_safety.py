"""Journals: damaged lines lose only themselves, one bad file never hides the others, and syncing to disk
never holds up a key-down; a disk that fails to sync is reported to the player."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
import time

import pytest

from composer_app.atomic import atomic_write
from composer_app.live import recovery
from composer_app.live.engine import LiveEngine
from composer_app.live.journal import TakeJournal
from composer_app.live.recovery import find_recoverable_takes, load_take
from composer_app.take import FORMAT

MS = 1_000_000


def crashed_journal(folder, name="take-a.jsonl", notes=4) -> tuple:
    lines = [json.dumps({"type": "header", "format": FORMAT, "program": 3, "origin": "first-note"}).encode()]
    for i in range(notes):
        lines.append(json.dumps({"type": "on", "i": i, "t": i * 300 * MS, "pitch": 60 + i}).encode())
        lines.append(json.dumps({"type": "off", "i": i, "t": i * 300 * MS + 100 * MS}).encode())
    path = folder / name
    return path, lines


def write(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize("damage", [
    b"\xff\xfe\xfa not utf-8 \x80",  # bytes that are not UTF-8
    b"\x00" * 4096,  # a NUL block, as a crash leaves on some file systems
    b'{"type":"on","i":9,"t":Infinity,"pitch":70}',  # a time that is not a number
    b'{"type":"on","i":9,"t":1e300,"pitch":70}',  # one that is absurd
    b'{"type":"on","i":9,"t":5,"pitch":700}',  # a pitch MIDI cannot play
    b'[1, 2]',
])
def test_a_damaged_line_loses_only_itself(tmp_path, damage):
    path, lines = crashed_journal(tmp_path)
    lines.insert(5, damage)  # between the 2nd note's off and the 3rd note's on
    write(path, lines)
    take = load_take(path)
    assert [n.pitch for n in take.notes] == [60, 61, 62, 63]
    assert [n.end for n in take.notes] == pytest.approx([i * 0.3 + 0.1 for i in range(4)])
    assert take.header["program"] == 3
    assert len(take.warnings) == 1 and "line 6" in take.warnings[0]
    assert find_recoverable_takes(tmp_path) == [path]


def test_a_nul_block_before_a_line_keeps_the_line(tmp_path):
    path, lines = crashed_journal(tmp_path)
    lines[3] = b"\x00" * 512 + lines[3]
    write(path, lines)
    assert len(load_take(path).notes) == 4


def test_a_damaged_header_still_gives_the_notes(tmp_path):
    path, lines = crashed_journal(tmp_path)
    lines[0] = b'{"type":"header","form\xff'
    write(path, lines)
    take = load_take(path)
    assert len(take.notes) == 4 and any("header" in w for w in take.warnings)


def test_one_bad_file_never_stops_recovery_of_the_others(tmp_path, monkeypatch):
    good, lines = crashed_journal(tmp_path, "take-good.jsonl")
    write(good, lines)
    bad, lines = crashed_journal(tmp_path, "take-bad.jsonl")
    write(bad, lines)
    garbage = tmp_path / "take-garbage.jsonl"
    garbage.write_bytes(os.urandom(4096))
    real = recovery.load_take

    def explodes_on_one(path):
        if path.name == "take-bad.jsonl":
            raise RuntimeError("something nobody expected")
        return real(path)

    monkeypatch.setattr(recovery, "load_take", explodes_on_one)
    found = find_recoverable_takes(tmp_path)
    assert good in found and bad not in found


def slow_fsync(monkeypatch):
    """os.fsync that blocks until released: a very slow disk."""
    entered, release, done = threading.Event(), threading.Event(), threading.Event()
    real = os.fsync

    def fsync(fd):
        entered.set()
        release.wait(10)
        real(fd)
        done.set()

    monkeypatch.setattr(os, "fsync", fsync)
    return entered, release, done


def test_key_down_never_waits_for_the_disk(tmp_path, monkeypatch, tiny_model):
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    entered, release, done = slow_fsync(monkeypatch)
    try:
        t = time.perf_counter_ns()
        eng.press("key:z", t)  # creates the journal: its thread starts syncing (the folder first)
        eng.release("key:z", t + 50 * MS)
        assert entered.wait(5)
        for k in range(1, 6):  # while that sync hangs, playing goes on
            assert eng.press("key:x" if k % 2 else "key:z", t + k * 100 * MS) is not None
            eng.release("key:x" if k % 2 else "key:z", t + k * 100 * MS + 50 * MS)
        eng.new_take()  # closing the take does not wait for the disk either
        assert eng.press("key:z") is not None
        assert not done.is_set()  # every call above returned while the first fsync was still blocked
    finally:
        release.set()
        eng.close()
    assert len(load_take(next(p for p in tmp_path.glob("take-*.jsonl") if load_take(p).closed and
                                 len(load_take(p)) == 6))) == 6


def test_a_failed_sync_is_shown_to_the_player(tmp_path, monkeypatch, tiny_model):
    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    said = []
    eng.status_changed.connect(lambda status: said.append((status.topic, status.text, status.level)))
    monkeypatch.setattr(os, "fsync", broken)
    try:
        t = time.perf_counter_ns()
        eng.press("key:z", t)
        eng.release("key:z", t + 50 * MS)
        deadline = time.time() + 5
        while not said and time.time() < deadline:
            time.sleep(0.01)
        assert said and said[0][0] == "take" and "Input/output error" in said[0][1] and said[0][2] == "error"
        assert eng.press("key:x", t + 200 * MS) is not None  # playing goes on
    finally:
        monkeypatch.undo()
        eng.close()


def test_a_failed_write_is_shown_to_the_player(tmp_path, tiny_model):
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path / "file", seed=1)
    (tmp_path / "file").write_text("a file where the takes folder should be")
    said = []
    eng.status_changed.connect(lambda status: said.append((status.topic, status.text, status.level)))
    try:
        assert eng.press("key:z") is not None
        assert said and said[0][0] == "take" and "cannot be saved" in said[0][1] and said[0][2] == "error"
    finally:
        eng.close()


def synced_kinds(monkeypatch) -> list[str]:
    kinds = []
    real = os.fsync

    def fsync(fd):
        kinds.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return kinds


def test_the_folder_is_synced_after_a_journal_is_made_and_after_an_atomic_rename(tmp_path, monkeypatch):
    kinds = synced_kinds(monkeypatch)
    journal = TakeJournal(tmp_path, {})
    journal.write({"type": "on", "i": 0, "t": 0, "pitch": 60})
    journal.close(1e-9)
    assert journal.wait_closed()
    assert kinds[0] == "folder" and "file" in kinds
    kinds.clear()
    atomic_write(tmp_path / "x.txt", lambda tmp: open(tmp, "w").write("x"))
    assert kinds == ["file", "folder"]


def test_a_damaged_tempo_or_metre_loses_only_itself(tmp_path):
    path, lines = crashed_journal(tmp_path)
    lines[0] = json.dumps({"type": "header", "format": FORMAT, "tempo_bpm": "fast", "time_signature": "4/4"}).encode()
    lines.insert(3, b'{"type":"settings","t":5,"time_signature":"7/9"}')
    write(path, lines)
    take = load_take(path)
    assert len(take.notes) == 4 and take.tempo_bpm == 120 and str(take.time_signature) == "4/4"
    assert len(take.warnings) == 2
    assert take.export_midi(tmp_path / "x.mid").exists()
