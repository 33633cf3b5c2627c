"""JSON lines: one object per record, python-json-logger's steps on a copy of the record.

Every line goes through python-json-logger's ``format()``: the record's fields, then
``process_log_record``, then ``serialize_log_record``, each overridable as its own docs say,
on a copy of the record (``records.view``), so nothing reaches the record the other sink
formats. dual_log adds its steps where python-json-logger has them: the time first
(``add_fields``), tracebacks redacted and without colours (``formatException``), and the
extras named so that none takes the place of the record's own fields (``name_extras``).

One shortcut: a plain record in the default configuration (a text message, no traceback,
extras of JSON's own types) has its line written as text, without the copy and the dict:
the same characters, which ``tests/format/test_fast_paths.py`` holds equal to the full way for
every case it takes. Anything else, or any setting of python-json-logger's, goes the
full way; nothing is cached between records but the static fields' text, checked against
the fields at each record.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from json.encoder import encode_basestring as _quote
from json.encoder import encode_basestring_ascii as _quote_ascii
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonEncoder as PythonJsonLoggerEncoder
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from dual_log import _options
from dual_log._context import current
from dual_log._facts import utc_text
from dual_log._format import records
from dual_log._format.redact import redactor_of

if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable, Sequence
    from types import TracebackType

    from dual_log._format.redact import Redactor

    ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# The prefix of an extra whose name is taken by one of the record's own fields (README:
# "The JSON record"): amend it there if edited here.
EXTRA_PREFIX = "extra."
# Quoted in the README's option table and in integrations/*: amend them there if edited here.
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(process)d"
JSON_RENAMES = {"levelname": "level", "name": "logger", "process": "pid"}
# Encoders whose text for strings and numbers is json's own: the shortcut may write it.
_PLAIN_ENCODERS = (None, json.JSONEncoder, PythonJsonLoggerEncoder)
# Extras the full way tidies (records.view): Django's request, uvicorn's colour copy.
_TIDIED = frozenset(("request", "color_message"))


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line, built on python-json-logger.

    Each object has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``pid``,
    ``static_fields``, on Fly.io ``fly_app``, ``fly_region``, ``fly_machine`` and ``host``,
    every ``extra`` field and the fields bound with ``dual_log.bind``/``context``, and
    ``exc_info``/``stack_info`` when present. An extra named like one of the record's own
    fields is written as ``extra.<name>``; a key that is not text, as its text. Line breaks
    and other control characters are JSON-escaped, so one record is always exactly one
    line; ANSI colour sequences are removed from the message and the traceback, uvicorn's
    ``color_message`` is left out, and a request object Django attaches is written as
    ``"GET /path"`` (a socket is left out). Values JSON cannot encode are written as their
    ``str``, else their ``repr``, else a placeholder. With dual_log's defaults turned off
    (``fmt``, ``rename_fields={}``, ``time_field=None``, ``platform_fields=False``) it writes
    what python-json-logger's ``JsonFormatter`` writes, whose own tests it passes.

    Args:
        fmt: the fields to take from the record, as python-json-logger reads them; default
            ``"%(levelname)s %(name)s %(message)s %(process)d"``.
        datefmt: used only if ``fmt`` names ``asctime``.
        style: ``"%"``, ``"{"``, ``"$"`` or ``","``, as python-json-logger reads them.
        validate: check ``fmt`` against ``style`` at once.
        static_fields: fields added to every record (a ``dictConfig`` may give ``ext://``
            values). Default ``DUAL_LOG_STATIC_FIELDS``.
        platform_fields: add the Fly.io fields above when ``FLY_*`` variables are set.
            Default ``DUAL_LOG_PLATFORM_FIELDS``, else True.
        source_fields: add ``lineno``, ``funcName``, ``module``, ``threadName`` and
            ``processName``. Default ``DUAL_LOG_SOURCE_FIELDS``, else False.
        rename_fields: output names for record fields; default ``levelname`` -> ``level``,
            ``name`` -> ``logger``, ``process`` -> ``pid``.
        time_field: the key of the UTC timestamp, or ``None`` for no timestamp.
        redact, redact_keys, redact_patterns: as for ``TextFormatter``.
        **kwargs: any other python-json-logger ``JsonFormatter`` argument
            (``exc_info_as_array``, ``json_default``, ``prefix``, ...).

    Raises:
        ValueError: a bad value of a dual_log argument, naming the option.
    """

    def __init__(
        self,
        fmt: str | Sequence[str] | None = None,
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
        values = _options.resolve(
            {
                "static_fields": static_fields,
                "platform_fields": platform_fields,
                "source_fields": source_fields,
            }
        )
        fields = _options.platform_fields() if values["platform_fields"] else {}
        fields.update(values["static_fields"])
        super().__init__(
            JSON_FIELDS if fmt is None else fmt,
            datefmt,
            style,
            validate,
            static_fields=fields,
            rename_fields=dict(JSON_RENAMES if rename_fields is None else rename_fields),
            **kwargs,
        )
        self.time_field = time_field
        self.source_fields: bool = values["source_fields"]
        self.redactor: Redactor | None = redactor_of(redact, redact_keys, redact_patterns)
        # The default shape, for which format() may take the shortcut; a subclass, and
        # any of python-json-logger's own options, take the full way.
        self._shortcut = (
            type(self) is JsonFormatter
            and fmt is None
            and style == "%"
            and rename_fields is None
            and not kwargs
            and self.redactor is None
        )
        self._settings: tuple[Callable[[str], str], str | None] | tuple[()] | None = None
        self._static_text: tuple[dict[str, Any], Callable[[str], str] | None, str | None] = (
            {},
            None,
            None,
        )

    # python-json-logger's steps ------------------------------------------------------

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line for ``record``; never raises, never changes ``record``."""
        if self._shortcut:
            line = self._plain_line(record)
            if line is not None:
                return line
        try:
            copy = records.view(record, self.redactor)
            self.name_extras(copy)
            if isinstance(copy.msg, str):
                copy.msg = records.strip_ansi(copy.msg)
            if copy.exc_text:  # a traceback cached by another formatter, and no exc_info
                copy.exc_text = records.strip_ansi(copy.exc_text)
            return super().format(copy)
        except Exception as exc:  # a user LogRecord class, a raising default, circular values
            return _fallback_json(record, self, exc)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        """The UTC time first, then python-json-logger's fields, then the source's."""
        if self.time_field:
            log_data[self.time_field] = utc_text(record.created)
        super().add_fields(log_data, record, message_dict)
        if self.source_fields:
            log_data.update(_source_fields(record))

    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]
        """The traceback as text (or lines, with ``exc_info_as_array``), without colours and
        with secrets masked; never raises, whatever the exception object does."""
        text = records.strip_ansi(records.format_exception(ei))
        if self.redactor is not None:
            text = self.redactor.text(text)
        return text.splitlines() if self.exc_info_as_array else text

    def name_extras(self, copy: logging.LogRecord) -> None:
        """Give the copy's extras (and a dict message's keys) the names they are written
        under: a key that is not text as its text, and one that would take the place of
        the record's own fields (``time``, ``level``, ``logger``, ``message``, ``pid``, the
        static and platform fields, another extra) prefixed with ``extra.``, so that
        ``extra={"level": "forged"}`` can never overwrite the level."""
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
            name = key if key.__class__ is str else records.safe_repr(key)
            while self._get_rename(name) in own or name in skip or name in fields:
                name = EXTRA_PREFIX + name  # never over another field, whatever its name
            fields[name] = value
        if isinstance(copy.msg, dict) and any(
            key.__class__ is not str or self._get_rename(key) in own for key in copy.msg
        ):
            payload: dict[str, Any] = {}
            for key, value in copy.msg.items():
                name = key if key.__class__ is str else records.safe_repr(key)
                while self._get_rename(name) in own or name in payload:
                    name = EXTRA_PREFIX + name
                payload[name] = value
            copy.msg = payload

    # The shortcut ------------------------------------------------------------------------

    def _plain_line(self, record: logging.LogRecord) -> str | None:
        """The line the full way writes for a plain record, written as text; or None.

        None for anything that needs the full way: a traceback or stack, a message that
        is not text, an extra or bound field of another type than JSON's own or named
        like a field of the record, or a setting of python-json-logger's changed since.
        """
        if (
            record.__class__ is not logging.LogRecord
            or record.exc_info
            or record.exc_text
            or record.stack_info
            or self.defaults  # a dict, which may be filled in place
        ):
            return None
        msg = record.msg
        if msg.__class__ is not str:
            return None
        settings = self._settings
        if settings is None:
            settings = self._settings = self._shortcut_settings()
        if not settings:
            return None
        quote, head = settings
        level, name, pid = record.levelname, record.name, record.process
        if level.__class__ is not str or name.__class__ is not str or pid.__class__ is not int:
            return None
        tail = self._static_tail(quote)
        if tail is None:
            return None
        message = records.strip_ansi(records.render_message(record) if record.args else msg)
        if head is not None:
            head = f'{head}{utc_text(record.created)}", '
        line = (
            f'{head or "{"}"level": {quote(level)}, "logger": {quote(name)}, '
            f'"message": {quote(message)}, "pid": {pid}{tail}'
        )
        fields = record.__dict__
        bound = current()
        if len(fields) != _PLAIN_SIZE or bound:
            more = self._extras_text(fields, bound, quote)
            if more is None:
                return None
            line += more
        if self.source_fields:
            line += _source_text(record, quote)
        return line + "}"

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute; python-json-logger's settings are public, and setting one
        makes the shortcut look at them again."""
        object.__setattr__(self, name, value)
        if name in _SETTINGS:
            object.__setattr__(self, "_settings", None)

    def _shortcut_settings(self) -> tuple[Callable[[str], str], str | None] | tuple[()]:
        """The quoting and the line's start (``{"time": "``) when python-json-logger's
        settings leave the line to the shortcut; else an empty tuple."""
        if (
            self.json_serializer is not json.dumps
            or self.json_indent is not None
            or self.json_encoder not in _PLAIN_ENCODERS
            or self.prefix
            or self.timestamp
        ):
            return ()
        quote = _quote_ascii if self.json_ensure_ascii else _quote
        time_field = self.time_field
        return quote, f'{{{quote(time_field)}: "' if time_field else None

    def _static_tail(self, quote: Callable[[str], str]) -> str | None:
        """``, "key": value, ...`` of the static fields; None when one needs the full way.

        Worked out again whenever the fields or the quoting differ from those it was
        worked out for: python-json-logger's attributes are public, and the dict may be
        changed in place.
        """
        fields, quoted_by, text = self._static_text
        if quoted_by is not quote or fields != self.static_fields:
            fields = dict(self.static_fields)
            clash = {"level", "logger", "message", "pid", self.time_field}.intersection(fields)
            text = None if clash else _encode_pairs(fields, quote)
            self._static_text = (fields, quote, text)
        return text

    def _extras_text(
        self, fields: dict[Any, Any], bound: Mapping[str, Any], quote: Callable[[str], str]
    ) -> str | None:
        """``, "key": value, ...`` of the extras, then the bound fields no extra overrides;
        None when one needs the full way (its type, its name, or a clash)."""
        static = self.static_fields
        time_field = self.time_field
        parts = []
        for key in records.extra_keys(fields):  # a LogRecord's own keys are all text
            if key.__class__ is not str:
                return None
            if key[:1] == "_":
                continue
            text = _value_text(fields[key], quote)
            if text is None or key in _TAKEN or key in static or key == time_field:
                return None
            parts.append(f", {quote(key)}: {text}")
        if bound:
            for key, value in bound.items():
                if key in fields:
                    continue
                text = _value_text(value, quote)
                if text is None or key in _TAKEN or key in static or key == time_field:
                    return None
                parts.append(f", {quote(key)}: {text}")
        return "".join(parts)


_PLAIN_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
# The attributes whose value decides whether the shortcut may write a line: setting one
# makes it look again (JsonFormatter.__setattr__).
_SETTINGS = frozenset(
    (
        "json_serializer",
        "json_indent",
        "json_encoder",
        "json_ensure_ascii",
        "prefix",
        "timestamp",
        "time_field",
    )
)
# Names the record's own fields and the full way's tidying take.
_TAKEN = frozenset(("level", "logger", "message", "pid")) | _TIDIED


def _encode_pairs(fields: Mapping[str, Any], quote: Callable[[str], str]) -> str | None:
    """``, "key": value`` for each field, as json.dumps writes them; None when a value is
    not one of JSON's own scalars (a float that is not finite included)."""
    parts = []
    for key, value in fields.items():
        text = _value_text(value, quote)
        if text is None:
            return None
        parts.append(f", {quote(key)}: {text}")
    return "".join(parts)


def _value_text(value: Any, quote: Callable[[str], str]) -> str | None:
    """``value`` as json.dumps writes it, if it is one of JSON's own scalars; else None
    (a float that is not finite, or an int too long for ``str``, included)."""
    kind = value.__class__
    if kind is str:
        return quote(value)
    if kind is int:
        return int.__repr__(value) if value.bit_length() < records.INT_TEXT_BITS else None
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return None


def _source_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Where a record was made: the fields ``source_fields=True`` adds."""
    return {
        "lineno": record.lineno,
        "funcName": record.funcName,
        "module": record.module,
        "threadName": record.threadName,
        "processName": record.processName,
    }


def _source_text(record: logging.LogRecord, quote: Callable[[str], str]) -> str:
    text = _encode_pairs(_source_fields(record), quote)
    return text if text is not None else ""


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
        message=records.fallback_text(records.render_message(record), redactor)
        if redactor is None or not isinstance(record.args, Mapping)
        else records.fallback_text(
            f"{records.safe_repr(record.msg)} [dual_log: arguments not shown]", redactor
        ),
        pid=record.process,
    )
    for key, value in record.__dict__.items():
        if key in formatter.reserved_attrs:
            continue
        name = key if isinstance(key, str) else records.safe_repr(key)
        while name in data:
            name = EXTRA_PREFIX + name
        data[name] = records.fallback_value(name, value, redactor)
    for key, value in current().items():  # the bound fields, as the full way adds them
        if key in record.__dict__:
            continue
        name = key
        while name in data:
            name = EXTRA_PREFIX + name
        data[name] = records.fallback_value(name, value, redactor)
    if record.exc_text:
        data["exc_info"] = record.exc_text
    elif record.exc_info:
        data["exc_info"] = records.format_exception(record.exc_info)
    data.update(formatter.static_fields)
    data["dual_log_error"] = f"record not fully encodable: {type(error).__name__}"
    try:
        return json.dumps(data, default=records.safe_repr, ensure_ascii=True)
    except Exception:  # nothing above should fail; this is the floor
        return json.dumps(
            {"message": records.safe_repr(record.msg), "dual_log_error": "unencodable"}
        )
