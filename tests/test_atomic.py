"""Writing a file never destroys what the user had there: a link is written through, a pipe or a device is left
alone, and a failed write leaves the older file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from composer_app.atomic import atomic_write
from composer_app.errors import UserError


def write_text(text):
    return lambda tmp: Path(tmp).write_text(text)


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "keep" / "tune.mid"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "tune.mid"
    link.symlink_to(real)
    assert atomic_write(link, write_text("new")) == link
    assert link.is_symlink() and real.read_text() == "new"
    assert [p.name for p in real.parent.iterdir()] == ["tune.mid"]  # no temp file left beside it


def test_a_pipe_is_left_alone(tmp_path):
    fifo = tmp_path / "out.mid"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        atomic_write(fifo, write_text("x"))
    assert fifo.is_fifo()
    link = tmp_path / "link.mid"
    link.symlink_to(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        atomic_write(link, write_text("x"))
    assert link.is_symlink() and fifo.is_fifo()


def test_a_failed_write_keeps_the_older_file(tmp_path):
    target = tmp_path / "take.ectake"
    target.write_text("older")

    def fail(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="No space left"):
        atomic_write(target, fail)
    assert target.read_text() == "older" and [p.name for p in tmp_path.iterdir()] == ["take.ectake"]
