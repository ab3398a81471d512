"""Writing a file so that a failure never leaves it half-written.

The content goes to a temporary file beside the target, is flushed to disk, then renamed over the target, and the
folder is synced so the rename itself is on disk: an older file of the same name survives any error, and no
``.part`` file is left behind.

A symbolic link is written through (its target gets the new content; the link stays a link, as a user who keeps
the file elsewhere expects), and a path that is not a regular file (a device, a pipe, a socket) is refused:
renaming over it would destroy what the user put there.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from composer_app.errors import UserError


def atomic_write(path, write, action: str = "write") -> Path:
    """Call ``write(tmp_path)`` then move the result to ``path``; errors become a :class:`UserError` that
    reads "cannot ``action`` ``path``: reason"."""
    given = Path(path).expanduser()
    path = written_path(given, action)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"cannot {action} {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise UserError(f"cannot {action} {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file should look like any other
        os.replace(tmp, path)
        fsync_folder(folder)
    except OSError as exc:
        raise UserError(f"cannot {action} {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return given


def written_path(path: Path, action: str = "write") -> Path:
    """The file that writing ``path`` replaces: the target of a symbolic link (followed to the end), the path
    itself otherwise. A :class:`UserError` when it exists and is not a regular file."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if target.exists() and not target.is_file():
        what = "a folder" if target.is_dir() else "not a regular file (a device, a pipe or a socket)"
        raise UserError(f"cannot {action} {path}: it is {what}, and it was left as it is")
    return target


def fsync_folder(folder) -> None:
    """``fsync`` a folder, so a file created or renamed in it survives a power cut (no-op where folders cannot
    be opened, as on Windows)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    fd = os.open(folder, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
