"""The live instrument's Qt-free parts: synth (FluidSynth), audio output (sounddevice), MIDI input (mido).

Each module imports its native library lazily and turns "not installed / no device" into a status or a
:class:`composer_app.errors.UserError`, so the app starts on machines without sound or MIDI. The JACK test and
benchmark rig lives in :mod:`composer_app.bench.jack_rig`.
"""
