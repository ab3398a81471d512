"""`generate` given hostile files and values: one `error:` line and exit 2, quickly and without reading without
end or allocating what a small file declares; nothing is written."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest

from composer_app.cli import main
from composer_app.rhythm import MAX_RHYTHM_NOTES


def huge_npy(path):
    """A 200-byte .npy whose header declares 10^10 rows (149 GiB for np.load to allocate)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 2)})
    path.write_bytes(buf.getvalue() + bytes(64))
    return path


@pytest.fixture
def small_rhythm(tmp_path):
    path = tmp_path / "r.npy"
    np.save(path, np.array([[0.0, 0.5]] * 8))
    return path


def run(capsys, *argv):
    started = time.perf_counter()
    rc = main(["generate", *map(str, argv)])
    err = capsys.readouterr().err
    assert time.perf_counter() - started < 30
    lines = [line for line in err.splitlines() if line.strip()]
    return rc, lines


@pytest.mark.parametrize("case", ["huge-npy", "too-many-notes", "fifo-source", "dev-zero-checkpoint",
                                  "fifo-checkpoint", "seed", "damaged-soundfont", "time-signature", "hints"])
def test_one_error_line_and_exit_2(tmp_path, capsys, ckpt, small_rhythm, case):
    out = tmp_path / "out" / "o.mid"
    out.parent.mkdir()
    src, extra = small_rhythm, []
    if case == "huge-npy":
        src = huge_npy(tmp_path / "huge.npy")
    elif case == "too-many-notes":
        src = tmp_path / "long.npy"
        np.save(src, np.full((MAX_RHYTHM_NOTES + 1, 2), 0.1))
    elif case == "fifo-source":
        src = tmp_path / "fifo.npy"
        os.mkfifo(src)
    elif case in ("dev-zero-checkpoint", "fifo-checkpoint"):
        fifo = tmp_path / "m.pt"
        if case == "fifo-checkpoint":
            os.mkfifo(fifo)
        ckpt = "/dev/zero" if case == "dev-zero-checkpoint" else fifo
    elif case == "seed":
        extra = ["--seed", "-1"]
    elif case == "damaged-soundfont":
        bad = tmp_path / "bad.sf2"
        bad.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"x" * 64)
        extra = ["--wav", tmp_path / "out" / "o.wav", "--soundfont", bad]
    elif case == "time-signature":
        extra = ["--time-signature", "9" * 5000 + "/4"]
    elif case == "hints":
        extra = ["--hints", "1" * 5000]
    rc, lines = run(capsys, "-s", src, "-o", out, "-c", ckpt, *extra)
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("everybody-compose generate: error: ")
    assert len(lines[0]) < 400
    assert list(out.parent.iterdir()) == []
