"""The app's own line: each known shape gives its time, level, logger and fields; clashes."""

from __future__ import annotations

import json

import pytest

from dual_log._capture._apps import app_record
from dual_log._capture._filters import StreamFilters
from dual_log._capture._lines import line_of

SUBJECT = b"logs.shop.ams.148ed1"


def captured(message: str, level: str = "info") -> dict:
    """The record the capture writes for ``message`` printed by app ``shop``."""
    body = {
        "event": {"provider": "app"},
        "fly": {"app": {"instance": "148ed1", "name": "shop"}, "region": "ams"},
        "host": "a1b2",
        "log": {"level": level},
        "message": message,
        "timestamp": "2026-11-24T09:30:45.999123456Z",
    }
    return json.loads(line_of(json.dumps(body).encode(), SUBJECT)[0])


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (  # structlog's JSONRenderer with add_log_level, add_logger_name, TimeStamper
            '{"event": "signed in", "level": "warning", "logger": "auth", '
            '"timestamp": "2026-11-24T09:30:41.123456Z", "user": 5}',
            {
                "time": "2026-11-24T09:30:41.123+00:00",
                "level": "WARNING",
                "logger": "auth",
                "message": "signed in",
                "user": 5,
            },
        ),
        (  # python-json-logger, "%(asctime)s %(levelname)s %(name)s %(message)s"
            '{"asctime": "2026-11-24 09:30:41,123", "levelname": "ERROR", "name": "app.db", '
            '"message": "no connection"}',
            {
                "level": "ERROR",
                "logger": "app.db",
                "message": "no connection",
                "asctime": "2026-11-24 09:30:41,123",
            },
        ),
        (  # pino: numeric level, epoch milliseconds
            '{"level":40,"time":1764000000123,"pid":7,"hostname":"m1","name":"api","msg":"slow"}',
            {
                "time": "2025-11-24T16:00:00.123+00:00",
                "level": "WARNING",
                "logger": "api",
                "message": "slow",
                "pid": 7,
                "hostname": "m1",
            },
        ),
        (  # bunyan: numeric level, ISO time, "v"
            '{"name":"api","hostname":"m1","pid":7,"level":60,"msg":"dead",'
            '"time":"2026-11-24T09:30:41.123Z","v":0}',
            {
                "time": "2026-11-24T09:30:41.123+00:00",
                "level": "CRITICAL",
                "logger": "api",
                "message": "dead",
                "hostname": "m1",
                "pid": 7,
                "v": 0,
            },
        ),
        (  # dual_log's own JSON line (stdout_format="json")
            '{"time": "2026-11-24T09:30:41.854+00:00", "level": "INFO", "logger": "shop", '
            '"message": "paid", "pid": 8, "order": 17}',
            {
                "time": "2026-11-24T09:30:41.854+00:00",
                "level": "INFO",
                "logger": "shop",
                "message": "paid",
                "pid": 8,
                "order": 17,
            },
        ),
        (  # Google Cloud's "severity"; a time in seconds since the epoch
            '{"severity": "NOTICE", "message": "ok", "time": 1764000000.5}',
            {"time": "2025-11-24T16:00:00.500+00:00", "level": "INFO", "message": "ok"},
        ),
        (  # dual_log's stdout line, its message escaped as dual_log escapes it
            "2026-11-24T09:30:41.854+00:00 WARNING shop.orders checkout failed\\nretrying",
            {
                "time": "2026-11-24T09:30:41.854+00:00",
                "level": "WARNING",
                "logger": "shop.orders",
                "message": "checkout failed\\nretrying",
                "original": "2026-11-24T09:30:41.854+00:00 WARNING shop.orders "
                "checkout failed\\nretrying",
            },
        ),
        (  # Python's default format
            "CRITICAL:root:disk: full",
            {
                "level": "CRITICAL",
                "logger": "root",
                "message": "disk: full",
                "original": "CRITICAL:root:disk: full",
            },
        ),
        (  # gunicorn's error log
            "[2026-11-24 10:30:41 +0100] [7] [ERROR] Worker (pid:9) was sent SIGKILL!",
            {
                "time": "2026-11-24T09:30:41.000+00:00",
                "level": "ERROR",
                "message": "Worker (pid:9) was sent SIGKILL!",
                "pid": 7,
                "original": "[2026-11-24 10:30:41 +0100] [7] [ERROR] Worker (pid:9) was sent "
                "SIGKILL!",
            },
        ),
        (  # Ruby's Logger, as Rails writes to stdout
            'W, [2026-11-24T09:30:41.854999 #12]  WARN -- : [4f2a] Started GET "/"',
            {
                "time": "2026-11-24T09:30:41.854+00:00",
                "level": "WARNING",
                "message": '[4f2a] Started GET "/"',
                "pid": 12,
                "original": 'W, [2026-11-24T09:30:41.854999 #12]  WARN -- : [4f2a] Started GET "/"',
            },
        ),
        (  # Ruby's Logger with a program name
            "F, [2026-11-24T09:30:41 #12] FATAL -- sidekiq: gone",
            {
                "time": "2026-11-24T09:30:41.000+00:00",
                "level": "CRITICAL",
                "logger": "sidekiq",
                "message": "gone",
                "pid": 12,
                "original": "F, [2026-11-24T09:30:41 #12] FATAL -- sidekiq: gone",
            },
        ),
    ],
)
def test_each_known_shape_gives_what_the_app_said(line, said):
    """JSON of the common loggers, dual_log's, Python's, gunicorn's and Ruby's text lines."""
    assert app_record(line) == said


@pytest.mark.parametrize(
    "line",
    [
        "GET /items 200",
        "Booting worker",  # a capital first letter, but not Python's format
        "INFO: uvicorn's own",
        "2026-11-24 09:30:41 not dual_log's shape",
        "[not gunicorn] [x]",
        '{"no": "message"}',
        '{"message": 5}',
        '["a", "list"]',
        "{broken json",
        "",
    ],
)
def test_anything_else_stays_the_message_as_it_came(line):
    """Plain text and JSON without a text message: nothing is read from them."""
    assert app_record(line) is None
    record = captured(line)
    assert record["message"] == line
    assert record["level"] == "INFO"
    assert "original" not in record
    assert "logger" not in record


def test_the_apps_time_level_and_logger_win_and_the_platforms_fields_stay():
    """The app's own time, level and logger replace the platform's; fly_* and host stay."""
    record = captured("2026-11-24T09:30:41.854+00:00 ERROR shop.pay declined")
    assert record == {
        "time": "2026-11-24T09:30:41.854+00:00",
        "level": "ERROR",
        "logger": "shop.pay",
        "fly_app": "shop",
        "fly_region": "ams",
        "fly_machine": "148ed1",
        "host": "a1b2",
        "provider": "app",
        "message": "declined",
        "original": "2026-11-24T09:30:41.854+00:00 ERROR shop.pay declined",
    }


def test_the_platforms_time_and_level_stay_when_the_app_gave_none():
    """Python's default format has no time: the platform's arrival time is kept."""
    record = captured("WARNING:shop:low stock", level="info")
    assert (record["time"], record["level"]) == ("2026-11-24T09:30:45.999+00:00", "WARNING")
    record = captured('{"msg": "no level here"}', level="err")
    assert (record["time"], record["level"]) == ("2026-11-24T09:30:45.999+00:00", "ERROR")


def test_a_clash_keeps_both_values_and_drops_only_a_repeat():
    """An app field named like a platform field: the same value is dropped, another one is
    kept as app_<name>; a time that cannot be read stays as app_time."""
    record = captured(
        json.dumps(
            {
                "message": "m",
                "fly_app": "shop",
                "fly_region": "iad",
                "host": "148ed1",
                "provider": "mine",
                "app_host": "taken",
                "time": "soon",
                "level": "verbose",
            }
        )
    )
    assert record["fly_app"] == "shop"
    assert (record["fly_region"], record["app_fly_region"]) == ("ams", "iad")
    # In the app's order: its "host" took app_host first, so its own "app_host" moved on.
    assert (record["host"], record["app_host"], record["app_app_host"]) == (
        "a1b2",
        "148ed1",
        "taken",
    )
    assert (record["provider"], record["app_provider"]) == ("app", "mine")
    assert (record["time"], record["app_time"]) == ("2026-11-24T09:30:45.999+00:00", "soon")
    assert record["level"] == "VERBOSE"
    assert "app_fly_app" not in record


def test_level_means_that_level_and_above_read_from_the_apps_own_line():
    """--level WARNING keeps the app's warnings and errors, whatever the platform said
    ("info" for every line), and lines of a level not known, as dual-log cat does."""
    keep = StreamFilters(level=30).keep_line
    lines = {
        "2026-11-24T09:30:41.854+00:00 DEBUG a x": False,
        "2026-11-24T09:30:41.854+00:00 INFO a x": False,
        "2026-11-24T09:30:41.854+00:00 WARNING a x": True,
        '{"msg": "x", "level": 50}': True,
        "CRITICAL:a:x": True,
        '{"msg": "x", "level": "verbose"}': True,
        '{"msg": "x", "level": "Level 35"}': True,
        '{"msg": "x", "level": "Level 25"}': False,
        "plain, so the platform's info": False,
    }
    for line, kept in lines.items():
        record = captured(line)
        assert keep(record["level"], record["message"]) is kept, line
