"""Every option of dual_log, in one table: ``Settings``.

Each field of ``Settings`` is one option: its name, its type (the field's), its default,
and in the field's metadata its environment variable, its parser, its help and the class
that takes it as an argument. ``OPTIONS`` is the same table as records, and drives the
rest: ``Settings.resolve`` (what ``setup()`` does), the arguments the handlers and the
formatters are built with (``dual_log._config``), ``dual-log doctor``'s options, and the
README's options table (``markdown_table``; a test holds the README to it).

This is the one place that reads ``DUAL_LOG_*`` and the platform's variables. A value is
resolved as keyword argument > environment variable > default, parsed once, and a bad one
raises ``ValueError`` naming the option, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import os
import re  # noqa: TC003  # Options's annotations are read at run time (get_type_hints)
from collections.abc import Callable, Mapping, Sequence  # noqa: TC003  # the same
from typing import Any, TypedDict, TypeVar

from dual_log._parsers import (
    MIN_FREE,
    Space,
    parse_bool,
    parse_count,
    parse_fields,
    parse_format,
    parse_level,
    parse_mode,
    parse_names,
    parse_optional_days,
    parse_path,
    parse_patterns,
    parse_seconds,
    parse_size,
    parse_space,
    parse_when,
)

# Where an option goes when handlers are built (by setup() and by dual_log.logging_config):
FILE = "file"  # an argument of dual_log.FileHandler
FORMATTER = "formatter"  # an argument of both formatters
JSON = "json"  # an argument of dual_log.JsonFormatter only
TEXT = "text"  # an argument of dual_log.TextFormatter only

# Where Fly.io says which app, region and machine a process runs on; the JSON file
# carries them so that files fetched from several machines stay apart.
PLATFORM_VARIABLES = {
    "fly_app": ("FLY_APP_NAME",),
    "fly_region": ("FLY_REGION",),
    "fly_machine": ("FLY_MACHINE_ID", "FLY_ALLOC_ID"),
}

T = TypeVar("T")


def option(
    default: T,
    parse: Callable[[Any, str], Any],
    env: str,
    doc: str,
    *,
    shown: str,
    sink: str | None = None,
    argument: str = "",
) -> T:
    """A field of ``Settings``: one option (see ``Option`` for what each part means)."""
    metadata = {
        "parse": parse,
        "env": env,
        "doc": doc,
        "shown": shown,
        "sink": sink,
        "argument": argument,
    }
    if isinstance(default, dict):
        return dataclasses.field(default_factory=dict, metadata=metadata)  # type: ignore[return-value]
    return dataclasses.field(default=default, metadata=metadata)


def _keep(value: object, option: str) -> int:
    return parse_count(value, option, 0)


def _queue_size(value: object, option: str) -> int:
    return parse_count(value, option, 1)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every option of dual_log, resolved: the one table of them.

    Build one with ``Settings.resolve(**options)``; ``Settings()`` holds every default.
    """

    # fmt: off
    path: str = option(
        "/logs/app.log", parse_path, "DUAL_LOG_PATH",
        "the log file; its folder is normally a mounted volume",
        shown="`/logs/app.log`", sink=FILE, argument="filename")
    level: int = option(
        20, parse_level, "DUAL_LOG_LEVEL",
        "level set on the logger `setup()` attaches to",
        shown="`INFO`")
    stdout_level: int = option(
        0, parse_level, "DUAL_LOG_STDOUT_LEVEL",
        "lowest level the stdout sink writes",
        shown="`NOTSET`")
    file_level: int = option(
        0, parse_level, "DUAL_LOG_FILE_LEVEL",
        "lowest level the file sink writes",
        shown="`NOTSET`")
    stdout_format: str = option(
        "text", parse_format, "DUAL_LOG_STDOUT_FORMAT",
        "`text` (`%(asctime)s %(levelname)s %(name)s %(message)s`, `asctime` in UTC as in "
        "the JSON `time`: `2026-11-24T09:30:41.854+00:00`) or `json`",
        shown="`text`")
    file_format: str = option(
        "json", parse_format, "DUAL_LOG_FILE_FORMAT",
        "`json` (one object a line) or `text`",
        shown="`json`")
    max_bytes: int = option(
        10 * 1024 * 1024, parse_size, "DUAL_LOG_MAX_BYTES",
        "rotate when the file reaches this size; `0` turns size rotation off",
        shown="`10MiB`", sink=FILE)
    keep: int = option(
        5, _keep, "DUAL_LOG_KEEP",
        "rotated files kept: `app.log.1` (newest) to `app.log.5`",
        shown="`5`", sink=FILE)
    when: str | None = option(
        None, parse_when, "DUAL_LOG_WHEN",
        "also rotate by time (UTC): `S`, `M`, `H`, `D`, `MIDNIGHT`, `W0`-`W6`",
        shown="none", sink=FILE)
    compress: bool = option(
        False, parse_bool, "DUAL_LOG_COMPRESS",
        "gzip rotated files (`app.log.1.gz`)",
        shown="`false`", sink=FILE)
    max_age_days: float | None = option(
        None, parse_optional_days, "DUAL_LOG_MAX_AGE_DAYS",
        "also delete rotated files older than this many days",
        shown="none", sink=FILE)
    queue: bool = option(
        True, parse_bool, "DUAL_LOG_QUEUE",
        "write the file from a background thread (see \"Write modes\")",
        shown="`true`", sink=FILE)
    queue_size: int = option(
        50_000, _queue_size, "DUAL_LOG_QUEUE_SIZE",
        "records held for the file (queued, or kept through a fault) before the oldest are "
        "dropped",
        shown="`50000`", sink=FILE)
    queue_timeout: float = option(
        1.0, parse_seconds, "DUAL_LOG_QUEUE_TIMEOUT",
        "seconds a log call waits for room in a full queue while the writer is healthy",
        shown="`1.0`", sink=FILE)
    flush_interval: float = option(
        0.25, parse_seconds, "DUAL_LOG_FLUSH_INTERVAL",
        "seconds a queued record may wait before the writer thread writes it",
        shown="`0.25`", sink=FILE)
    flush_bytes: int = option(
        4 * 1024 * 1024, parse_size, "DUAL_LOG_FLUSH_BYTES",
        "queued bytes that wake the writer thread before `flush_interval`",
        shown="`4MiB`", sink=FILE)
    min_free: Space = option(
        MIN_FREE, parse_space, "DUAL_LOG_MIN_FREE",
        "free space the file never takes from its volume: a size (`64MiB`) or a share "
        "(`5%`); `0` turns it off (see \"Never fill the volume\")",
        shown="`5%`, at most `64MiB`", sink=FILE)
    create_dirs: bool = option(
        False, parse_bool, "DUAL_LOG_CREATE_DIRS",
        "create a missing log folder (see \"A missing volume is loud\")",
        shown="`false`", sink=FILE)
    file_mode: int = option(
        0o640, parse_mode, "DUAL_LOG_FILE_MODE",
        "permissions of the log file, its lock file and rotated files",
        shown="`0640`", sink=FILE)
    dir_mode: int = option(
        0o750, parse_mode, "DUAL_LOG_DIR_MODE",
        "permissions of a folder dual_log creates",
        shown="`0750`", sink=FILE)
    stdout: bool = option(
        True, parse_bool, "DUAL_LOG_STDOUT",
        "attach the stdout sink",
        shown="`true`")
    static_fields: dict[str, Any] = option(
        {}, parse_fields, "DUAL_LOG_STATIC_FIELDS",
        "fields added to every JSON record (`service=api,team=core` in the environment)",
        shown="none", sink=JSON)
    platform_fields: bool = option(
        True, parse_bool, "DUAL_LOG_PLATFORM_FIELDS",
        "on Fly.io, add `fly_app`, `fly_region`, `fly_machine` and `host` to JSON records",
        shown="`true`", sink=JSON)
    text_extras: bool = option(
        True, parse_bool, "DUAL_LOG_TEXT_EXTRAS",
        "end each text line with the record's `extra` fields and the bound context as "
        "`key=value` (logfmt: quoted and escaped when needed, redacted like the rest); "
        "framework attributes such as Django's `request` are left out",
        shown="`true`", sink=TEXT, argument="extras")
    # Fly-Request-Id: what Fly.io's proxy sets on each request it forwards.
    request_id_headers: tuple[str, ...] = option(
        ("X-Request-Id", "Fly-Request-Id"), parse_names, "DUAL_LOG_REQUEST_ID_HEADERS",
        "request headers a request id is read from, in this order, else a new one is made; "
        "the first also names the response header (see \"Finding one request\")",
        shown="`X-Request-Id,Fly-Request-Id`")
    source_fields: bool = option(
        False, parse_bool, "DUAL_LOG_SOURCE_FIELDS",
        "add `lineno`, `funcName`, `module`, `threadName` and `processName` to JSON records",
        shown="`false`", sink=JSON)
    redact: bool = option(
        False, parse_bool, "DUAL_LOG_REDACT",
        "mask secrets in both sinks (see \"Redaction\" below for what is and is not caught)",
        shown="`false`", sink=FORMATTER)
    redact_keys: tuple[str, ...] = option(
        (), parse_names, "DUAL_LOG_REDACT_KEYS",
        "more key names to mask beside the built-in ones (`pin,cvv` in the environment); "
        "turns `redact` on",
        shown="none", sink=FORMATTER)
    redact_patterns: tuple[str, ...] = option(
        (), parse_patterns, "DUAL_LOG_REDACT_PATTERNS",
        "regular expressions whose matches are masked (or only their groups, if they have "
        "any); turns `redact` on",
        shown="none", sink=FORMATTER)
    handle_signals: bool = option(
        True, parse_bool, "DUAL_LOG_HANDLE_SIGNALS",
        "on SIGTERM/SIGINT write what is queued, then pass the signal on",
        shown="`true`")
    # fmt: on

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None, /, **given: Any) -> Settings:
        """Resolve every option: keyword (when not None) > environment > default.

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


@dataclasses.dataclass(frozen=True)
class Option:
    """One option, as ``Settings`` declares it.

    Attributes:
        name: the keyword of ``setup()``.
        env: the environment variable read when the keyword is not given.
        default: the parsed default.
        parse: turns a given value (or the variable's text) into the option's value.
        doc: what it does, for the README and the command lines (Markdown).
        shown: the default as the README shows it.
        sink: which class takes it as a keyword argument (``FILE``, ``FORMATTER``,
            ``JSON``, ``TEXT``; None for what set-up itself uses).
        argument: the keyword of that class, when it is not the option's name.
    """

    name: str
    env: str
    default: Any
    parse: Callable[[Any, str], Any]
    doc: str
    shown: str
    sink: str | None
    argument: str

    @property
    def keyword(self) -> str:
        """The keyword argument this option is passed as to its handler or formatter."""
        return self.argument or self.name


def _options() -> tuple[Option, ...]:
    found = []
    for field in dataclasses.fields(Settings):
        default: Any = field.default
        if field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        found.append(Option(field.name, default=default, **field.metadata))
    return tuple(found)


OPTIONS = _options()
OPTION_NAMES = tuple(o.name for o in OPTIONS)
_BY_NAME = {o.name: o for o in OPTIONS}


class Options(TypedDict, total=False):
    """The keyword options of ``setup()`` and of every helper that takes them, typed.

    For type checkers only: ``setup(levl="DEBUG")`` or ``setup(keep="five")`` is an error
    before anything runs. At run time the same mistakes raise ``TypeError`` and
    ``ValueError``. ``None`` means "not given": the ``DUAL_LOG_*`` variable, else the
    default, applies. The names are ``Settings``'s, in its order (a test compares them);
    the types are what each parser accepts.
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


def redaction_on(values: Mapping[str, Any]) -> bool:
    """Whether resolved ``redact``, ``redact_keys`` and ``redact_patterns`` ask for masking.

    Giving keys or patterns of one's own turns redaction on: asking for a secret to be
    masked and having it written as it is would be the worst reading of the options.
    """
    return bool(values.get("redact") or values.get("redact_keys") or values.get("redact_patterns"))


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
    for name, value in given.items():
        known = _BY_NAME[name]
        if value is None and env.get(known.env, "").strip():
            values[name] = known.parse(env[known.env], f"{name} (from {known.env})")
        elif value is None:
            values[name] = known.default  # parsed already
        else:
            values[name] = known.parse(value, name)
    return values


def resolve_arguments(sink: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Resolve the options a class takes as ``sink``, from its keyword ``arguments`` (by
    their keyword names; other names are ignored): by option name."""
    return resolve({o.name: arguments.get(o.keyword) for o in OPTIONS if o.sink == sink})


def given_names(given: Mapping[str, Any]) -> set[str]:
    """The names of the options given a value in code: a keyword that is not None."""
    return {name for name, value in given.items() if value is not None}


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
        import socket  # here: only on the platform, and import dual_log stays light

        fields["host"] = socket.gethostname()
    return fields


def markdown_table() -> str:
    """The README's options table, from ``OPTIONS``."""
    lines = [
        "| option | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{o.name}` | `{o.env}` | {o.shown} | {o.doc} |" for o in OPTIONS]
    return "\n".join(lines)
