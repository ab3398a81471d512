"""Benchmarks (`everybody-compose bench step | generate | live`): the per-beat step, whole-rhythm generation and
key-to-sound latency, each against a baseline measured in the same run (the models' plain reference steps:
:mod:`models.streaming`), and with ``bench step --take`` whether a beat costs more late in a long take than early
on; and the JACK rig (a paced dummy sound card, MIDI loopback and an output recorder) that the latency benchmark
and the audio/MIDI tests share."""
