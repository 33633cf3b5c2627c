"""From one message of the platform's log stream to one JSON line.

A message arrives on ``logs.<app>.<region>.<machine>`` with a JSON body such as::

    {"event": {"provider": "app"},
     "fly": {"app": {"instance": "148ed...", "name": "my-app"}, "region": "ams"},
     "host": "a1b2", "log": {"level": "info"}, "message": "...",
     "timestamp": "2026-11-24T09:30:41.854123456Z"}

It becomes one JSON line: ``time``, ``level``, ``logger`` (when the app said one),
``fly_app``, ``fly_region``, ``fly_machine``, ``host``, ``provider``, ``message``, then
every other field. The names are the ones ``dual_log.setup()`` writes, ``time`` in its
very shape, so the two kinds of file sort and merge together.

Where each value comes from:

* the app's own line (see ``_apps``), when it is in a shape known there: ``time``,
  ``level``, ``logger``, ``message`` and its other fields;
* the platform's body for the rest: ``time`` is the platform's timestamp when the app
  gave none, ``level`` the platform's when the app gave none, and ``fly_app``,
  ``fly_region``, ``fly_machine``, ``host`` and ``provider`` are always the platform's;
* a clash: an app's field whose name is taken already is dropped when its value is the
  same (dual_log's own ``fly_app``), else kept as ``app_<name>`` (``app_host``: the
  machine's name, beside the platform's ``host``).

A body that is not the platform's JSON is kept raw under ``raw``, with the time it was
received and its subject. ``line_of(body, subject)`` is the whole of it.

Nearly every body has exactly the platform's shape: with msgspec (the ``nats`` extra),
such a body is decoded into a ``Struct`` and its line encoded from one, in a fraction of
the time a ``dict`` takes. Every other shape, and every body without msgspec, takes the
general path; both give the very same bytes for the same body (tested).
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from dual_log._capture._apps import READERS as _READERS
from dual_log._capture._apps import app_record
from dual_log._capture._levels import WORDS, level_from_word
from dual_log._capture._times import normal_time
from dual_log._facts import utc_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._capture._shapes import PlatformBody, PlatformLine

# What line_of returns: the line (UTF-8 JSON with its newline), its app, region, level
# and message (what the filters read), and whether the body was the platform's JSON.
Captured = tuple[bytes, str, str, str, str, bool]

# The fields the platform's body gives, in the order they are written.
PLATFORM_FIELDS = ("fly_app", "fly_region", "fly_machine", "host", "provider")
# The platform's timestamp exactly as it writes it (nanoseconds and "Z"): its first 23
# characters are dual_log's time but for the zone.
_platform_time = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\d*Z").fullmatch


def line_of(body: bytes, subject: bytes, received: float | None = None) -> Captured:
    """The line to write for one message, and what the filters need to know of it.

    ``received`` (seconds since the epoch, default now) is the time of a body that has
    none. Never raises: what cannot be read as the platform's JSON is kept raw.
    """
    if _decode_platform is not None:
        try:
            decoded = _decode_platform(body)
        except ValueError:  # another shape, or not JSON: the general path judges
            pass
        else:
            stamp = decoded.timestamp
            if _platform_time(stamp):
                # The common case, spelled out here: it runs for nearly every message.
                message = decoded.message
                fly = decoded.fly
                app = fly.app.name
                region = fly.region
                word = decoded.log.level
                level = WORDS.get(word) or level_from_word(word)
                read = _READERS.get(message[:1])
                said = None if read is None else read(message)
                if said is None:
                    line = _shapes.PlatformLine(
                        f"{stamp[:23]}+00:00",
                        level,
                        app,
                        region,
                        fly.app.instance,
                        decoded.host,
                        decoded.event.provider,
                        message,
                    )
                    # msgspec decoded the body, so it can encode its text: no fallback.
                    return _shapes.encode_json(line) + b"\n", app, region, level, message, True
                return _platform_line_said(decoded, level, said)
    return _general_line(body, subject, time.time() if received is None else received)


def _general_line(body: bytes, subject: bytes, received: float) -> Captured:
    try:
        data = _loads(body)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        data = None
    topic = subject.decode("utf-8", "backslashreplace")
    if type(data) is not dict or type(data.get("message")) is not str:
        record = _raw(body, topic, received)
        return _finish(record, False)
    return _finish(platform_record(data, topic, received), True)


def _finish(record: dict[str, Any], parsed: bool) -> Captured:
    app = record.get("fly_app")
    region = record.get("fly_region")
    level = record.get("level")
    text = record.get("message", record.get("raw", ""))
    return (
        to_line(record),
        app if type(app) is str else "",  # a body's own "fly_app" may be anything
        region if type(region) is str else "",
        level if type(level) is str else "",
        text if type(text) is str else "",
        parsed,
    )


def subject_fields(subject: str) -> dict[str, str]:
    """``fly_app``, ``fly_region`` and ``fly_machine`` from ``logs.<app>.<region>.<machine>``."""
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


def platform_record(data: dict[str, Any], subject: str, received: float) -> dict[str, Any]:
    """The record for a JSON body of any shape with a text ``message``.

    ``data`` is the body, read; it is emptied of what is taken.
    """
    # Spelled out field by field (not a table of paths): this runs for many messages.
    record: dict[str, Any] = {}
    stamp = _take(data, "timestamp")
    time_text = normal_time(stamp) if stamp is not None else None
    record["time"] = time_text or utc_text(received)
    log = _child(data, "log")
    if log is not None:
        level = _take(log, "level")
        if level is not None:
            record["level"] = level_from_word(level)
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
    message = data.pop("message")
    record["message"] = message
    if stamp is not None and time_text is None:
        data["timestamp"] = stamp  # kept as it came, since it could not be read
    for key, value in data.items():  # everything else, as it came
        record.setdefault(key if key not in record else f"fly_{key}", value)
    app_said = app_record(message)
    return record if app_said is None else with_app(record, app_said)


def with_app(record: dict[str, Any], said: dict[str, Any]) -> dict[str, Any]:
    """The platform's ``record`` with what the app ``said`` in its line (see ``_apps``).

    Both dicts are emptied of what is taken.
    """
    platform_time = record.pop("time")
    platform_level = record.pop("level", None)
    del record["message"]
    out: dict[str, Any] = {"time": said.pop("time", None) or platform_time}
    level = said.pop("level", None) or platform_level
    if level is not None:
        out["level"] = level
    logger = said.pop("logger", None)
    if logger is not None:
        out["logger"] = logger
    for key in PLATFORM_FIELDS:
        if key in record:
            out[key] = record.pop(key)
    out["message"] = said.pop("message")
    out.update(record)  # the platform's other fields, kept by platform_record
    _add_said(out, said)
    return out


def _add_said(out: dict[str, Any], said: dict[str, Any]) -> None:
    """Add the app's own fields to ``out``: one that says again what is there is left
    out (dual_log's own fly_app), one that says otherwise is kept as ``app_<name>``."""
    for key, value in said.items():
        name = key
        if name in out:
            if out[name] == value:
                continue
            while name in out:
                name = f"app_{name}"
        out[name] = value


def _raw(body: bytes, subject: str, received: float) -> dict[str, Any]:
    record: dict[str, Any] = {"time": utc_text(received)}
    record.update(subject_fields(subject))
    record["subject"] = subject
    record["raw"] = body.decode("utf-8", "backslashreplace")
    return record


def _platform_line_said(body: PlatformBody, level: str, said: dict[str, Any]) -> Captured:
    """The line of a body of the platform's shape whose app said more (see ``_apps``).

    The same record as ``with_app(platform_record(...), said)``, built straight.
    """
    fly = body.fly
    app = fly.app.name
    region = fly.region
    out: dict[str, Any] = {
        "time": said.pop("time", None) or f"{body.timestamp[:23]}+00:00",
        "level": said.pop("level", None) or level,
    }
    logger = said.pop("logger", None)
    if logger is not None:
        out["logger"] = logger
    out["fly_app"] = app
    out["fly_region"] = region
    out["fly_machine"] = fly.app.instance
    out["host"] = body.host
    out["provider"] = body.event.provider
    message = out["message"] = said.pop("message")
    _add_said(out, said)
    return to_line(out), app, region, out["level"], message, True


# Built once: json.dumps builds an encoder per call when given any option. Compact and
# UTF-8, the shape msgspec writes, so a file reads the same whichever wrote it.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)


def _dumps_json(record: dict[str, Any]) -> bytes:
    # A lone surrogate (an escape in the message) is kept as its escape, not an error.
    return (_ENCODER.encode(record) + "\n").encode("utf-8", "backslashreplace")


def _dumps_msgspec(record: dict[str, Any] | PlatformLine) -> bytes:
    try:
        return _shapes.encode_json(record) + b"\n"
    except (UnicodeEncodeError, TypeError):  # a lone surrogate; a value JSON cannot hold
        if not isinstance(record, dict):
            record = _shapes.line_dict(record)
        return _dumps_json(record)


def _loads_msgspec(body: bytes) -> Any:
    try:
        return _shapes.decode_json(body)
    except ValueError:  # not JSON, or JSON msgspec refuses (an escaped lone surrogate)
        return json.loads(body)


# msgspec (the "nats" extra) reads a body and writes a line in a fraction of json's
# time: for the capture that is most of its work per message. Without it, json reads
# and writes every body, by the general path.
try:
    from dual_log._capture import _shapes
except ImportError:  # msgspec is missing; the fallback is tested (tests/capture/test_lines.py)
    _shapes = None  # type: ignore[assignment]

_decode_platform: Callable[[bytes], PlatformBody] | None = None
_loads: Callable[[bytes], Any] = json.loads
to_line: Callable[[Any], bytes] = _dumps_json
"""``to_line(record)``: one JSON line, UTF-8, ending in its newline. Control characters
inside are escaped, so it is always exactly one line."""
FAST = _shapes is not None
"""Whether msgspec reads and writes the lines."""
if _shapes is not None:
    _decode_platform = _shapes.decode_body
    _loads = _loads_msgspec
    to_line = _dumps_msgspec
