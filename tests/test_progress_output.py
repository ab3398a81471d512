"""Progress off a terminal: plain lines (a log file of `train` used to get one 30 KB line of carriage returns)."""

from __future__ import annotations

import io

from tqdm import tqdm

from composer_app.progress_output import ProgressLines, bar_options, on_terminal


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_into_a_log_writes_lines_without_carriage_returns():
    log = io.StringIO()
    options = bar_options(log)
    options["mininterval"] = 0  # every update a line, as 30 s apart in a real run
    with tqdm(total=5, desc="epoch 1/3", leave=False, **options) as bar:
        for _ in range(5):
            bar.update(1)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) >= 5 and all(line.startswith("epoch 1/3") for line in lines)
    assert "5/5" in lines[-1]


def test_a_terminal_keeps_its_bar():
    assert on_terminal(Terminal()) and not on_terminal(io.StringIO())
    assert bar_options(Terminal())["file"].isatty()


def test_finetuning_progress_lines_are_few_and_plain():
    out = io.StringIO()
    lines = ProgressLines(out, step=10)
    for i in range(1001):
        lines(i / 1000, "tuning" if i else "reading files")
    text = out.getvalue()
    assert "\r" not in text and text.splitlines()[0] == "  0 % reading files"
    assert 10 <= len(text.splitlines()) <= 12 and text.splitlines()[-1] == "100 % tuning"
