"""A guard against a reference-count bug of PySide6 6.12.0 on Python 3.11, which would crash the app.

There, every Qt method that returns nothing takes one reference away from ``None``, until Python aborts with
"Fatal Python error: none_dealloc" (docs/troubleshooting.md). :func:`protect_none` detects the bug and, only
then, makes ``None`` as good as immortal, as Python 3.12 does; the better fix is a PySide6 without the bug.
"""

from __future__ import annotations

import sys

BUMP = 1 << 40  # a trillion references: ~3 years of the worst case (10,000 void calls a second)


def void_calls_drop_none(calls: int = 64) -> bool:
    """True when Qt's void methods take a reference away from ``None`` (the PySide6 6.12.0 bug)."""
    from PySide6.QtCore import QRectF

    rect = QRectF()
    before = sys.getrefcount(None)
    for _ in range(calls):
        rect.setWidth(1.0)
    return sys.getrefcount(None) - before <= -calls // 2


def protect_none() -> bool:
    """Make ``None`` impossible to free when the bug is present; returns whether that was needed."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not void_calls_drop_none():
        return False
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += BUMP  # ob_refcnt is the object's first field
    return True
