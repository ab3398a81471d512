"""The user's choices between runs (model, sampling, instrument, sound, MIDI, view), kept in QSettings.

One small typed wrapper so the rest of the GUI never spells QSettings keys or converts strings: QSettings hands
back strings from INI files and native types from others, and a value a newer or older version wrote must never
stop the app from starting (a bad value falls back to the default).

Tests and demos pass an explicit INI file, so they never touch the user's real settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "everybody-compose"
APPLICATION = "everybody-compose"


class SettingsStore:
    """Typed get/set over a QSettings. ``path`` = an INI file to use instead of the user's settings."""

    def __init__(self, path: str | Path | None = None):
        if path is None:
            self.qsettings = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                                       ORGANISATION, APPLICATION)
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

    # -- typed access ---------------------------------------------------------------------------------------------
    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self.qsettings.value(key)
        if value is None or value == "":
            return default
        return str(value)

    def get_int(self, key: str, default: int) -> int:
        try:
            return int(self.qsettings.value(key, default))
        except (TypeError, ValueError):
            return default

    def get_float(self, key: str, default: float) -> float:
        try:
            return float(self.qsettings.value(key, default))
        except (TypeError, ValueError):
            return default

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.qsettings.value(key, default)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)

    def get_bytes(self, key: str):
        return self.qsettings.value(key)

    def set(self, key: str, value) -> None:
        self.qsettings.setValue(key, "" if value is None else value)

    def remove(self, key: str) -> None:
        self.qsettings.remove(key)

    def sync(self) -> None:
        self.qsettings.sync()

    @property
    def file_name(self) -> str:
        return self.qsettings.fileName()
