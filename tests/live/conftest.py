"""Fixtures shared by the engine tests."""

import pytest

from composer_app.live.engine import LiveEngine


@pytest.fixture
def engine(tmp_path, tiny_model):
    """A silent engine (no sound device) on a tiny live vanilla_rnn, recording its take into ``tmp_path``."""
    eng = LiveEngine(tiny_model(), audio=False, take_dir=tmp_path, seed=1)
    yield eng
    eng.close()
