"""Fixtures shared by the engine tests."""

import time

import pytest

from composer_app.live.engine import LiveEngine


@pytest.fixture
def engine(tmp_path, tiny_model):
    """A silent engine (no sound device) on a tiny live vanilla_rnn, recording its take into ``tmp_path``."""
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    yield eng
    eng.close()


def _wait_for(cond, timeout: float = 10.0) -> bool:
    """Whether ``cond()`` came true within ``timeout`` seconds, checked every 5 ms.

    Tests wait for what they are about (a click played, a block rendered, a note ended) rather than for a
    time: the timeout only keeps a broken test from hanging, so it is generous for a loaded 2-core machine.
    """
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return bool(cond())
        time.sleep(0.005)
    return True


@pytest.fixture
def wait_for():
    """``wait_for(cond, timeout=10.0) -> bool``: see :func:`_wait_for`."""
    return _wait_for
