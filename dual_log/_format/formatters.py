"""The two formats a sink can write: human text lines and JSON lines.

Both formatters work on a copy of the record (see ``_records``), so nothing one of them
computes (an escaped message, a cached traceback, an ``asctime``) reaches the other sink,
and neither ever raises: a record that cannot be formatted as asked is still written,
marked with what went wrong.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from json.encoder import encode_basestring as _quote
from json.encoder import encode_basestring_ascii as _quote_ascii
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonEncoder as PythonJsonLoggerEncoder
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from dual_log import _options as _settings
from dual_log._context import current
from dual_log._facts import utc_text
from dual_log._format import records as _records
from dual_log._format.redact import MASK, SENSITIVE_KEYS, Redactor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# The prefix of an extra whose name is taken by one of the record's own fields (README:
# "Fields of the JSON file"): amend it there if edited here.
EXTRA_PREFIX = "extra."
# Quoted in the README's option table and in integrations/*: amend them there if edited here.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(process)d"
JSON_RENAMES = {"levelname": "level", "name": "logger", "process": "pid"}


class TextFormatter(logging.Formatter):
    """One human-readable line per record (the traceback, if any, follows on its own lines).

    Args:
        fmt: a ``logging`` format string; default ``"%(asctime)s %(levelname)s %(name)s
            %(message)s"``.
        datefmt: a ``time.strftime`` format for ``asctime``, in UTC. Default: ISO 8601 in
            UTC with milliseconds and offset (``2026-11-24T09:30:41.854+00:00``), the JSON
            ``time`` to the character.
        style: ``"%"``, ``"{"`` or ``"$"``, as in ``logging.Formatter``.
        validate: check ``fmt`` against ``style`` at once.
        defaults: values for fields a record lacks, as in ``logging.Formatter``.
        escape: remove ANSI colour sequences, and escape CR, LF, other control characters
            and lone surrogates in the message, so no message can forge a log line or colour
            one (default True).
        redact: mask secrets (see the README's "Redaction"): True for
            ``dual_log.SENSITIVE_KEYS`` and the text patterns, or the key substrings to use
            instead. Default ``DUAL_LOG_REDACT``, else False.
        redact_keys: key substrings to mask beside ``dual_log.SENSITIVE_KEYS`` (turns
            redaction on). Default ``DUAL_LOG_REDACT_KEYS``, else none.
        redact_patterns: regular expressions whose matches (or groups) are masked in text
            (turns redaction on). Default ``DUAL_LOG_REDACT_PATTERNS``, else none.
        extras: end each line with the record's ``extra`` fields, and the fields bound with
            ``dual_log.bind``/``dual_log.context``, as logfmt ``key=value`` pairs (those
            ``fmt`` names already, and what servers attach for their own use, such as
            Django's ``request``, are left out). Default ``DUAL_LOG_TEXT_EXTRAS``, else True.

    Raises:
        ValueError: a bad ``redact*`` or ``extras`` value, naming the option.
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: str = "%",
        validate: bool = True,
        *,
        defaults: Mapping[str, Any] | None = None,
        escape: bool = True,
        extras: bool | str | None = None,
        redact: bool | Iterable[str] | None = None,
        redact_keys: Iterable[str] | str | None = None,
        redact_patterns: Iterable[str | re.Pattern[str]] | str | None = None,
    ) -> None:
        super().__init__(
            fmt or TEXT_FORMAT,
            datefmt,
            style,  # type: ignore[arg-type]  # typeshed narrows this to a Literal
            validate,
            defaults=defaults,
        )
        self.escape = escape
        self.extras: bool = _settings.resolve({"text_extras": extras})["text_extras"]
        self.redactor = _redactor(redact, redact_keys, redact_patterns)
        # Fields the format string shows already: not repeated as key=value.
        self._named = frozenset(_FIELD_NAMES[style].findall(self._fmt or ""))
        # The default line of a plain record, built without copying it (see format()).
        self._fast = (
            fmt is None and datefmt is None and escape and not defaults and self.redactor is None
        )

    # UTC, like the JSON file's "time": the same record shows the same instant in both
    # sinks, whatever the machine's (or Django's TIME_ZONE's) local time. README: option table.
    converter: Callable[[float | None], time.struct_time] = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """``asctime``: ISO 8601 in UTC with its offset, or ``datefmt`` applied in UTC."""
        if datefmt:
            return super().formatTime(record, datefmt)
        return utc_text(record.created)

    def format(self, record: logging.LogRecord) -> str:
        """Format a copy of ``record``; never raises, never changes ``record``."""
        if self._fast and type(self) is TextFormatter and _plain_text(record):
            # The common case, read straight off the record: the same line as below.
            message = _records.message_of(record)
            if not message.isprintable():
                message = _records.escape_text(message)
            line = f"{utc_text(record.created)} {record.levelname} {record.name} {message}"
            if self.extras:
                bound = current()
                if bound or len(record.__dict__) != _PLAIN_SIZE:
                    tail = _records.text_fields(record.__dict__, bound)
                    if tail:
                        line = f"{line} {tail}"
            return line
        try:
            copy = _records.view(record, self.redactor)
        except Exception as exc:  # a user LogRecord class whose copy fails
            return self._fallback(record, exc)
        return self.format_copy(copy)

    def format_copy(self, copy: logging.LogRecord) -> str:
        """Format ``copy``, a copy made by ``_records`` that this formatter may change."""
        try:
            _records.exception_text(copy, self.redactor)
            # The copy's message is rendered already (args cleared): what follows is
            # logging.Formatter.format without rendering it a second time.
            message = str(copy.msg)
            if self.escape:
                message = copy.msg = _records.escape_text(message)
                if copy.exc_text:
                    copy.exc_text = "\n".join(
                        _records.escape_text(line) for line in copy.exc_text.split("\n")
                    )
            copy.message = message
            if self.usesTime():
                copy.asctime = self.formatTime(copy, self.datefmt)
            line = self.formatMessage(copy)
            if self.extras:
                named = self._named
                fields = copy.__dict__
                # The bound fields are among the copy's extras already (see _records.view).
                tail = _records.text_fields(
                    {k: v for k, v in fields.items() if k not in named} if named else fields,
                    {},
                )
                if tail:
                    line = f"{line} {tail}"
            if copy.exc_text:
                line = (line if line[-1:] == "\n" else line + "\n") + copy.exc_text
            if copy.stack_info:
                line = (line if line[-1:] == "\n" else line + "\n") + self.formatStack(
                    copy.stack_info
                )
            return line
        except Exception as exc:  # a user format string or formatTime that raises
            return self._fallback(copy, exc)

    def _fallback(self, record: logging.LogRecord, exc: Exception) -> str:
        message = _fallback_text(_records.safe_repr(getattr(record, "msg", None)), self.redactor)
        return (
            f"{getattr(record, 'levelname', '?')} {getattr(record, 'name', '?')} "
            f"{_records.escape_text(message)} "
            f"[dual_log: record not formatted: {type(exc).__name__}]"
        )


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line, built on python-json-logger.

    Each object has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``pid``,
    every ``extra`` field, ``exc_info``/``stack_info`` when present, ``static_fields``, and on
    Fly.io ``fly_app``, ``fly_region``, ``fly_machine`` and ``host``. Line breaks and other
    control characters are JSON-escaped, so one record is always exactly one line; ANSI
    colour sequences are removed from the message and the traceback, uvicorn's
    ``color_message`` is left out, and a request object Django attaches is written as
    ``"GET /path"`` (a socket is left out). Values JSON cannot encode are written as their
    ``str``, else their ``repr``, else a placeholder.

    Args:
        fmt: the fields to take from the record, as python-json-logger reads them; default
            ``"%(levelname)s %(name)s %(message)s %(process)d"``.
        datefmt: used only if ``fmt`` names ``asctime``.
        style: ``"%"``, ``"{"``, ``"$"`` or ``","``, as python-json-logger reads them.
        validate: check ``fmt`` against ``style`` at once.
        static_fields: fields added to every record. Default ``DUAL_LOG_STATIC_FIELDS``.
        platform_fields: add the Fly.io fields above when ``FLY_*`` variables are set.
            Default ``DUAL_LOG_PLATFORM_FIELDS``, else True.
        source_fields: add ``lineno``, ``funcName``, ``module``, ``threadName`` and
            ``processName``. Default ``DUAL_LOG_SOURCE_FIELDS``, else False.
        rename_fields: output names for record fields; default ``levelname`` -> ``level``,
            ``name`` -> ``logger``, ``process`` -> ``pid``.
        time_field: the key of the UTC timestamp, or ``None`` for no timestamp.
        redact, redact_keys, redact_patterns: as for ``TextFormatter``.
        **kwargs: any other python-json-logger ``JsonFormatter`` argument.

    Raises:
        ValueError: a bad value of a dual_log argument, naming the option.
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: str = "%",
        validate: bool = True,
        *,
        static_fields: Mapping[str, Any] | str | None = None,
        platform_fields: bool | None = None,
        source_fields: bool | None = None,
        rename_fields: Mapping[str, str] | None = None,
        time_field: str | None = "time",
        redact: bool | Iterable[str] | None = None,
        redact_keys: Iterable[str] | str | None = None,
        redact_patterns: Iterable[str | re.Pattern[str]] | str | None = None,
        **kwargs: Any,
    ) -> None:
        options = _settings.resolve(
            {
                "static_fields": static_fields,
                "platform_fields": platform_fields,
                "source_fields": source_fields,
            }
        )
        fields = _settings.platform_fields() if options["platform_fields"] else {}
        fields.update(options["static_fields"])
        super().__init__(
            fmt or JSON_FIELDS,
            datefmt,
            style,
            validate,
            static_fields=fields,
            rename_fields=dict(JSON_RENAMES if rename_fields is None else rename_fields),
            **kwargs,
        )
        self.time_field = time_field
        self.source_fields: bool = options["source_fields"]
        self.redactor = _redactor(redact, redact_keys, redact_patterns)
        self._encoder: tuple[tuple[Any, ...], json.JSONEncoder] | None = None
        self._line: _LineParts | None = None
        # The default shape, for which format() builds the line itself: python-json-logger's
        # own options and every method a subclass may override take the full path.
        self._fast = (
            fmt is None
            and style == "%"
            and rename_fields is None
            and not kwargs
            and self.redactor is None
        )

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        """Put the timestamp first, then python-json-logger's fields, then the source's."""
        if self.time_field:
            log_data[self.time_field] = utc_text(record.created)
        super().add_fields(log_data, record, message_dict)
        if self.source_fields:
            log_data.update(_source_fields(record))

    def format(self, record: logging.LogRecord) -> str:
        """Format a copy of ``record`` as one JSON line; never raises, never changes ``record``."""
        if self._fast and type(self) is JsonFormatter and _plain_text(record):
            line = None
            if len(record.__dict__) == _PLAIN_SIZE and not self.source_fields and not current():
                line = self._line_of_plain(record)
            if line is None:
                line = self._format_plain(record)
            if line is not None:
                return line
        try:
            copy = _records.view(record, self.redactor)
        except Exception as exc:  # a user LogRecord class, or a mapping whose items() raise
            return _fallback_json(record, self, exc)
        return self.format_copy(copy)

    def format_copy(self, copy: logging.LogRecord) -> str:
        """Format ``copy``, a copy made by ``_records`` that this formatter may change."""
        self._name_extras(copy)
        exc_text = _records.exception_text(copy, self.redactor)
        if exc_text:
            copy.exc_text = _records.strip_ansi(exc_text)
        copy.exc_info = None  # the text above is what python-json-logger then writes
        if isinstance(copy.msg, str):
            copy.msg = _records.strip_ansi(copy.msg)
        try:
            return super().format(copy)
        except Exception as exc:  # circular or non-string-keyed extras, a raising default
            return _fallback_json(copy, self, exc)

    def _name_extras(self, copy: logging.LogRecord) -> None:
        """Give the copy's extras (and a dict message's keys) the names they are written
        under: a key that is not text as its text, and one that would take the place of
        the record's own fields (``time``, ``level``, ``logger``, ``message``, ``pid``, the
        static and platform fields) prefixed with ``extra.``, so that ``extra={"level":
        "forged"}`` can never overwrite the level."""
        own = {self.time_field, *self.static_fields}
        own.update(self._get_rename(field) for field in self._required_fields)
        fields = copy.__dict__
        skip = self._skip_fields
        clashes = [
            key
            for key in fields
            if key not in skip and (key.__class__ is not str or self._get_rename(key) in own)
        ]
        for key in clashes:
            value = fields.pop(key)
            name = key if key.__class__ is str else str(key)
            while self._get_rename(name) in own or name in skip or name in fields:
                name = EXTRA_PREFIX + name  # never over another field, whatever its name
            fields[name] = value
        if isinstance(copy.msg, dict) and any(
            key.__class__ is not str or self._get_rename(key) in own for key in copy.msg
        ):
            payload: dict[str, Any] = {}
            for key, value in copy.msg.items():
                name = key if key.__class__ is str else str(key)
                payload[EXTRA_PREFIX + name if self._get_rename(name) in own else name] = value
            copy.msg = payload

    def _format_plain(self, record: logging.LogRecord) -> str | None:
        """The line python-json-logger's path writes for a plain record, or None.

        The same keys in the same order (time, level, logger, message, pid, the static
        fields, the extras, the source fields), read off the record without copying it.
        None sends anything unusual (an extra that needs tidying, a value JSON cannot
        encode) down the full path.
        """
        fields = record.__dict__
        data: dict[str, Any] = {}
        if self.time_field:
            data[self.time_field] = utc_text(record.created)
        data["level"] = record.levelname
        data["logger"] = record.name
        data["message"] = _records.strip_ansi(_records.message_of(record))
        data["pid"] = record.process
        data.update(self.static_fields)
        if len(fields) != _PLAIN_SIZE:
            skip = self._skip_fields
            for key, value in fields.items():
                if key not in skip:
                    if key.__class__ is not str or key in _TIDIED or key in data:
                        return None  # the full path names it, tidies it or prefixes it
                    if key[:1] != "_":
                        data[key] = value
        bound = current()
        for key, value in bound.items():  # after the extras, as on the full path
            if key not in fields:
                if key in data or key in _TIDIED:
                    return None
                data[key] = value
        if self.source_fields:
            data.update(_source_fields(record))
        try:
            return self.jsonify_log_record(data)
        except Exception:  # e.g. an extra JSON cannot encode: the full path knows what to do
            return None

    def _line_of_plain(self, record: logging.LogRecord) -> str | None:
        """The line of a record with no extras, written as text rather than through a dict.

        Character for character what ``jsonify_log_record`` writes for the dict that
        ``_format_plain`` builds: the same escaping functions the json encoder calls, the
        same separators. None when a setting or a value asks for the encoder itself.
        """
        parts = self._line
        if parts is None or parts[0] != self.static_fields:
            parts = self._line = self._line_parts()
        _, head, tail, quote = parts
        level, name, pid = record.levelname, record.name, record.process
        if tail is None or type(level) is not str or type(name) is not str or type(pid) is not int:
            return None
        message = quote(_records.strip_ansi(_records.message_of(record)))
        time_text = f'{head}{utc_text(record.created)}", ' if head else "{"
        return (
            f'{time_text}"level": {quote(level)}, "logger": {quote(name)}, '
            f'"message": {message}, "pid": {pid}{tail}}}'
        )

    def _line_parts(self) -> _LineParts:
        """What every plain line shares: the time key, the static fields, the quoting.

        The static fields end the line (``, "key": value, ...``); None in their place
        when the encoder is one whose text cannot be predicted, a static value JSON
        cannot encode, or a static field takes the place of a record field.
        """
        fields = dict(self.static_fields)
        quote = _quote_ascii if self.json_ensure_ascii else _quote
        head = f'{{{quote(self.time_field)}: "' if self.time_field else ""
        tail: str | None = None
        if (
            self.json_serializer is json.dumps
            and self.json_indent is None
            and self.json_encoder in _PLAIN_ENCODERS
            and {"level", "logger", "message", "pid", self.time_field}.isdisjoint(fields)
        ):
            try:
                tail = "".join(
                    f", {self.jsonify_log_record({k: v})[1:-1]}" for k, v in fields.items()
                )
            except Exception:  # a static value JSON cannot encode: the full path copes
                tail = None
        return fields, head, tail, quote

    def __setattr__(self, name: str, value: Any) -> None:
        # A setting a plain line depends on, changed after __init__ (python-json-logger's
        # attributes are public): the line's shared parts are worked out again.
        if name in _LINE_SETTINGS:
            self.__dict__["_line"] = None
        super().__setattr__(name, value)

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        """python-json-logger's ``json.dumps`` call, with the encoder built once, not per record."""
        if self.json_serializer is not json.dumps or self.json_indent is not None:
            return str(super().jsonify_log_record(log_data))
        key = (self.json_encoder, self.json_default, self.json_ensure_ascii)
        cached = self._encoder
        if cached is None or cached[0] != key:
            # The arguments json.dumps would pass; attributes changed later are followed.
            encoder_class = self.json_encoder or json.JSONEncoder
            encoder = encoder_class(ensure_ascii=self.json_ensure_ascii, default=self.json_default)
            cached = self._encoder = (key, encoder)
        return str(cached[1].encode(log_data))


# The fields a format string names, by style.
_FIELD_NAMES = {
    "%": re.compile(r"%\((\w+)\)"),
    "{": re.compile(r"\{(\w+)"),
    "$": re.compile(r"\$\{?(\w+)"),
}
# A record as Logger.makeRecord builds it has this many attributes; more means extras
# (or what another handler's formatter cached on it).
_PLAIN_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
# What every plain line shares (see JsonFormatter._line_parts).
_LineParts = tuple[dict[str, Any], str, "str | None", "Callable[[str], str]"]
# The settings those parts depend on.
_LINE_SETTINGS = frozenset(
    (
        "json_serializer",
        "json_indent",
        "json_encoder",
        "json_default",
        "json_ensure_ascii",
        "time_field",
        "static_fields",
    )
)
# Encoders whose text for strings and integers is json's own: _line_of_plain may write it.
_PLAIN_ENCODERS = (None, json.JSONEncoder, PythonJsonLoggerEncoder)
# Extras the full path rewrites (_records.view): Django's request, uvicorn's colour copy.
_TIDIED = frozenset(("request", "color_message"))


def _source_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Where a record was made: the fields ``source_fields=True`` adds to the JSON."""
    return {
        "lineno": record.lineno,
        "funcName": record.funcName,
        "module": record.module,
        "threadName": record.threadName,
        "processName": record.processName,
    }


def _plain_text(record: logging.LogRecord) -> bool:
    """Whether ``record`` is a plain one: a text message, no traceback or stack to render."""
    return (
        type(record) is logging.LogRecord
        and not record.exc_info
        and not record.exc_text
        and not record.stack_info
        and not isinstance(record.msg, dict)
    )


def _redactor(
    redact: bool | Iterable[str] | None,
    redact_keys: Iterable[str] | str | None,
    redact_patterns: Iterable[str | re.Pattern[str]] | str | None,
) -> Redactor | None:
    """The formatter's Redactor, or None (no cost at all) when redaction is off.

    Arguments left out follow ``DUAL_LOG_REDACT*``, as ``setup()`` resolves them.
    """
    keys: Iterable[str] = SENSITIVE_KEYS
    if redact is not None and not isinstance(redact, bool):  # the key substrings themselves
        keys = [redact] if isinstance(redact, str) else list(redact)
        redact = True
    options = _settings.resolve(
        {"redact": redact, "redact_keys": redact_keys, "redact_patterns": redact_patterns}
    )
    if not _settings.redaction_on(options):
        return None
    return Redactor([*keys, *options["redact_keys"]], options["redact_patterns"])


def _fallback_text(text: str, redactor: Redactor | None) -> str:
    """Text for a fallback line; with redaction on, masked, or withheld if masking fails."""
    if redactor is None:
        return text
    try:
        return redactor.text(text)
    except Exception:  # not expected: the patterns only read text
        return "<not shown, could not be redacted>"


def _fallback_value(key: str, value: Any, redactor: Redactor | None) -> str:
    """An extra's safe repr; with redaction on, never a secret, even if redacting fails."""
    if redactor is None:
        return _records.safe_repr(value)
    if redactor.sensitive(key):
        return MASK
    try:
        return _records.safe_repr(redactor.value(value))
    except Exception:  # a mapping that cannot be read cannot be shown safely either
        return f"<{type(value).__name__}: not shown, could not be redacted>"


def _fallback_json(record: logging.LogRecord, formatter: JsonFormatter, error: Exception) -> str:
    """The record as JSON with every doubtful value replaced by its safe repr."""
    data: dict[str, Any] = {}
    if formatter.time_field:
        data[formatter.time_field] = utc_text(record.created)
    redactor = formatter.redactor
    data.update(
        level=record.levelname,
        logger=record.name,
        # With redaction on, mapping arguments may hold secrets: the template alone then.
        message=_fallback_text(_records.render_message(record), redactor)
        if redactor is None or not isinstance(record.args, Mapping)
        else _fallback_text(
            f"{_records.safe_repr(record.msg)} [dual_log: arguments not shown]", redactor
        ),
        pid=record.process,
    )
    for key, value in record.__dict__.items():
        if key in formatter.reserved_attrs:
            continue
        name = key if isinstance(key, str) else _records.safe_repr(key)
        data[EXTRA_PREFIX + name if name in data else name] = _fallback_value(name, value, redactor)
    if record.exc_text:
        data["exc_info"] = record.exc_text
    elif record.exc_info:
        data["exc_info"] = _records.format_exception(record.exc_info)
    data.update(formatter.static_fields)
    data["dual_log_error"] = f"record not fully encodable: {type(error).__name__}"
    try:
        return json.dumps(data, default=_records.safe_repr, ensure_ascii=True)
    except Exception:  # nothing above should fail; this is the floor
        return json.dumps(
            {"message": _records.safe_repr(record.msg), "dual_log_error": "unencodable"}
        )
