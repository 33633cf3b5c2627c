"""Reading a LogRecord without changing it, and without letting its contents raise.

Both sinks receive the very same ``LogRecord``. The stdlib ``Formatter.format`` writes
``record.message``, ``record.asctime`` and caches ``record.exc_text`` on it, so what one
sink's formatter computes would leak into the other's. dual_log's formatters work on a
shallow copy (``view``) instead and leave the caller's record exactly as it was.

The copy is also cleaned of what servers attach for their own consoles: uvicorn's
``color_message`` (the message again, with colours), and the ``request`` Django attaches
(an ``HttpRequest``, or for ``django.server`` a socket), which becomes ``"GET /path"``
or is left out.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any

from dual_log._context import current
from dual_log._format.redact import MASK

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dual_log._format.redact import Redactor

# What a text line must not carry raw: C0/C1 control characters (CR and LF among them,
# which would let a message forge a new log line), DEL, the Unicode line and paragraph
# separators, and lone surrogates (undecodable bytes read with surrogateescape).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# ANSI escape sequences (ECMA-48), which colour a console and are noise anywhere else:
# OSC (ESC ] ... BEL or ESC \\, e.g. a terminal title or link), CSI (ESC [ or the 8-bit
# CSI, parameters, a final byte: colours, cursor moves), and the other ESC sequences.
_ANSI = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]"
)
# Extras that servers attach for their own console formatters: uvicorn's coloured copy of
# the message.
CONSOLE_EXTRAS = ("color_message",)
# Attributes every LogRecord has (and what Formatter.format sets): the others are extras.
STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}
# Extras frameworks attach for their own use, not the application's, which the message
# says already: not on a text line (the JSON file keeps them, tidied). By any logger, and
# by the loggers named (a name and its children).
FRAMEWORK_EXTRAS = frozenset(("request", "server_time", "color_message"))
LOGGER_EXTRAS = {"django.db.backends": frozenset(("sql", "params", "alias", "duration"))}
# A logfmt value written as it is: printable, without space, quote, "=" or backslash.
_BARE = re.compile(r'^[^\s"=\\]+$')
_KEY_UNSAFE = re.compile(r"[^\w.-]")
# LogRecord has no __new__ of its own: a copy is made without running __init__.
_new = object.__new__
# The attributes LogRecord.__init__ sets, in the order it sets them: in a record's dict
# they come first, and its extras after them (see extra_keys).
_OWN = list(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_OWN_SIZE = len(_OWN)
# Text of an int that str() refuses (sys.set_int_max_str_digits, 4300 digits by default)
# starts past this many bits: such an int goes the careful way.
INT_TEXT_BITS = 14_000
# Extra keys as written on a text line, by key: an application uses a handful of them.
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 1024


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """Remove ANSI escape sequences, then escape control characters, line breaks and lone
    surrogates, so text stays one clean line."""
    if text.isprintable():  # the common case: one C-level scan, no regex
        return text
    return _UNSAFE.sub(_escape_one, _ANSI.sub("", text))


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves, terminal titles)."""
    if text.isprintable():  # ESC is not printable: one C-level scan decides
        return text
    return _ANSI.sub("", text)


def request_summary(request: object) -> str | None:
    """A web request as ``"GET /path?query"``, or None if ``request`` does not look like one.

    Duck-typed on Django's ``HttpRequest`` (``method``, and ``get_full_path()`` or
    ``path``), so no framework is imported.
    """
    method = getattr(request, "method", None)
    try:
        full_path = getattr(request, "get_full_path", None)
        path = full_path() if callable(full_path) else getattr(request, "path", None)
    except Exception:  # a half-built request: left to the JSON encoder's str()
        return None
    if isinstance(method, str) and isinstance(path, str):
        return f"{method} {path}"
    return None


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


def extra_keys(fields: dict[Any, Any]) -> list[Any]:
    """The keys of a record's dict that are not a LogRecord's own attributes, in order.

    ``LogRecord.__init__`` sets its attributes first and ``makeRecord`` adds the extras
    after them: when the dict starts with exactly those attributes, only what follows is
    looked at (one C-level comparison instead of a lookup per attribute).
    """
    keys = list(fields)
    if keys[:_OWN_SIZE] == _OWN:
        del keys[:_OWN_SIZE]
    return [key for key in keys if key not in STANDARD]


def text_fields(fields: dict[Any, Any], bound: Mapping[str, Any]) -> str:
    """A record's extras, then the fields bound to it that no extra overrides, as logfmt
    ``key=value`` pairs for the end of a text line (framework extras left out).

    Values are written as text (``None`` as ``null``, booleans as ``true``/``false``);
    one with a space, a quote, ``=`` or a backslash is quoted, and anything that could
    break the line is escaped.
    """
    pairs = []
    keys = extra_keys(fields)
    if keys:
        skip = FRAMEWORK_EXTRAS
        logger = fields.get("name")
        if isinstance(logger, str) and logger.startswith("django.db.backends"):
            skip = skip | LOGGER_EXTRAS["django.db.backends"]
        pairs = [
            _pair(key, fields[key])
            for key in keys
            if key not in skip and (key if key.__class__ is str else str(key))[:1] != "_"
        ]
    if bound:
        pairs += [_pair(key, value) for key, value in bound.items() if key not in fields]
    return " ".join(pairs)


def _pair(key: object, value: object) -> str:
    name = _NAMES.get(key) if isinstance(key, str) and key.__class__ is str else None
    if name is None:
        name = key if key.__class__ is str else safe_repr(key)
        name = _KEY_UNSAFE.sub("_", escape_text(name)) or "_"
        if isinstance(key, str) and key.__class__ is str and len(_NAMES) < _NAMES_KEPT:
            _NAMES[key] = name
    kind = value.__class__
    if kind is int and isinstance(value, int) and value.bit_length() < INT_TEXT_BITS:
        return f"{name}={int.__repr__(value)}"
    if value is None:
        text = "null"
    elif value is True or value is False:
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        text = safe_str(value)
    if text.isprintable() and _BARE.match(text):  # printable: no white space but " "
        return f"{name}={text}"
    quoted = escape_text(text.replace("\\", "\\\\").replace('"', '\\"'))
    return f'{name}="{quoted}"'


def safe_str(value: object) -> str:
    """``str(value)``, else its safe ``repr``, else a placeholder: never raises."""
    try:
        text = str(value)
    except Exception:  # a user __str__ is not ours to crash on
        return safe_repr(value)
    return text if isinstance(text, str) else safe_repr(value)


def format_exception(exc_info: Any) -> str:
    """A traceback as text, or a placeholder when formatting it fails."""
    try:
        import traceback  # here: only for records with a traceback

        text = "".join(traceback.format_exception(*exc_info))
    except Exception as exc:  # a hostile exception object; keep its type at least
        kind = getattr(exc_info[1], "__class__", type(None)).__name__
        return f"{kind} [dual_log: traceback not formatted: {type(exc).__name__}]"
    return text[:-1] if text.endswith("\n") else text


def _tidy(fields: dict[str, Any]) -> None:
    """Drop console-only extras and summarise a web request object, in a copy's dict.

    A socket (what ``django.server`` attaches as ``request``) is left out: its repr names
    the client's address and says nothing the message does not. Any other ``request``
    that is not a web request (the application's own value) is kept as given.
    """
    for name in CONSOLE_EXTRAS:
        fields.pop(name, None)
    request = fields.get("request")
    # A socket only if the socket module is in use: not imported here for this alone.
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(request, socket.socket):
        del fields["request"]
    elif request is not None and not isinstance(request, (str, bytes, int, float, dict, list)):
        summary = request_summary(request)
        if summary is not None:
            fields["request"] = summary


def exception_text(copy: logging.LogRecord, redactor: Redactor | None) -> str | None:
    """The copy's traceback as text (rendered once, cached on the copy), masked if asked."""
    if copy.exc_info and not copy.exc_text:
        text = format_exception(copy.exc_info)
        copy.exc_text = redactor.text(text) if redactor is not None else text
    return copy.exc_text


def view(record: logging.LogRecord, redactor: Redactor | None = None) -> logging.LogRecord:
    """A shallow copy of ``record`` with its message already rendered.

    The copy can be changed freely by a formatter; ``record`` itself is not touched.
    The fields bound with ``dual_log.bind``/``context`` are among its extras.
    Its ``args`` are cleared so that rendering it again returns the same text. With a
    ``redactor``, sensitive values are masked before the message is rendered, and the
    secrets written in the rendered message, a cached traceback and the stack are masked
    after.
    """
    copy = _new(type(record))
    # Assigning a copied dict is twice as fast as filling the copy's own dict.
    copy.__dict__ = fields = record.__dict__.copy()
    bound = current()
    if bound:  # the fields bound to the work going on; an extra of the same name wins
        for key, value in bound.items():
            fields.setdefault(key, value)
    if "request" in fields or "color_message" in fields:
        _tidy(fields)
    if redactor is not None:
        redactor.apply(copy)
    if not (isinstance(copy.msg, dict) and not copy.args):  # a dict is a JSON payload
        copy.msg = render_message(copy)
        copy.args = None
        if redactor is not None:
            copy.msg = redactor.text(copy.msg)
    if redactor is not None:
        for name in ("exc_text", "stack_info"):
            if isinstance(fields.get(name), str):
                fields[name] = redactor.text(fields[name])
    return copy


def fallback_text(text: str, redactor: Redactor | None) -> str:
    """Text for a fallback line; with redaction on, masked, or withheld if masking fails."""
    if redactor is None:
        return text
    try:
        return redactor.text(text)
    except Exception:  # not expected: the patterns only read text
        return "<not shown, could not be redacted>"


def fallback_value(key: str, value: Any, redactor: Redactor | None) -> str:
    """An extra's safe repr; with redaction on, never a secret, even if redacting fails."""
    if redactor is None:
        return safe_repr(value)
    if redactor.sensitive(key):
        return MASK
    try:
        return safe_repr(redactor.value(value))
    except Exception:  # a mapping that cannot be read cannot be shown safely either
        return f"<{type(value).__name__}: not shown, could not be redacted>"
