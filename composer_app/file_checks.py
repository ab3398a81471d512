"""Before a user's file is parsed: is it a regular file of a sensible size?

A pipe or a device given as a file (``/dev/zero``, a FIFO) would be read forever, and a file far larger than any
real one of its kind is damaged or something else, and parsing it only fills memory. Every reader of a user's
file (takes, rhythms, profiles, soundfonts) asks here first, so the refusal reads the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

from composer_app.errors import UserError


def check_regular_file(path, what: str, max_bytes: int, missing: str | None = None) -> int:
    """The size of ``path`` in bytes, after a :class:`UserError` in words unless it is a regular file of at most
    ``max_bytes``. ``what`` names the kind ("a take", "a rhythm"); ``missing`` is the message when it does
    not exist (default: "no such file")."""
    path = Path(path)
    try:
        if not path.exists():
            raise UserError(missing or f"no such file: {path}")
        if not path.is_file():
            raise UserError(f"{path} is not a regular file (a folder, a device or a pipe), so it is not {what}")
        size = path.stat().st_size
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise UserError(f"{path} is {_size(size)}: far larger than any {what.split(' ', 1)[-1]} (at most "
                        f"{_size(max_bytes)}), so it is not read")
    return size


def _size(n: int) -> str:
    return f"{n / 2**30:.0f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"
