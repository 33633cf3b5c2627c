"""From one message of the platform's log stream to one JSON line, and the filters.

A message arrives on ``logs.<app>.<region>.<instance>`` with a JSON body such as::

    {"event": {"provider": "app"},
     "fly": {"app": {"instance": "148ed...", "name": "my-app"}, "region": "ams"},
     "host": "a1b2", "log": {"level": "info"}, "message": "...",
     "timestamp": "2026-11-24T09:30:41.854123456Z"}

It becomes ``{"time", "level", "fly_app", "fly_region", "fly_machine", "host",
"provider", "message", ...}``: the names ``dual_log.setup()`` writes where they mean the
same thing, ``time`` in the very shape dual_log writes it (so the two kinds of file sort
and merge together), and every field not named here kept as it came. A body that is not
such JSON is kept raw under ``raw``, with the time it was received and its subject.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

# The platform's level words, and the Python level name each one is written as.
_LEVEL_WORDS = {
    "trace": "DEBUG",
    "debug": "DEBUG",
    "info": "INFO",
    "notice": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
    "alert": "CRITICAL",
    "emerg": "CRITICAL",
}
# RFC 3339 as the platform writes it: nanoseconds, "Z" or an offset.
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def level_name(word: str) -> str:
    """The Python level name for one of the platform's level words (``"warn"`` -> ``WARNING``)."""
    text = word.strip()
    return _LEVEL_WORDS.get(text.lower(), text.upper())


def utc_time(when: float) -> str:
    """``when`` (seconds since the epoch) as dual_log writes ``time``: ms, ``+00:00``."""
    moment = datetime.fromtimestamp(when, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def normal_time(text: str) -> str | None:
    """An RFC 3339 timestamp in dual_log's shape, or None if it is not one.

    Nanoseconds are cut (not rounded) to milliseconds, so a line never sorts before
    the moment it was written.
    """
    if len(text) >= 24 and text[-1] == "Z" and text[19] == "." and text[20:23].isdigit():
        head = text[:23]  # the platform's own shape, nanoseconds and "Z": the fast way
        if _TIMESTAMP.match(text):
            return f"{head}+00:00"
    match = _TIMESTAMP.match(text.strip())
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    millis = (fraction or "").ljust(3, "0")[:3]
    if zone is None or zone.upper() == "Z" or zone in ("+00:00", "+0000", "-00:00"):
        return f"{day}T{clock}.{millis}+00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}.{millis}{zone[:3]}:{zone[-2:]}")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def subject_fields(subject: str) -> dict[str, str]:
    """``fly_app``, ``fly_region`` and ``fly_machine`` from ``logs.<app>.<region>.<instance>``."""
    parts = subject.split(".")
    fields: dict[str, str] = {}
    if len(parts) == 4 and parts[0] == "logs":
        for name, value in zip(("fly_app", "fly_region", "fly_machine"), parts[1:], strict=True):
            if value:
                fields[name] = value
    return fields


def _take(parent: dict[str, Any], key: str) -> str | None:
    """Take ``parent[key]`` out if it is text (anything else stays where it was)."""
    value = parent.get(key)
    if type(value) is str:
        del parent[key]
        return value
    return None


def _child(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = parent.get(key)
    return value if type(value) is dict else None


def _prune(parent: dict[str, Any], key: str, child: dict[str, Any]) -> None:
    if not child:
        del parent[key]


def to_record(body: bytes, subject: str, received: float) -> tuple[dict[str, Any], bool]:
    """The JSON object to write for one message, and whether its body was the expected JSON.

    Never raises: what cannot be read as the platform's JSON is kept raw.
    """
    try:
        data = _loads(body)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        data = None
    if type(data) is not dict or type(data.get("message")) is not str:
        return _raw(body, subject, received), False
    return _platform_record(data) or _general_record(data, subject, received), True


def _general_record(data: dict[str, Any], subject: str, received: float) -> dict[str, Any]:
    """``to_record``'s result for a JSON message of any shape with a text ``message``."""
    # Spelled out field by field (not a table of paths): this runs for many messages.
    record: dict[str, Any] = {}
    stamp = _take(data, "timestamp")
    time_text = normal_time(stamp) if stamp is not None else None
    record["time"] = time_text or utc_time(received)
    if stamp is not None and time_text is None:
        record["timestamp"] = stamp  # kept as it came, since it could not be read
    log = _child(data, "log")
    if log is not None:
        level = _take(log, "level")
        if level is not None:
            record["level"] = level_name(level)
        _prune(data, "log", log)
    app = region = machine = None
    fly = _child(data, "fly")
    if fly is not None:
        info = _child(fly, "app")
        if info is not None:
            app, machine = _take(info, "name"), _take(info, "instance")
            _prune(fly, "app", info)
        region = _take(fly, "region")
        _prune(data, "fly", fly)
    if not (app and region and machine):
        from_subject = subject_fields(subject)
        app = app or from_subject.get("fly_app")
        region = region or from_subject.get("fly_region")
        machine = machine or from_subject.get("fly_machine")
    if app:
        record["fly_app"] = app
    if region:
        record["fly_region"] = region
    if machine:
        record["fly_machine"] = machine
    host = _take(data, "host")
    if host is not None:
        record["host"] = host
    event = _child(data, "event")
    if event is not None:
        provider = _take(event, "provider")
        if provider is not None:
            record["provider"] = provider
        _prune(data, "event", event)
    record["message"] = data.pop("message")
    for key, value in data.items():  # everything else, as it came
        record.setdefault(key if key not in record else f"fly_{key}", value)
    return record


_PLATFORM_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\d*Z").fullmatch


def _platform_record(data: dict[str, Any]) -> dict[str, Any] | None:
    """``to_record``'s result for a message of exactly the platform's shape, or None.

    Nearly every message has it, and reading it straight costs a fraction of
    ``_general_record``, which reads every other shape (and gives the same result for
    this one, as a test checks). The shape: ``event``, ``fly``, ``host``, ``log``,
    ``message`` and ``timestamp`` and nothing else, with only ``provider``; ``app``
    (only ``instance`` and ``name``) and ``region``; and ``level`` inside; all text.
    """
    if len(data) != 6:
        return None
    try:  # six keys, each one found: exactly these six
        fly = data["fly"]
        info = fly["app"]
        log = data["log"]
        event = data["event"]
        if len(fly) != 2 or len(info) != 2 or len(log) != 1 or len(event) != 1:
            return None
        stamp = data["timestamp"]
        level = log["level"]
        app = info["name"]
        region = fly["region"]
        machine = info["instance"]
        host = data["host"]
        provider = event["provider"]
        message = data["message"]
    except (KeyError, TypeError):  # another shape (text, a list, a key missing)
        return None
    # Text, every one: a chain of identity tests is the cheapest way to say so.
    if not (
        str
        is type(stamp)
        is type(level)
        is type(app)
        is type(region)
        is type(machine)
        is type(host)
        is type(provider)
        is type(message)
    ):
        return None
    if not (app and region and machine and _PLATFORM_TIME(stamp)):
        return None
    return {
        "time": f"{stamp[:23]}+00:00",
        "level": _LEVEL_WORDS.get(level) or level_name(level),
        "fly_app": app,
        "fly_region": region,
        "fly_machine": machine,
        "host": host,
        "provider": provider,
        "message": message,
    }


def _raw(body: bytes, subject: str, received: float) -> dict[str, Any]:
    record: dict[str, Any] = {"time": utc_time(received)}
    record.update(subject_fields(subject))
    record["subject"] = subject
    record["raw"] = body.decode("utf-8", "backslashreplace")
    return record


# Built once: json.dumps builds an encoder per call when given any option. Compact and
# UTF-8, the shape orjson writes, so a file reads the same whichever wrote it.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)


def _dumps_json(record: dict[str, Any]) -> bytes:
    # A lone surrogate (an escape in the message) is kept as its escape, not an error.
    return (_ENCODER.encode(record) + "\n").encode("utf-8", "backslashreplace")


def _dumps_orjson(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, default=repr, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:  # e.g. a lone surrogate, which orjson refuses
        return _dumps_json(record)


# orjson (installed with the "nats" extra) reads and writes a message in a fraction of
# json's time: for the capture that is most of its work per message. Without it, json.
try:
    import orjson
except ImportError:  # the fallback is tested too (tests/capture/test_lines.py)
    orjson = None  # type: ignore[assignment]
_loads: Callable[[bytes], Any] = json.loads if orjson is None else orjson.loads

to_line: Callable[[dict[str, Any]], bytes] = _dumps_json if orjson is None else _dumps_orjson
"""``to_line(record)``: one JSON line, UTF-8, ending in its newline. Control characters
inside are escaped, so it is always exactly one line."""


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which lines to keep; an empty tuple means no condition (see ``_options``)."""

    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    exclude_regions: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    exclude_levels: tuple[str, ...] = ()
    match: re.Pattern[str] | None = None
    exclude_match: re.Pattern[str] | None = None

    @property
    def active(self) -> bool:
        """Whether any condition is set."""
        return any(dataclasses.astuple(self))

    def keep(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` (made by ``to_record``) passes every condition."""
        app = str(record.get("fly_app", ""))
        region = str(record.get("fly_region", ""))
        level = str(record.get("level", ""))
        text = record.get("message", record.get("raw", ""))
        text = text if isinstance(text, str) else str(text)
        return (
            (not self.apps or _matches(app, self.apps))
            and not _matches(app, self.exclude_apps)
            and (not self.regions or _matches(region, self.regions))
            and not _matches(region, self.exclude_regions)
            and (not self.levels or level in self.levels)
            and level not in self.exclude_levels
            and (self.match is None or self.match.search(text) is not None)
            and (self.exclude_match is None or self.exclude_match.search(text) is None)
        )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
