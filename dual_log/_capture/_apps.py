"""An app's own line, read for its time, level, logger, message and fields.

The platform wraps every line an app prints as ``{"log": {"level": "info"}, "message":
"<the line>", ...}``: the level is the platform's ``info`` whatever the app said, and an
app's JSON is one long string. ``app_record(line)`` reads the line itself when it is in
a shape known here, and returns what the app said, in dual_log's names:

* a JSON object whose text is under ``message``, ``msg`` or ``event`` (structlog's
  ``JSONRenderer``, python-json-logger, pino, bunyan, dual_log's own JSON lines): its
  level from ``level`` (a word, or pino's and bunyan's numbers), ``levelname`` or
  ``severity``; its logger from ``logger``, ``logger_name`` or ``name``; its time from
  ``time``, ``timestamp`` or ``@timestamp`` (RFC 3339, or seconds or milliseconds since
  the epoch). The first of each that can be read is taken; every other key is a field,
  kept as it came (as ``app_<key>`` if it is one of those four names, left unread).
* dual_log's stdout line: ``2026-11-24T09:30:41.854+00:00 INFO shop.orders checkout``.
* Python's default format (``logging.basicConfig()``): ``WARNING:shop.orders:checkout``.
* gunicorn's: ``[2026-11-24 09:30:41 +0000] [7] [INFO] Booting worker`` (``pid`` 7).
* Ruby's ``Logger`` (Rails): ``I, [2026-11-24T09:30:41.854123 #7]  INFO -- app: Started``
  (``pid`` 7; the program name, when given, as the logger; the time, which has no zone,
  taken as UTC as on the platform's machines).

A line in one of the text formats keeps its whole text under ``original``. Anything
else (plain text, JSON that is not an object with a text message) is None: the line
stays the message as it came. dual_log's stdout line carries its message with line
breaks and control characters escaped (``\\n``); it is kept so, since a message can hold
a backslash and an ``n`` of its own.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from dual_log._capture._levels import NUMBERS, WORDS, level_from_word
from dual_log._capture._times import epoch_time, normal_time

if TYPE_CHECKING:
    from collections.abc import Callable

MESSAGE_KEYS = ("message", "msg", "event")
LEVEL_KEYS = ("level", "levelname", "severity")
LOGGER_KEYS = ("logger", "logger_name", "name")
TIME_KEYS = ("time", "timestamp", "@timestamp")
# The names of what the app said; a field of its own so named, left unread (a time that
# cannot be read), is kept as app_<name>.
_SAID = frozenset(("time", "level", "logger", "message"))

_PYTHON_LEVELS = "DEBUG|INFO|WARNING|ERROR|CRITICAL"
# dual_log's TextFormatter line (dual_log._format.text.TEXT_FORMAT, time in UTC).
_DUAL_LOG = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00) "
    rf"({_PYTHON_LEVELS}) (\S+) (.*)",
    re.DOTALL,
).fullmatch
# The key=value pairs TextFormatter ends a line with (dual_log._format.records.text_fields):
# a bare value, or a quoted one with \" and \\ escaped.
_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^\s"=\\]+)'
_PAIR = re.compile(rf"([\w.-]+)=({_VALUE})")
_FIELDS = re.compile(rf"(?P<message>.*?)(?P<fields>(?: [\w.-]+={_VALUE})*)", re.DOTALL).fullmatch
# logging.BASIC_FORMAT: "%(levelname)s:%(name)s:%(message)s".
_PYTHON = re.compile(rf"({_PYTHON_LEVELS}):([^:\s]*):(.*)", re.DOTALL).fullmatch
# gunicorn's error log: "%(asctime)s [%(process)d] [%(levelname)s] %(message)s", its
# asctime "[%Y-%m-%d %H:%M:%S %z]".
_GUNICORN = re.compile(
    r"\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d{4})\] \[(\d+)\] "
    rf"\[({_PYTHON_LEVELS})\] (.*)",
    re.DOTALL,
).fullmatch
# Ruby's Logger::Formatter: "%s, [%s #%d] %5s -- %s: %s", time "%Y-%m-%dT%H:%M:%S.%6N".
_RUBY = re.compile(
    r"[DIWEFAU], \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))? #(\d+)\] +"
    r"(DEBUG|INFO|WARN|ERROR|FATAL|ANY|UNKNOWN) -- ([^:]*): (.*)",
    re.DOTALL,
).fullmatch


def app_record(line: str) -> dict[str, Any] | None:
    """What the app said in ``line``, or None when it is in no shape known here.

    The result has ``message`` and, when the line gave them, ``time`` (in dual_log's
    shape), ``level`` (a Python level name) and ``logger``; then the app's other fields.
    Never raises.
    """
    read = READERS.get(line[:1])
    return None if read is None else read(line)


def _json_line(line: str) -> dict[str, Any] | None:
    try:
        data = _loads(line)
    except ValueError:  # not JSON after all (msgspec's and json's errors are ValueErrors)
        return None
    if type(data) is not dict:
        return None
    return json_record(data)


def json_record(data: dict[str, Any]) -> dict[str, Any] | None:
    """``app_record`` of a JSON object already read; None if it has no text message.

    ``data`` is emptied of the keys taken.
    """
    for key in MESSAGE_KEYS:
        message = data.get(key)
        if type(message) is str:
            del data[key]
            break
    else:
        return None
    record: dict[str, Any] = {"message": message}
    for key in TIME_KEYS:
        value = data.get(key)
        if type(value) is str:
            moment = normal_time(value)
        elif isinstance(value, (int, float)) and type(value) is not bool:
            moment = epoch_time(value)
        else:
            continue
        if moment is not None:
            del data[key]
            record["time"] = moment
            break
    for key in LEVEL_KEYS:
        value = data.get(key)
        level: str | None = None
        if type(value) is str and value:
            level = level_from_word(value)
        elif type(value) is int:
            level = NUMBERS.get(value)
        if level is None:
            continue
        del data[key]
        record["level"] = level
        break
    for key in LOGGER_KEYS:
        value = data.get(key)
        if type(value) is str:
            del data[key]
            record["logger"] = value
            break
    for key, value in data.items():
        name = key
        while name in _SAID or name in record:  # "time": "soon" must not pass for the time
            name = f"app_{name}"
        record[name] = value
    return record


def _dual_log_line(line: str) -> dict[str, Any] | None:
    match = _DUAL_LOG(line)
    if match is None:
        return None
    moment, level, logger, message = match.groups()
    record: dict[str, Any] = {"time": moment, "level": level, "logger": logger}
    fields = _FIELDS(message)
    if fields is not None and fields["fields"]:
        # The extras dual_log writes after the message (TextFormatter's key=value pairs).
        # A message that itself ends in words like "a=1" is read the same way: the
        # original line is kept below either way.
        message = fields["message"]
        for key, value in _PAIR.findall(fields["fields"]):
            record.setdefault(key, _unquote(value))
    record["message"] = message
    record["original"] = line
    return record


def _unquote(value: str) -> str:
    if value[:1] != '"':
        return value
    return re.sub(r'\\(["\\])', r"\1", value[1:-1])


def _python_line(line: str) -> dict[str, Any] | None:
    if line[1:3] == ", ":
        return _ruby_line(line)
    match = _PYTHON(line)
    if match is None:
        return None
    level, logger, message = match.groups()
    return {"level": level, "logger": logger, "message": message, "original": line}


def _gunicorn_line(line: str) -> dict[str, Any] | None:
    match = _GUNICORN(line)
    if match is None:
        return None
    day, clock, zone, pid, level, message = match.groups()
    if zone == "+0000":  # gunicorn on the platform: UTC, whole seconds
        moment: str | None = f"{day}T{clock}.000+00:00"
    else:
        moment = normal_time(f"{day}T{clock}{zone}")
    record: dict[str, Any] = {} if moment is None else {"time": moment}
    record.update(level=level, message=message, pid=int(pid), original=line)
    return record


def _ruby_line(line: str) -> dict[str, Any] | None:
    match = _RUBY(line)
    if match is None:
        return None
    stamp, fraction, pid, level, program, message = match.groups()
    millis = (fraction or "").ljust(3, "0")[:3]  # cut, not rounded, as normal_time does
    record: dict[str, Any] = {"time": f"{stamp}.{millis}+00:00"}
    record["level"] = WORDS.get(level.lower(), level)
    if program:
        record["logger"] = program
    record.update(message=message, pid=int(pid), original=line)
    return record


# Which reader a line's first character calls for: most lines are judged by one lookup.
READERS: dict[str, Callable[[str], dict[str, Any] | None]] = {"{": _json_line, "[": _gunicorn_line}
READERS.update(dict.fromkeys("0123456789", _dual_log_line))
READERS.update(dict.fromkeys("DIWECFAU", _python_line))

# The "nats" extra: msgspec reads JSON in a fraction of json's time.
try:
    from dual_log._capture import _shapes
except ImportError:  # the fallback is tested by forcing it (tests/capture/test_lines.py)
    _shapes = None  # type: ignore[assignment]


def _loads(text: str) -> Any:
    if _shapes is not None:
        try:
            return _shapes.decode_json(text)
        except ValueError:  # msgspec refuses some JSON json reads (an escaped lone surrogate)
            pass
    return json.loads(text)
