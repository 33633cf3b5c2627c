"""Reading a LogRecord without changing it, and without letting its contents raise.

Both sinks receive the very same ``LogRecord``. The stdlib ``Formatter.format`` writes
``record.message``, ``record.asctime`` and caches ``record.exc_text`` on it, so what one
sink's formatter computes would leak into the other's. dual_log's formatters work on a
shallow copy (``view``) instead and leave the caller's record exactly as it was.
"""

from __future__ import annotations

import re
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from dual_log._redact import Redactor

# What a text line must not carry raw: C0/C1 control characters (CR and LF among them,
# which would let a message forge a new log line), DEL, the Unicode line and paragraph
# separators, and lone surrogates (undecodable bytes read with surrogateescape).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# LogRecord has no __new__ of its own: a copy is made without running __init__.
_new = object.__new__


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """Escape control characters, line breaks and lone surrogates so text stays one line."""
    if text.isprintable():  # the common case: one C-level scan, no regex
        return text
    return _UNSAFE.sub(_escape_one, text)


def safe_repr(value: object, limit: int = 2000) -> str:
    """``repr(value)``, or a placeholder when ``__repr__`` raises or recurses."""
    try:
        text = repr(value)
    except Exception as exc:  # RecursionError too: a user __repr__ is not ours to crash on
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


def _safe_args(args: Any) -> str:
    if isinstance(args, tuple):
        return "(" + ", ".join(safe_repr(a) for a in args) + ")"
    return safe_repr(args)


def render_message(record: logging.LogRecord) -> str:
    """The record's message with its arguments merged in; never raises.

    A message whose ``%`` arguments do not fit, or whose argument's ``__str__`` raises,
    is still written: as the raw message and the arguments' reprs, marked so a reader
    sees what happened.
    """
    try:
        message = record.getMessage()
        if isinstance(message, str):
            return message
        return str(message)
    except Exception as exc:
        return (
            f"{safe_repr(record.msg)} % {_safe_args(record.args)} "
            f"[dual_log: message not formatted: {type(exc).__name__}]"
        )


def format_exception(exc_info: Any) -> str:
    """A traceback as text, or a placeholder when formatting it fails."""
    try:
        text = "".join(traceback.format_exception(*exc_info))
    except Exception as exc:  # a hostile exception object; keep its type at least
        kind = getattr(exc_info[1], "__class__", type(None)).__name__
        return f"{kind} [dual_log: traceback not formatted: {type(exc).__name__}]"
    return text[:-1] if text.endswith("\n") else text


def view(record: logging.LogRecord, redactor: Redactor | None = None) -> logging.LogRecord:
    """A shallow copy of ``record`` with its message already rendered.

    The copy can be changed freely by a formatter; ``record`` itself is not touched.
    Its ``args`` are cleared so that rendering it again returns the same text. With a
    ``redactor``, sensitive values are masked before the message is rendered.
    """
    copy = _new(type(record))
    # Assigning a copied dict is twice as fast as filling the copy's own dict.
    copy.__dict__ = record.__dict__.copy()
    if redactor is not None:
        redactor.apply(copy)
    if not (isinstance(copy.msg, dict) and not copy.args):  # a dict is a JSON payload
        copy.msg = render_message(copy)
        copy.args = None
    return copy


def snapshot(record: logging.LogRecord, redactor: Redactor | None = None) -> logging.LogRecord:
    """A copy of ``record`` that can be formatted later, in another thread.

    The message is rendered now, because the caller may change its arguments right after
    the call returns; a traceback is rendered now, so no frames are kept alive.
    """
    copy = view(record, redactor)
    if record.exc_info and not copy.exc_text:
        copy.exc_text = format_exception(record.exc_info)
    copy.exc_info = None
    return copy
