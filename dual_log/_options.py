"""Every option of dual_log: its parser, its environment variable and its default.

This is the one place that reads ``DUAL_LOG_*`` and the platform's variables.
A value is resolved as keyword argument > environment variable > default, and a bad
one raises ``ValueError`` naming the option, the value and what is allowed.
The README's option table is checked against ``OPTIONS`` by the tests: amend both.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict

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

# Where Fly.io says which app, region and machine a process runs on; the JSON file
# carries them so that files fetched from several machines stay apart.
PLATFORM_VARIABLES = {
    "fly_app": ("FLY_APP_NAME",),
    "fly_region": ("FLY_REGION",),
    "fly_machine": ("FLY_MACHINE_ID", "FLY_ALLOC_ID"),
}


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
            return dict(value)
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


# Where an option goes when handlers are built (by setup() and by dual_log.logging_config):
FILE = "file"  # an argument of dual_log.FileHandler
FORMATTER = "formatter"  # an argument of both formatters
JSON = "json"  # an argument of dual_log.JsonFormatter only
TEXT = "text"  # an argument of dual_log.TextFormatter only


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: its name, environment variable, default, parser and one-line doc.

    ``sink`` says which class takes it as a keyword argument (``FILE``, ``FORMATTER``,
    ``JSON``; None for what set-up itself uses), under the name ``argument`` (default: the
    option's name). A new handler or formatter option is then one line of ``OPTIONS``.
    """

    name: str
    env: str | None
    default: Any
    parse: Callable[[Any, str], Any]
    doc: str
    sink: str | None = None
    argument: str = ""

    @property
    def keyword(self) -> str:
        """The keyword argument this option is passed as to its handler or formatter."""
        return self.argument or self.name


OPTIONS: tuple[Option, ...] = (
    Option("path", "DUAL_LOG_PATH", "/logs/app.log", parse_path,
           "the log file; its folder is normally a mounted volume", FILE, "filename"),
    Option("level", "DUAL_LOG_LEVEL", "INFO", parse_level,
           "level set on the logger setup() attaches to"),
    Option("stdout_level", "DUAL_LOG_STDOUT_LEVEL", "NOTSET", parse_level,
           "lowest level the stdout sink writes"),
    Option("file_level", "DUAL_LOG_FILE_LEVEL", "NOTSET", parse_level,
           "lowest level the file sink writes"),
    Option("stdout_format", "DUAL_LOG_STDOUT_FORMAT", "text", parse_format,
           "'text' (human lines) or 'json' (one JSON object a line)"),
    Option("file_format", "DUAL_LOG_FILE_FORMAT", "json", parse_format,
           "'json' or 'text'"),
    Option("max_bytes", "DUAL_LOG_MAX_BYTES", "10MiB", parse_size,
           "rotate when the file reaches this size; 0 turns size rotation off", FILE),
    Option("keep", "DUAL_LOG_KEEP", 5, lambda v, o: parse_count(v, o, 0),
           "rotated files kept (app.log.1 ... app.log.N)", FILE),
    Option("when", "DUAL_LOG_WHEN", None, parse_when,
           "also rotate by time: S, M, H, D, MIDNIGHT or W0-W6 (None: size only)", FILE),
    Option("compress", "DUAL_LOG_COMPRESS", False, parse_bool,
           "gzip rotated files", FILE),
    Option("max_age_days", "DUAL_LOG_MAX_AGE_DAYS", None, parse_optional_days,
           "also delete rotated files older than this many days", FILE),
    Option("queue", "DUAL_LOG_QUEUE", True, parse_bool,
           "write the file from a background thread (stdout stays synchronous)", FILE),
    Option("queue_size", "DUAL_LOG_QUEUE_SIZE", 50_000, lambda v, o: parse_count(v, o, 1),
           "records held for the file (queued, or kept through a fault) before the oldest "
           "are dropped", FILE),
    Option("queue_timeout", "DUAL_LOG_QUEUE_TIMEOUT", 1.0, parse_seconds,
           "seconds a log call waits for room in a full queue while the writer is healthy",
           FILE),
    Option("flush_interval", "DUAL_LOG_FLUSH_INTERVAL", 0.25, parse_seconds,
           "seconds queued records may wait before the writer thread writes them", FILE),
    Option("flush_bytes", "DUAL_LOG_FLUSH_BYTES", "4MiB", parse_size,
           "queued bytes that wake the writer thread before flush_interval", FILE),
    Option("min_free", "DUAL_LOG_MIN_FREE", MIN_FREE, parse_space,
           "free space the file never takes from the volume ('64MiB' or '5%'; 0: none)", FILE),
    Option("create_dirs", "DUAL_LOG_CREATE_DIRS", False, parse_bool,
           "create a missing log folder (off: a missing volume is reported, not hidden)", FILE),
    Option("file_mode", "DUAL_LOG_FILE_MODE", 0o640, parse_mode,
           "permissions of the log file, its lock and rotated files", FILE),
    Option("dir_mode", "DUAL_LOG_DIR_MODE", 0o750, parse_mode,
           "permissions of a folder dual_log creates", FILE),
    Option("stdout", "DUAL_LOG_STDOUT", True, parse_bool,
           "attach the stdout sink"),
    Option("static_fields", "DUAL_LOG_STATIC_FIELDS", None, parse_fields,
           "fields added to every JSON record ('key=value,key=value' in the environment)", JSON),
    Option("platform_fields", "DUAL_LOG_PLATFORM_FIELDS", True, parse_bool,
           "add fly_app, fly_region, fly_machine and host to JSON records when FLY_* is set",
           JSON),
    Option("text_extras", "DUAL_LOG_TEXT_EXTRAS", True, parse_bool,
           "end each text line with the record's extra fields and bound context as key=value",
           TEXT, "extras"),
    # Fly-Request-Id: what Fly.io's proxy sets on each request it forwards.
    Option("request_id_headers", "DUAL_LOG_REQUEST_ID_HEADERS", ("X-Request-Id", "Fly-Request-Id"),
           parse_names, "request headers a request id is read from, in this order (else a new "
           "id is made); the first also names the response header"),
    Option("source_fields", "DUAL_LOG_SOURCE_FIELDS", False, parse_bool,
           "add lineno, funcName, module, threadName and processName to JSON records", JSON),
    Option("redact", "DUAL_LOG_REDACT", False, parse_bool,
           "mask secrets in both sinks: values of sensitive keys, key=value pairs, URL "
           "passwords, Authorization headers", FORMATTER),
    Option("redact_keys", "DUAL_LOG_REDACT_KEYS", (), parse_names,
           "more key substrings to mask, beside password, token, ... (turns redact on)",
           FORMATTER),
    Option("redact_patterns", "DUAL_LOG_REDACT_PATTERNS", (), parse_patterns,
           "regular expressions whose matches (or groups) are masked (turns redact on)",
           FORMATTER),
    Option("handle_signals", "DUAL_LOG_HANDLE_SIGNALS", True, parse_bool,
           "on SIGTERM/SIGINT write what is queued, then pass the signal on"),
)  # fmt: skip

OPTION_NAMES = tuple(o.name for o in OPTIONS)


class Options(TypedDict, total=False):
    """The keyword options of ``setup()`` and of every helper that takes them, typed.

    For type checkers only: ``setup(levl="DEBUG")`` or ``setup(keep="five")`` is an error
    before anything runs. At run time the same mistakes raise ``TypeError`` and
    ``ValueError`` (``OPTIONS`` parses each value, and also accepts the environment's text
    forms, such as ``keep="5"``). ``None`` means "not given": the ``DUAL_LOG_*`` variable,
    else the default, applies. Keep it in step with ``OPTIONS`` (a test compares them).
    """

    path: str | os.PathLike[str] | None
    level: int | str | None
    stdout_level: int | str | None
    file_level: int | str | None
    stdout_format: str | None
    file_format: str | None
    max_bytes: int | str | None
    keep: int | None
    when: str | None
    compress: bool | None
    max_age_days: float | None
    queue: bool | None
    queue_size: int | None
    queue_timeout: float | None
    flush_interval: float | None
    flush_bytes: int | str | None
    min_free: int | str | Space | None
    create_dirs: bool | None
    file_mode: int | str | None
    dir_mode: int | str | None
    stdout: bool | None
    static_fields: Mapping[str, object] | str | None
    platform_fields: bool | None
    text_extras: bool | None
    request_id_headers: Sequence[str] | str | None
    source_fields: bool | None
    redact: bool | None
    redact_keys: Sequence[str] | str | None
    redact_patterns: Sequence[str | re.Pattern[str]] | str | None
    handle_signals: bool | None


@dataclasses.dataclass(frozen=True)
class Settings:
    """The resolved options of one ``setup()`` call (see ``OPTIONS`` for each one's meaning)."""

    path: str
    level: int
    stdout_level: int
    file_level: int
    stdout_format: str
    file_format: str
    max_bytes: int
    keep: int
    when: str | None
    compress: bool
    max_age_days: float | None
    queue: bool
    queue_size: int
    queue_timeout: float
    flush_interval: float
    flush_bytes: int
    min_free: Space
    create_dirs: bool
    file_mode: int
    dir_mode: int
    stdout: bool
    static_fields: dict[str, Any]
    platform_fields: bool
    text_extras: bool
    request_id_headers: tuple[str, ...]
    source_fields: bool
    redact: bool
    redact_keys: tuple[str, ...]
    redact_patterns: tuple[str, ...]
    handle_signals: bool

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, /, **given: Any) -> Settings:
        """Resolve every option: keyword (when not None) > environment > default.

        Options not given are resolved as if given as None.

        Args:
            environ: the environment to read; ``os.environ`` when None.
            **given: options by name; ``None`` means "not given".

        Raises:
            TypeError: an unknown option name.
            ValueError: a bad value, naming the option, the value and what is allowed.
        """
        everything: dict[str, Any] = dict.fromkeys(OPTION_NAMES)
        everything.update(given)  # an unknown name stays in, for resolve() to refuse
        values = resolve(everything, environ)
        values["redact"] = redaction_on(values)
        return cls(**values)


def redaction_on(values: Mapping[str, Any]) -> bool:
    """Whether resolved ``redact``, ``redact_keys`` and ``redact_patterns`` ask for masking.

    Giving keys or patterns of one's own turns redaction on: asking for a secret to be
    masked and having it written as it is would be the worst reading of the options.
    """
    return bool(values.get("redact") or values.get("redact_keys") or values.get("redact_patterns"))


def explicit(given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> set[str]:
    """The names of the options given a value: a keyword that is not None, or a set variable.

    The rest take their defaults, which a handler or formatter left without the argument
    resolves the same way, so a config dict can leave them out.
    """
    env = os.environ if environ is None else environ
    return {
        option.name
        for option in OPTIONS
        if given.get(option.name) is not None
        or (option.env is not None and env.get(option.env, "").strip())
    }


def resolve(given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve the options named in ``given``: the value (when not None) > environment > default.

    Raises:
        TypeError: an unknown option name, listing the known ones.
        ValueError: a bad value, naming the option (and its variable), the value and what
            is allowed.
    """
    unknown = sorted(set(given) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(
            f"dual_log: unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(OPTION_NAMES)}"
        )
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.name not in given:
            continue
        value = given[option.name]
        label = option.name
        if value is None and option.env and env.get(option.env, "").strip():
            value = env[option.env]
            label = f"{option.name} (from {option.env})"
        if value is None:
            value = option.default
        values[option.name] = option.parse(value, label)
    return values


def platform_fields(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Fields naming the platform's app, region and machine, plus the host name.

    Empty when no platform variable is set, so nothing is added off the platform.
    """
    env = os.environ if environ is None else environ
    fields: dict[str, str] = {}
    for field, names in PLATFORM_VARIABLES.items():
        for name in names:
            if env.get(name):
                fields[field] = env[name]
                break
    if fields:
        fields["host"] = socket.gethostname()
    return fields
