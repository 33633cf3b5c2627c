"""Human text lines: one per record, in UTC, escaped so no message can forge a line.

The default line is ``<UTC time> <LEVEL> <logger> <message>``, then the record's extras and
the bound fields as logfmt ``key=value`` pairs; a traceback follows on its own lines. A
plain record in the default format is read straight off the record; anything else is
formatted on a copy (``records.view``), so nothing reaches the record the other sink
formats, and a record that cannot be formatted as asked is still written, marked.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from dual_log import _options
from dual_log._context import current
from dual_log._facts import utc_text
from dual_log._format import records
from dual_log._format.redact import redactor_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

# Quoted in the README's option table and in integrations/*: amend them there if edited here.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The fields a format string names, by style.
_FIELD_NAMES = {
    "%": re.compile(r"%\((\w+)\)"),
    "{": re.compile(r"\{(\w+)"),
    "$": re.compile(r"\$\{?(\w+)"),
}
# A record as Logger.makeRecord builds it has this many attributes; more means extras.
_PLAIN_SIZE = len(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


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
        self.extras: bool = _options.resolve({"text_extras": extras})["text_extras"]
        self.redactor = redactor_of(redact, redact_keys, redact_patterns)
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
            message = records.render_message(record)
            if not message.isprintable():
                message = records.escape_text(message)
            level, name = record.levelname, record.name
            if not (level.isprintable() and name.isprintable()):
                # A logger or level name may come from input too (a tenant, a queue name):
                # a line break in it must not start a line of its own either.
                level, name = records.escape_text(level), records.escape_text(name)
            line = f"{utc_text(record.created)} {level} {name} {message}"
            if self.extras:
                bound = current()
                if bound or len(record.__dict__) != _PLAIN_SIZE:
                    tail = records.text_fields(record.__dict__, bound)
                    if tail:
                        line = f"{line} {tail}"
            return line
        try:
            copy = records.view(record, self.redactor)
        except Exception as exc:  # a user LogRecord class whose copy fails
            return self._fallback(record, exc)
        return self.format_copy(copy)

    def format_copy(self, copy: logging.LogRecord) -> str:
        """Format ``copy``, a copy made by ``_records`` that this formatter may change."""
        try:
            records.exception_text(copy, self.redactor)
            # The copy's message is rendered already (args cleared): what follows is
            # logging.Formatter.format without rendering it a second time.
            message = str(copy.msg)
            if self.escape:
                message = copy.msg = records.escape_text(message)
                for field in ("name", "levelname", "threadName", "processName"):
                    value = getattr(copy, field, None)
                    if isinstance(value, str) and not value.isprintable():
                        setattr(copy, field, records.escape_text(value))
                if copy.exc_text:
                    copy.exc_text = "\n".join(
                        records.escape_text(line) for line in copy.exc_text.split("\n")
                    )
            copy.message = message
            if self.usesTime():
                copy.asctime = self.formatTime(copy, self.datefmt)
            line = self.formatMessage(copy)
            if self.extras:
                named = self._named
                fields = copy.__dict__
                # The bound fields are among the copy's extras already (see records.view).
                tail = records.text_fields(
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
        raw = records.safe_repr(getattr(record, "msg", None))
        message = records.fallback_text(raw, self.redactor)
        return (
            f"{getattr(record, 'levelname', '?')} {getattr(record, 'name', '?')} "
            f"{records.escape_text(message)} "
            f"[dual_log: record not formatted: {type(exc).__name__}]"
        )


def _plain_text(record: logging.LogRecord) -> bool:
    """Whether ``record`` is a plain one: a text message, no traceback or stack to render."""
    return (
        type(record) is logging.LogRecord
        and not record.exc_info
        and not record.exc_text
        and not record.stack_info
        and not isinstance(record.msg, dict)
    )
