"""The user's choices between runs (model, sampling, instrument, sound, MIDI, view), kept in an INI file.

One small typed wrapper so the rest of the GUI never spells file keys or converts strings. The file is read as
plain text only: QSettings would turn an ``@Variant(...)`` value into a Python object by unpickling it, which runs
code from the file, so this store reads and writes the INI itself and ignores (and reports) anything that is not
plain text or a number. A value a newer or older version wrote, or a damaged file, never stops the app from
starting: a bad value falls back to the default. The format is the one QSettings writes (``[section]`` then
``key=value``, top-level keys under ``[General]``), so choices saved by earlier versions are kept.

Tests and demos pass an explicit INI file, so they never touch the user's real settings.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import logging
import math
from pathlib import Path

from composer_app.atomic import atomic_write
from composer_app.errors import UserError

ORGANISATION = "everybody-compose"
APPLICATION = "everybody-compose"
GENERAL = "General"
#: A settings file is a few hundred bytes; anything far larger is not one, and is not read.
MAX_FILE_BYTES = 1 << 20
BYTES_PREFIX = "base64:"
#: Bounds every number read from the file is held to, unless the caller gives tighter ones: what a Qt widget
#: holds (a C int), and a float far from both overflow and zero's neighbourhood is the caller's to narrow.
MIN_INT, MAX_INT = -(2**31), 2**31 - 1
MAX_FLOAT = 1e9
#: The longest text value read back (a path, a port name, a hint list); longer is a damaged or hostile file.
MAX_TEXT_CHARS = 4096

log = logging.getLogger(__name__)


def default_settings_file() -> Path:
    """The user's settings file (``~/.config/everybody-compose/everybody-compose.conf`` on Linux, where
    QSettings kept them)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APPLICATION)) / f"{APPLICATION}.conf"


class SettingsStore:
    """Typed get/set over an INI file of plain values. ``path`` = a file to use instead of the user's settings.

    :attr:`problems` holds plain-words messages about what could not be read or written (shown in the banner).
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path is not None else default_settings_file()
        self.problems: list[str] = []
        self.values: dict[str, str] = self._read()
        self._dirty = False

    # -- the file -------------------------------------------------------------------------------------------------
    def _read(self) -> dict[str, str]:
        try:
            if not self.path.is_file():
                if self.path.exists():  # a device or a pipe: never read (it may never end), never replaced
                    self.problems.append(f"the settings file {self.path} is not a regular file; it was not read "
                                         "and the defaults are used")
                return {}
            if self.path.stat().st_size > MAX_FILE_BYTES:
                self.problems.append(f"the settings file {self.path} is far too large to be settings; it was not "
                                     "read and the defaults are used")
                return {}
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            self.problems.append(f"cannot read the settings file {self.path}: {exc.strerror or exc}; the defaults "
                                 "are used")
            return {}
        parser = configparser.RawConfigParser(strict=False, delimiters=("=",), interpolation=None)
        parser.optionxform = str  # keys keep their case
        try:
            parser.read_string(f"[{GENERAL}]\n{text}", source=str(self.path))
        except configparser.ParsingError:  # the lines it could read are kept
            self.problems.append(f"some lines of the settings file {self.path} are damaged and were ignored")
        except configparser.Error as exc:
            self.problems.append(f"the settings file {self.path} is damaged ({exc.message.splitlines()[0]}); the "
                                 "defaults are used")
            return {}
        values, ignored = {}, []
        for section in parser.sections():
            for key, raw in parser.items(section):
                name = key if section == GENERAL else f"{section}/{key}"
                value = decode(raw)
                if value is None:
                    if not raw.strip().startswith("@ByteArray("):  # an old window geometry: harmless, re-saved
                        ignored.append(name)
                else:
                    values[name] = value
        if ignored:
            self.problems.append(f"ignored {', '.join(ignored)} in the settings file {self.path}: not plain text "
                                 "or a number (such values can hide code, and are never loaded)")
        return values

    def _write(self) -> None:
        sections: dict[str, list[str]] = {}
        for name, value in sorted(self.values.items()):
            section, sep, key = name.partition("/")
            if not sep:
                section, key = GENERAL, name
            sections.setdefault(section, []).append(f"{key}={encode(value)}")
        text = "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), "save settings to")
        except (OSError, UserError) as exc:
            message = str(exc) if isinstance(exc, UserError) else f"cannot save settings to {self.path}: {exc.strerror or exc}"
            if message not in self.problems:  # said once, not at every change
                self.problems.append(message)
                log.warning("%s", message)
            self._dirty = True
            return
        self._dirty = False

    # -- typed access ---------------------------------------------------------------------------------------------
    def get_str(self, key: str, default: str | None = None, max_chars: int = MAX_TEXT_CHARS) -> str | None:
        """The text kept under ``key``; ``default`` when there is none, or when it is longer than ``max_chars``
        (said in :attr:`problems`: no choice the app offers is that long)."""
        value = self.values.get(key)
        if value is None or value == "":
            return default
        if len(value) > max_chars:
            return self._bad(key, value, f"is longer than {max_chars} characters", default)
        return value

    def get_int(self, key: str, default: int, lo: int = MIN_INT, hi: int = MAX_INT) -> int:
        """The whole number kept under ``key`` when it lies in ``lo..hi``; else ``default`` (said in
        :attr:`problems`). The bounds keep a hand-edited value from reaching a widget or a loop that cannot take
        it (a Qt spin box overflows past 2**31, a 5,000-digit number is not even convertible)."""
        value = self.values.get(key)
        if value is None or value.strip() == "":
            return default
        number = _number(value)
        if number is None or number != int(number):
            return self._bad(key, value, "is not a whole number", default)
        if not lo <= number <= hi:
            return self._bad(key, value, f"is outside {lo}..{hi}", default)
        return int(number)

    def get_float(self, key: str, default: float, lo: float = -MAX_FLOAT, hi: float = MAX_FLOAT) -> float:
        """The number kept under ``key`` when it is finite and in ``lo..hi``; else ``default`` (said in
        :attr:`problems`): a zoom of 0 or 1e-300 must never reach the code that divides by it."""
        value = self.values.get(key)
        if value is None or value.strip() == "":
            return default
        number = _number(value)
        if number is None:
            return self._bad(key, value, "is not a number", default)
        if not lo <= number <= hi:
            return self._bad(key, value, f"is outside {lo:g}..{hi:g}", default)
        return number

    def _bad(self, key: str, raw: str, why: str, default):
        """Say (once per key) that the value kept under ``key`` is not used; returns ``default``."""
        shown = raw if len(raw) <= 40 else f"{raw[:20]}…({len(raw)} characters)"
        message = (f"{key} = {shown} in the settings file {self.path} {why}; the default "
                   f"{'(none)' if default in (None, '') else default} is used")
        if message not in self.problems:  # the app shows problems in its banner and on stderr
            self.problems.append(message)
        return default

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.values.get(key)
        if value is None or value.strip() == "":
            return default
        return value.strip().lower() in ("1", "true", "yes", "on")

    def get_bytes(self, key: str) -> bytes | None:
        value = self.values.get(key, "")
        if not value.startswith(BYTES_PREFIX):
            return None
        try:
            return base64.b64decode(value[len(BYTES_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            return None

    def set(self, key: str, value) -> None:
        """Keep ``value`` (text, a number, a flag, bytes or None) and save the file when it changed."""
        text = as_text(value)
        if self.values.get(key) != text:
            self.values[key] = text
            self._write()

    def remove(self, key: str) -> None:
        if self.values.pop(key, None) is not None:
            self._write()

    def sync(self) -> None:
        """Save now if an earlier save failed."""
        if self._dirty:
            self._write()

    @property
    def file_name(self) -> str:
        return str(self.path)


def _number(text: str) -> float | None:
    """``text`` as a finite float, or None. Digits beyond a float's range or Python's int-conversion limit
    (4,300 digits) never raise: a 5,000-digit value is simply not a number here."""
    text = text.strip()
    if len(text) > 64:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_text(value) -> str:
    """A value as the store keeps it: plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value).__name__ == "QByteArray":
        value = bytes(value.data())
    if isinstance(value, bytes | bytearray):
        return BYTES_PREFIX + base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def encode(text: str) -> str:
    """``text`` as an INI value that reads back as the same text (quoted where it would not)."""
    if text == text.strip() and not text.startswith(("@", '"')) and "\n" not in text and "\r" not in text:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def decode(raw: str) -> str | None:
    """The text of an INI value, or None when it is not plain text: QSettings' ``@Variant(...)``,
    ``@ByteArray(...)`` and other ``@`` forms are never interpreted."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        out, chars = [], iter(raw[1:-1])
        for ch in chars:
            if ch == "\\":
                nxt = next(chars, "")
                out.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
            else:
                out.append(ch)
        return "".join(out)
    if raw.startswith("@@"):  # QSettings' way of writing a text that starts with @
        return raw[1:]
    if raw.startswith("@"):
        return None
    return raw
