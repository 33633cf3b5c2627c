"""Parsers of option values: each turns a value given in code or read from the environment
into what the option holds, or raises ``ValueError`` naming the option, the value and what
is allowed. Each accepts its own result as it is, so a parsed value can be given again.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dual_log._facts import LEVEL_NAMES, LEVELS
from dual_log._report import size_text

FORMATS = ("text", "json")
WHEN_VALUES = ("S", "M", "H", "D", "MIDNIGHT", "W0", "W1", "W2", "W3", "W4", "W5", "W6")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "mi": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4,
}  # fmt: skip
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bad(option: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"dual_log: invalid {option}={value!r}; allowed: {allowed}")


def parse_size(value: object, option: str = "max_bytes") -> int:
    """Return a byte count from ``10485760``, ``"10MB"`` or ``"10 MiB"``; ``0`` means never."""
    allowed = "a whole number of bytes >= 0, or a size such as '10MB', '10 MiB', '512k'"
    if isinstance(value, bool):
        raise _bad(option, value, allowed)
    if isinstance(value, int):
        if value < 0:
            raise _bad(option, value, allowed)
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            unit = (match.group(2) or "").lower()
            if unit in _SIZE_UNITS:
                return int(float(match.group(1)) * _SIZE_UNITS[unit])
    raise _bad(option, value, allowed)


@dataclasses.dataclass(frozen=True)
class Space:
    """Free space to keep on a volume: a number of bytes, or a share of its size."""

    bytes: int = 0
    percent: float = 0.0

    def bytes_of(self, total: int) -> int:
        """The bytes to keep free on a volume of ``total`` bytes (the smaller, if both are set)."""
        share = int(total * self.percent / 100)
        if self.bytes and self.percent:
            return min(self.bytes, share)
        return self.bytes or share

    def __bool__(self) -> bool:
        return bool(self.bytes or self.percent)

    def __str__(self) -> str:
        size = size_text(self.bytes)
        if self.bytes and self.percent:
            return f"{self.percent:g}%, at most {size}"
        return f"{self.percent:g}%" if self.percent else size


# The share of a small volume (a 1 GB Fly volume keeps 51 MB free) and a cap for a big
# disk, where 5% would be gigabytes the logs could safely use.
MIN_FREE = Space(bytes=64 * 1024 * 1024, percent=5.0)


def parse_space(value: object, option: str = "min_free") -> Space:
    """Return a ``Space`` from a size (``"64MiB"``, ``0``) or a percentage (``"5%"``)."""
    if isinstance(value, Space):
        return value
    allowed = "a percentage from 0% to 99% (with ', at most <size>' if you like), or a size"
    if isinstance(value, str) and "%" in value:
        share, _, cap = value.partition("%")
        cap = cap.strip().removeprefix(",").strip()
        try:
            percent = float(share)
        except ValueError:
            percent = -1.0
        if not 0 <= percent < 100 or (cap and not cap.startswith("at most ")):
            raise _bad(option, value, allowed)
        limit = parse_size(cap.removeprefix("at most "), option) if cap else 0
        return Space(bytes=limit, percent=percent)
    return Space(bytes=parse_size(value, option))


def parse_level(value: object, option: str = "level") -> int:
    """Return a logging level from ``"INFO"``, ``"info"``, ``20`` or ``logging.INFO``."""
    allowed = f"one of {', '.join(LEVEL_NAMES)} (any case) or a number from 0 to 50"
    if isinstance(value, bool):
        raise _bad(option, value, allowed)
    if isinstance(value, int):
        if 0 <= value <= 50:
            return value
        raise _bad(option, value, allowed)
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return parse_level(int(text), option)
        if text in LEVELS:
            return LEVELS[text]
    raise _bad(option, value, allowed)


def parse_count(value: object, option: str, minimum: int = 0) -> int:
    """Return a whole number >= ``minimum`` from an int or its decimal text."""
    number = value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    if isinstance(number, int) and not isinstance(number, bool) and number >= minimum:
        return number
    raise _bad(option, value, f"a whole number >= {minimum}")


def parse_seconds(value: object, option: str) -> float:
    """Return a duration in seconds >= 0 from a number or its text."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if (
        isinstance(number, (int, float))
        and not isinstance(number, bool)
        and number >= 0
        and number == number  # NaN is not a duration
    ):
        return float(number)
    raise _bad(option, value, "a number of seconds >= 0")


def parse_optional_days(value: object, option: str = "max_age_days") -> float | None:
    """Return ``None`` (no age limit) or a positive number of days."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "0")):
        return None
    days = parse_seconds(value, option)
    if days <= 0:
        return None
    return days


def parse_bool(value: object, option: str) -> bool:
    """Return a bool from a bool or from ``1/0, true/false, yes/no, on/off``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _bad(option, value, "true or false (1/0, yes/no, on/off in the environment)")


def parse_format(value: object, option: str) -> str:
    """Return ``"text"`` or ``"json"``."""
    if isinstance(value, str) and value.strip().lower() in FORMATS:
        return value.strip().lower()
    raise _bad(option, value, " or ".join(repr(f) for f in FORMATS))


def parse_when(value: object, option: str = "when") -> str | None:
    """Return ``None`` (no time rotation) or one of the stdlib ``when`` values."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, str) and value.strip().upper() in WHEN_VALUES:
        return value.strip().upper()
    raise _bad(option, value, "None or one of " + ", ".join(WHEN_VALUES) + " (any case)")


def parse_mode(value: object, option: str) -> int:
    """Return a permission mode from ``0o640`` or the octal text ``"640"``/``"0640"``."""
    allowed = "an octal permission such as 0o640 or '0640'"
    if isinstance(value, str):
        try:
            value = int(value.strip(), 8)
        except ValueError:
            raise _bad(option, value, allowed) from None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0o777:
        return value
    raise _bad(option, value, allowed)


def parse_path(value: object, option: str = "path") -> str:
    """Return a non-empty file path."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value.strip() and "\x00" not in value:
        if value.endswith(("/", os.sep)) or os.path.isdir(value):
            raise _bad(option, value, "a file path, not a folder (e.g. /logs/app.log)")
        return value
    raise _bad(option, value, "a non-empty file path such as /logs/app.log")


def parse_fields(value: object, option: str = "static_fields") -> dict[str, Any]:
    """Return a dict from a mapping or from ``"key=value,key=value"``."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            # Item by item: a dictConfig's ConvertingDict resolves ext:// and cfg:// values
            # when they are read this way, not when it is copied with dict().
            return {key: value[key] for key in value}
    elif isinstance(value, str):
        fields: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, val = part.partition("=")
            if not sep or not key.strip():
                raise _bad(option, value, "a mapping, or 'key=value,key=value'")
            fields[key.strip()] = val.strip()
        return fields
    raise _bad(option, value, "a mapping with string keys, or 'key=value,key=value'")


_NAME = re.compile(r"^[\w.-]+$")


def parse_names(value: object, option: str) -> tuple[str, ...]:
    """Return key names from a list, or from text separated by commas or newlines.

    A name is letters, digits, ``_``, ``-`` and ``.``: what a key in ``key=value`` text is
    made of, so a name with a space (which could never match) is refused.
    """
    allowed = (
        "key names of letters, digits, '_', '-' and '.', as a list or as text separated "
        "by commas (or newlines)"
    )
    if value is None:
        return ()
    items: Iterable[object]
    if isinstance(value, str):
        items = _split(value)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
    else:
        raise _bad(option, value, allowed)
    names = tuple(item.strip() if isinstance(item, str) else "" for item in items)
    if not all(_NAME.match(name) for name in names):
        raise _bad(option, value, allowed)
    return names


def parse_patterns(value: object, option: str) -> tuple[str, ...]:
    """Return regular expressions, each checked to compile, from a list or from text.

    In text, patterns are separated by newlines when there is one, else by commas (so a
    pattern with a comma, such as ``\\d{3,4}``, needs the newline form).
    """
    allowed = "regular expressions, as a list or as text separated by commas (or newlines)"
    if value is None:
        return ()
    items: Iterable[object]
    if isinstance(value, (str, re.Pattern)):
        items = _split(value) if isinstance(value, str) else [value]
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = list(value)
    else:
        raise _bad(option, value, allowed)
    patterns = []
    for item in items:
        source = item.pattern if isinstance(item, re.Pattern) else item
        if not isinstance(source, str) or not source:
            raise _bad(option, value, allowed)
        try:
            re.compile(source)
        except re.error as exc:
            raise _bad(option, source, f"{allowed}; this one does not compile: {exc}") from None
        patterns.append(source)
    return tuple(patterns)


def _split(text: str) -> list[str]:
    parts = text.split("\n") if "\n" in text else text.split(",")
    return [part.strip() for part in parts if part.strip()]
