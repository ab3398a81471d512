"""The desktop window: a thin Qt face on the Qt-free engine (:mod:`composer_app.live`).

Modules: :mod:`app` (start-up), :mod:`main_window` (wiring), :mod:`tap_area` (keys in), :mod:`piano_roll`
(notes out), :mod:`controls`, :mod:`sound_panel`, :mod:`midi_panel` (choices), :mod:`recolour` (offline
regeneration and comparison), :mod:`engine_bridge` and :mod:`tasks` (threads), :mod:`settings_store`
(saved choices, plain INI), :mod:`banner` (messages), :mod:`model_source` (which models), :mod:`help_dialog`.
"""

from composer_app.gui.qt_fix import protect_none

#: True when this process needed the guard against PySide6 6.12.0's reference-count bug (see qt_fix).
NONE_PROTECTED = protect_none()
