"""The JACK-Client package, imported only when a rig part is used (it is a test extra, and needs libjack)."""

from __future__ import annotations

from composer_app.errors import UserError
from composer_app.platform_help import JACK, install_hint


def load_jack():
    """The ``jack`` module, or a :class:`UserError` that says what to install."""
    try:
        import jack
    except (ImportError, OSError) as exc:
        raise UserError(
            "the JACK-Client Python package and libjack are needed for this "
            f"(pip install JACK-Client; {install_hint(JACK)})"
        ) from exc
    return jack
