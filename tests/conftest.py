"""Test-wide set-up: headless Qt, a silent ALSA default device, and a private JACK server on demand.

The environment lines at the top run before anything imports Qt or sounddevice (pytest loads this file before
collecting tests): PortAudio and Qt read these variables once, when they initialise.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# --- environment, before any test module imports Qt / sounddevice / rtmidi -----------------------------------
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never let libjack (rtmidi, PortAudio, JACK-Client) spawn a default jackd as a side effect.
os.environ["JACK_NO_START_SERVER"] = "1"

# An ALSA "default" device that swallows sound as fast as it is written (about 150x real time), so audio tests
# run on machines without a sound card and never make noise on machines with one. alsa-lib reads
# $XDG_CONFIG_HOME/alsa/asoundrc; the temporary directory also keeps tests away from the user's own settings.
_CONFIG_HOME = tempfile.mkdtemp(prefix="ec-test-config-")
os.makedirs(os.path.join(_CONFIG_HOME, "alsa"))
with open(os.path.join(_CONFIG_HOME, "alsa", "asoundrc"), "w") as _f:
    _f.write('pcm.!default { type plug; slave.pcm "nullsink" }\npcm.nullsink { type null }\n')
os.environ["XDG_CONFIG_HOME"] = _CONFIG_HOME
atexit.register(shutil.rmtree, _CONFIG_HOME, True)

import pytest  # noqa: E402

from composer_app.bench import jack_rig  # noqa: E402

JACK_RATE = 44100
JACK_PERIOD = 256


@pytest.fixture(scope="session")
def jack_server():
    """A private ``jackd --no-realtime -d dummy`` for the whole session, with a unique name.

    ``JackServer.use`` points every libjack user (rtmidi's UNIX_JACK backend, PortAudio's JACK host API,
    JACK-Client) at it through ``JACK_DEFAULT_SERVER`` and makes PortAudio re-scan, so the JACK output device
    appears. Skips only when jackd is not installed (``make test`` installs jackd2); a jackd that fails to start
    fails the tests.
    """
    if jack_rig.jackd_path() is None:
        pytest.skip("jackd is not installed (Debian/Ubuntu: apt-get install --no-install-recommends jackd2)")
    # Synchronous mode: no MIDI event lost when the machine is busy (see JackServer).
    server = jack_rig.JackServer(rate=JACK_RATE, period=JACK_PERIOD, sync=True)
    server.start()
    try:
        server.use()
        yield server
    finally:
        server.stop()


# --- tiny untrained models: tests need a model, not a good one --------------------------------------------------
#: The smallest sizes of each architecture that still exercise every path (attention windows, two RNN layers).
TINY_SIZES = {
    "vanilla_rnn": {"embed_size": 8, "hidden_dim": 16},
    "lstm_attn": {"hidden_dim": 16},
    "attention_rnn": {"embed_dim": 8, "encode_hidden_dim": 16, "decode_hidden_dim": 16},
}
#: A small melody memory (models/memory.py), for tests of the shipped recipe's shape.
TINY_MEMORY = {"key_dim": 8, "pitch_dim": 4, "context": 2, "window": 16}


def build_tiny(arch: str = "vanilla_rnn", kind: str = "live", seed: int = 0, memory: bool = False, **sizes):
    """A tiny untrained :class:`LoadedModel` (eval mode): ``sizes`` override :data:`TINY_SIZES`; the live
    attention_rnn gets a short attention window so that tests reach its end."""
    import torch

    import models
    from composer_app.beats import FeatureSpec
    from composer_app.checkpoints import LoadedModel

    torch.manual_seed(seed)
    config = dict(TINY_SIZES[arch])
    if arch == "attention_rnn" and kind == "live":
        config["window"] = 8
    config.update(sizes)
    if memory:
        config["memory"] = dict(TINY_MEMORY)
    model = models.build(arch, kind=kind, **config).eval()
    return LoadedModel(model, arch, kind, FeatureSpec(), f"(tiny {arch} {kind})")


@pytest.fixture
def tiny_model():
    """The factory :func:`build_tiny`: ``tiny_model("lstm_attn", "offline", seed=1)``."""
    return build_tiny


@pytest.fixture
def tiny_checkpoint(tmp_path_factory):
    """A factory writing a tiny model as a checkpoint file: ``tiny_checkpoint("lstm_attn", "offline")``."""
    from composer_app.checkpoints import save_checkpoint

    def write(arch: str = "lstm_attn", kind: str = "offline", seed: int = 0, **options):
        loaded = build_tiny(arch, kind, seed, **options)
        path = tmp_path_factory.mktemp("tiny") / f"{arch}_{kind}.pt"
        save_checkpoint(path, loaded.model, arch, kind, loaded.features)
        return path

    return write
