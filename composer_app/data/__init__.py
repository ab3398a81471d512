"""Training data: melodies from the music21 folk collections and from users' MIDI, parsed once and cached.

Modules, one job each: :mod:`.abc_corpus` (music21 ABC tunes to melodies), :mod:`.melody` (MIDI files to
melodies, skyline), :mod:`.sources` (what a source spec lists), :mod:`.extract` (parallel parsing that
skips bad items), :mod:`.cache` (npz files outside the repo), :mod:`.split` (duplicate-aware split) and
:mod:`.corpus` (:func:`~composer_app.data.corpus.load_melodies` and
:func:`~composer_app.data.corpus.prepare`, which tie them together).
"""
