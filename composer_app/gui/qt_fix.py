"""A guard against a reference-count bug of PySide6 6.12.0 on Python 3.11, which would crash the app.

Measured here: with PySide6 6.12.0 on Python 3.11 every Qt method that returns nothing (``setPen``,
``fillRect``, ``setText``, ``setWidth`` …) hands back ``None`` *without* a new reference, so each call takes one
reference away from ``None``. A process starts with ~55,000 of them; the piano roll makes ~150 such calls per
frame, so after a few seconds of animation ``None``'s count reaches zero and Python aborts with "Fatal Python
error: none_dealloc". PySide6 6.11.3 does not do this, and Python 3.12+ is immune (``None`` is immortal there).

:func:`protect_none` detects the bug (a void call that lowers ``None``'s count) and, only then, gives ``None`` a
reference count so large that no process can ever use it up, which is what Python 3.12 does for every
interpreter. The better fix is a PySide6 without the bug (``PySide6-Essentials<6.12`` or a fixed release).
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
