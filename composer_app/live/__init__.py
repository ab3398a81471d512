"""The live instrument's Qt-free parts: synth (FluidSynth), audio output (sounddevice), MIDI input (mido).

Each module imports its native library lazily and turns "not installed / no device" into a status or a
:class:`composer_app.errors.UserError`, so the app starts on machines without sound or MIDI. ``jack_rig`` is a
test and benchmark rig (a private JACK server, a MIDI sender and an audio recorder on one frame clock).
"""
