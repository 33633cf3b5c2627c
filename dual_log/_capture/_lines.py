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
from typing import Any

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

# Where each field is in the platform's JSON; the first three also come from the subject.
_PLATFORM_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fly_app", ("fly", "app", "name")),
    ("fly_region", ("fly", "region")),
    ("fly_machine", ("fly", "app", "instance")),
)
_OTHER_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("host", ("host",)),
    ("provider", ("event", "provider")),
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


def _pop_text(data: dict[str, Any], *path: str) -> str | None:
    """Take ``data[path[0]][path[1]]...`` out of ``data`` if it is text; drop emptied dicts."""
    parents = [data]
    node: Any = data
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return None
        parents.append(node)
    last = parents[-1]
    value = last.get(path[-1])
    if not isinstance(value, str):
        return None
    del last[path[-1]]
    for parent, key in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
        if parent.get(key) == {}:
            del parent[key]
    return value


def to_record(body: bytes, subject: str, received: float) -> tuple[dict[str, Any], bool]:
    """The JSON object to write for one message, and whether its body was the expected JSON.

    Never raises: what cannot be read as the platform's JSON is kept raw.
    """
    try:
        data = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return _raw(body, subject, received), False
    record: dict[str, Any] = {}
    stamp = _pop_text(data, "timestamp")
    time_text = normal_time(stamp) if stamp is not None else None
    record["time"] = time_text or utc_time(received)
    if stamp is not None and time_text is None:
        record["timestamp"] = stamp  # kept as it came, since it could not be read
    level = _pop_text(data, "log", "level")
    if level is not None:
        record["level"] = level_name(level)
    from_subject = subject_fields(subject)
    for field, path in _PLATFORM_PATHS:
        value = _pop_text(data, *path) or from_subject.get(field)
        if value:
            record[field] = value
    for field, path in _OTHER_PATHS:
        value = _pop_text(data, *path)
        if value is not None:
            record[field] = value
    record["message"] = data.pop("message")
    for key, value in data.items():  # everything else, as it came
        record.setdefault(key if key not in record else f"fly_{key}", value)
    return record, True


def _raw(body: bytes, subject: str, received: float) -> dict[str, Any]:
    record: dict[str, Any] = {"time": utc_time(received)}
    record.update(subject_fields(subject))
    record["subject"] = subject
    record["raw"] = body.decode("utf-8", "backslashreplace")
    return record


def to_line(record: dict[str, Any]) -> str:
    """One JSON line: control characters and non-ASCII escaped, so it is always one line."""
    return json.dumps(record, ensure_ascii=True, default=repr)


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
