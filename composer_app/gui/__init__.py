"""The desktop window: a thin Qt face on the Qt-free engine (:mod:`composer_app.live`).

Modules: :mod:`app` (start-up), :mod:`main_window` (layout; composes the controllers), the controllers
:mod:`play_controller` (keys and transport), :mod:`take_files` (files), :mod:`recolour_flow` (recolouring),
:mod:`choices` (model, sampling, time, sound, MIDI) and :mod:`status_line`, sharing :mod:`shown_take` (what is
shown); the widgets :mod:`tap_area` (keys in), :mod:`piano_roll` and :mod:`roll_painter` (notes out),
:mod:`tempo_bar`, :mod:`controls`, :mod:`sound_panel`, :mod:`midi_panel`, :mod:`recolour` (offline regeneration
and comparison), :mod:`banner` (messages); :mod:`engine_bridge` and :mod:`tasks` (threads), :mod:`settings_store`
(saved choices, plain INI), :mod:`model_source` (which models), :mod:`help_dialog`.
"""

from composer_app.gui.qt_fix import protect_none

#: True when this process needed the guard against PySide6 6.12.0's reference-count bug (see qt_fix).
NONE_PROTECTED = protect_none()
