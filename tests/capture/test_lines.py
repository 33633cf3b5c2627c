"""The mapping of the platform's messages to lines, the filters, the options, the import guard."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dual_log._capture import _lines
from dual_log._capture._files import safe_name
from dual_log._capture._lines import Filters, normal_time, to_line, to_record
from dual_log._capture._options import DEFAULT_PATH, DEFAULT_SERVER, parse
from dual_log.capture import main

BODY = {
    "event": {"provider": "app", "kind": "stdout"},
    "fly": {"app": {"instance": "148ed1", "name": "my-app"}, "region": "ams"},
    "host": "a1b2",
    "log": {"level": "warn"},
    "message": "hello\nforged",
    "timestamp": "2026-11-24T09:30:41.854923456Z",
}


def test_platform_json_becomes_dual_log_fields_and_keeps_the_rest():
    """Fly's nested fields map to dual_log's names; unknown fields stay as they came."""
    record, parsed = to_record(json.dumps(BODY).encode(), "logs.my-app.ams.148ed1", 0.0)
    assert parsed is True
    assert record == {
        "time": "2026-11-24T09:30:41.854+00:00",
        "level": "WARNING",
        "fly_app": "my-app",
        "fly_region": "ams",
        "fly_machine": "148ed1",
        "host": "a1b2",
        "provider": "app",
        "message": "hello\nforged",
        "event": {"kind": "stdout"},
    }
    line = to_line(record)
    assert line.endswith(b"}\n")
    assert line.count(b"\n") == 1


@pytest.mark.parametrize(
    "body",
    [b"plain text", b"\xff\xfe", b"[1, 2]", b'{"no": "message"}', b'{"message": 5}', b""],
)
def test_anything_else_is_kept_raw_with_its_subject(body):
    """Non-JSON, non-UTF-8, or JSON of another shape: kept raw, never dropped."""
    record, parsed = to_record(body, "logs.web.iad.m9", 1.5)
    assert parsed is False
    assert record["raw"] == body.decode("utf-8", "backslashreplace")
    assert (record["subject"], record["fly_app"], record["time"]) == (
        "logs.web.iad.m9",
        "web",
        "1970-01-01T00:00:01.500+00:00",
    )
    assert json.loads(to_line(record)) == record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:30:41Z", "2026-11-24T09:30:41.000+00:00"),
        ("2026-11-24T09:30:41.9999Z", "2026-11-24T09:30:41.999+00:00"),
        ("2026-11-24T10:30:41.5+01:00", "2026-11-24T09:30:41.500+00:00"),
        ("2026-11-24 09:30:41.123+00:00", "2026-11-24T09:30:41.123+00:00"),
        ("yesterday", None),
    ],
)
def test_timestamps_take_dual_logs_shape(text, expected):
    """RFC 3339 in any zone becomes dual_log's UTC millisecond ``time``, else None."""
    assert normal_time(text) == expected


def test_an_unreadable_timestamp_is_kept_beside_the_received_time():
    """A bad timestamp is not lost: ``time`` is when it arrived, ``timestamp`` as it came."""
    record, _ = to_record(b'{"message": "m", "timestamp": "soon"}', "logs.a.b.c", 2.0)
    assert (record["time"], record["timestamp"]) == ("1970-01-01T00:00:02.000+00:00", "soon")


@pytest.mark.parametrize("app", ["../x", "a/b", "..", ".hidden", "", "-rf", "x" * 300, "é"])
def test_unsafe_app_names_become_distinct_plain_file_names(app):
    """No separator, no leading dot or dash, bounded length, and a hash keeps them apart."""
    name = safe_name(app)
    assert "/" not in name
    assert not name.startswith((".", "-"))
    assert len(name) <= 80
    assert name != safe_name(app + "_")


def test_platform_app_names_stay_as_they_are():
    """Ordinary app names are their own file names."""
    assert [safe_name(a) for a in ("web", "my-app-2", "a_b")] == ["web", "my-app-2", "a_b"]


def test_filters_combine_includes_and_excludes():
    """Globs for apps and regions, level names, and patterns on the message."""
    import re

    keep = Filters(
        apps=("web*",), exclude_regions=("iad",), levels=("INFO", "WARNING"),
        exclude_match=re.compile("healthz"),
    ).keep  # fmt: skip
    assert keep({"fly_app": "web-2", "fly_region": "ams", "level": "INFO", "message": "x"})
    assert not keep({"fly_app": "api", "fly_region": "ams", "level": "INFO", "message": "x"})
    assert not keep({"fly_app": "web", "fly_region": "iad", "level": "INFO", "message": "x"})
    assert not keep({"fly_app": "web", "fly_region": "ams", "level": "DEBUG", "message": "x"})
    assert not keep({"fly_app": "web", "fly_region": "ams", "level": "INFO", "message": "healthz"})
    assert Filters().active is False


def test_options_fall_back_to_the_shippers_environment():
    """--server/NATS_URL, ORG, ACCESS_TOKEN, SUBJECT, QUEUE, FLY_APP_NAME, DUAL_LOG_PATH."""
    env = {
        "NATS_URL": "nats://10.0.0.1:4223",
        "ORG": "org",
        "ACCESS_TOKEN": "tok",
        "SUBJECT": "logs.web.>",
        "QUEUE": "q",
        "FLY_APP_NAME": "me",
        "DUAL_LOG_PATH": "/data/x.log",
    }
    options = parse([], env)
    assert (options.server, options.user, options.password) == (
        "nats://10.0.0.1:4223",
        "org",
        "tok",
    )
    assert (options.subject, options.queue, options.own_app) == ("logs.web.>", "q", "me")
    assert options.path == "/data/x.log"
    given = parse(["--server", "nats://h:1", "--path", "/v/y.log", "--include-own-app"], env)
    assert (given.server, given.path, given.own_app) == ("nats://h:1", "/v/y.log", None)
    default = parse([], {})
    assert (default.server, default.path, default.user) == (DEFAULT_SERVER, DEFAULT_PATH, None)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--stall-seconds", "-1"], "--stall-seconds"),
        (["--match", "("], "--match"),
        (["--keep", "many"], "keep"),
        (["--pending-messages", "0"], "--pending-messages"),
        (["--health-port", "70000"], "--health-port"),
    ],
)
def test_a_bad_option_is_refused_at_once_by_name(argv, named, capsys):
    """Exit status 2 and one stderr line naming the option, before connecting anywhere."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named in err
    assert err.startswith("dual_log: capture: ")


def test_import_dual_log_never_imports_nats_and_capture_names_the_extra():
    """``import dual_log`` leaves nats alone; without nats-py the capture says what to install."""
    code = (
        "import sys, dual_log; assert 'nats' not in sys.modules\n"
        "sys.modules['nats'] = None\n"
        "try:\n    import dual_log.capture\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == (
        "dual_log.capture needs nats-py: pip install 'dual-log-handler[nats]'"
    )


@pytest.mark.parametrize(
    "dumps", [_lines._dumps_json, _lines._dumps_orjson], ids=["json", "orjson"]
)
def test_a_line_is_the_same_json_whichever_library_writes_it(dumps):
    """With orjson (the "nats" extra) or without: one UTF-8 line, the same object read back,
    in the same compact shape; a lone surrogate is written as its escape, never an error."""
    record = {"time": "2026-11-24T09:30:41.854+00:00", "message": "caf\u00e9\nforged\x00"}
    record["n"] = [1, 2.5]
    line = dumps(record)
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
    assert json.loads(line) == record
    assert line == _lines._dumps_orjson(record)
    odd = dumps({"message": "bad \udcff byte"})
    assert odd.count(b"\n") == 1
    assert json.loads(odd)["message"] in ("bad \udcff byte", "bad \\udcff byte")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"log": {"level": "warn"}},
        {"log": {"level": "INFO"}},
        {"log": {"level": "notice "}},
        {"timestamp": "2026-11-24T09:30:41.8541Z"},
        {"message": "caf\u00e9\nforged"},
    ],
)
def test_the_platform_shape_is_read_as_the_general_path_reads_it(changes):
    """Messages of exactly the platform's shape take a shorter way to the same record;
    any other shape (an extra field here) takes the general one."""
    data = {**BODY, "event": {"provider": "app"}, **changes}
    fast = _lines._platform_record(json.loads(json.dumps(data)))
    assert fast is not None
    assert fast == _lines._general_record(json.loads(json.dumps(data)), "logs.x.y.z", 1.0)
    assert _lines._platform_record(json.loads(json.dumps(BODY))) is None  # "kind" too


PLATFORM = {**BODY, "event": {"provider": "app"}}


@pytest.mark.parametrize(
    "changes",
    [
        {"host": 5},
        {"host": None},
        {"message": ["a"]},
        {"log": {"level": 3}},
        {"log": "info"},
        {"log": {"level": "info", "extra": 1}},
        {"log": {"lvl": "info"}},
        {"event": {"provider": "app", "kind": "stdout"}},
        {"event": "a"},
        {"fly": {"app": {"instance": "m1", "name": ""}, "region": "ams"}},
        {"fly": {"app": {"instance": "m1", "name": "a"}, "region": ""}},
        {"fly": {"app": {"instance": "m1", "name": "a"}, "zone": "ams"}},
        {"fly": {"app": ["m1", "a"], "region": "ams"}},
        {"fly": {"app": "ab", "region": "ams"}},
        {"fly": {"app": {"instance": "m1", "name": "a", "x": 1}, "region": "ams"}},
        {"fly": {"app": {"instance": 1, "name": "a"}, "region": "ams"}},
        {"fly": "ab"},
        {"timestamp": "2026-11-24T09:30:41Z"},
        {"timestamp": "2026-11-24T09:30:41.85Z"},
        {"timestamp": "2026-11-24 09:30:41.854Z"},
        {"timestamp": "2026-11-24T09:30:41.854+01:00"},
        {"timestamp": "2026-11-24T09:30:41.854z"},
        {"timestamp": "yesterday"},
        {"timestamp": 1764000000},
        {"extra": "field"},
    ],
)
def test_any_other_shape_takes_the_general_path(changes):
    """A wrong type, a key more or less, an empty name, a timestamp not in the platform's
    own shape: never read the short way, so the result is always the general path's."""
    data = {**PLATFORM, **changes}
    assert _lines._platform_record(json.loads(json.dumps(data))) is None
    record, parsed = to_record(json.dumps(data).encode(), "logs.x.y.z", 1.0)
    if parsed:
        assert record == _lines._general_record(json.loads(json.dumps(data)), "logs.x.y.z", 1.0)


def test_the_short_way_needs_every_key():
    """Six keys, but one of them in place of another: the general path."""
    for missing in PLATFORM:
        data = {**PLATFORM, "other": "x"}
        del data[missing]
        assert _lines._platform_record(json.loads(json.dumps(data))) is None
