"""From a message to its line: the platform's fields, the two paths, the fallback, the options."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dual_log._capture import _lines, _shapes
from dual_log._capture._files import safe_name
from dual_log._capture._lines import line_of, platform_record, to_line
from dual_log._capture._options import DEFAULT_PATH, DEFAULT_SERVER, parse
from dual_log._capture._times import normal_time
from dual_log.capture import main

SUBJECT = b"logs.my-app.ams.148ed1"
BODY = {
    "event": {"provider": "app", "kind": "stdout"},
    "fly": {"app": {"instance": "148ed1", "name": "my-app"}, "region": "ams"},
    "host": "a1b2",
    "log": {"level": "warn"},
    "message": "hello\nforged",
    "timestamp": "2026-11-24T09:30:41.854923456Z",
}
PLATFORM = {**BODY, "event": {"provider": "app"}, "log": {"level": "info"}}
# Lines an app may print, each read its own way (see test_apps.py), and plain ones.
APP_LINES = [
    "GET /items/7 200 in 12ms",
    'caf\u00e9 \u2028 \x00\x1f\x7f tab\there "quoted" back\\slash',
    "2026-11-24T09:30:41.854+00:00 WARNING shop.orders checkout failed",
    "ERROR:root:boom",
    "[2026-11-24 09:30:41 +0000] [7] [INFO] Booting worker with pid: 7",
    'I, [2026-11-24T09:30:41.854123 #7]  INFO -- : Started GET "/"',
    '{"event": "signed in", "level": "info", "logger": "auth", "timestamp": '
    '"2026-11-24T09:30:41.123456Z", "user": 5, "host": "machine-1"}',
    '{"level": 50, "time": 1764000000123, "pid": 1, "hostname": "x", "msg": "pino"}',
    '{"message": "own", "fly_app": "my-app", "time": "soon", "n": [1, 2.5, null, true]}',
    '{"no": "message"}',
    "{not json",
    "",
]


def body(**changes: object) -> bytes:
    """The platform's body with ``changes``, encoded."""
    return json.dumps({**PLATFORM, **changes}).encode()


def _takes_the_short_way(raw: bytes) -> bool:
    """Whether ``line_of`` reads ``raw`` by the msgspec Struct, as it decides."""
    try:
        decoded = _shapes.decode_body(raw)
    except ValueError:
        return False
    return _lines._platform_time(decoded.timestamp) is not None


def test_platform_json_becomes_dual_log_fields_and_keeps_the_rest():
    """Fly's nested fields map to dual_log's names; unknown fields stay as they came."""
    record = platform_record(json.loads(json.dumps(BODY)), "logs.my-app.ams.148ed1", 0.0)
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
    "raw",
    [b"plain text", b"\xff\xfe", b"[1, 2]", b'{"no": "message"}', b'{"message": 5}', b""],
)
def test_anything_else_is_kept_raw_with_its_subject(raw):
    """Non-JSON, non-UTF-8, or JSON of another shape: kept raw, never dropped."""
    line, app, region, level, text, parsed = line_of(raw, b"logs.web.iad.m9", 1.5)
    record = json.loads(line)
    assert parsed is False
    assert record["raw"] == raw.decode("utf-8", "backslashreplace") == text
    assert (record["subject"], record["fly_app"], record["time"]) == (
        "logs.web.iad.m9",
        "web",
        "1970-01-01T00:00:01.500+00:00",
    )
    assert (app, region, level) == ("web", "iad", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:30:41Z", "2026-11-24T09:30:41.000+00:00"),
        ("2026-11-24T09:30:41.9999Z", "2026-11-24T09:30:41.999+00:00"),
        ("2026-11-24T10:30:41.5+01:00", "2026-11-24T09:30:41.500+00:00"),
        ("2026-11-24 09:30:41.123+00:00", "2026-11-24T09:30:41.123+00:00"),
        ("2026-11-24T09:30:41.123+00:00", "2026-11-24T09:30:41.123+00:00"),
        ("2026-11-24T09:30:41.123456", "2026-11-24T09:30:41.123+00:00"),
        ("yesterday", None),
    ],
)
def test_timestamps_take_dual_logs_shape(text, expected):
    """RFC 3339 in any zone becomes dual_log's UTC millisecond ``time``, else None."""
    assert normal_time(text) == expected


def test_an_unreadable_timestamp_is_kept_beside_the_received_time():
    """A bad timestamp is not lost: ``time`` is when it arrived, ``timestamp`` as it came."""
    line = line_of(b'{"message": "m", "timestamp": "soon"}', b"logs.a.b.c", 2.0)[0]
    record = json.loads(line)
    assert (record["time"], record["timestamp"]) == ("1970-01-01T00:00:02.000+00:00", "soon")


@pytest.mark.parametrize("message", APP_LINES)
def test_the_msgspec_way_and_the_general_way_write_the_same_bytes(message):
    """A body of the platform's shape is decoded into a Struct and its line encoded from
    one (or from the app's fields); the general path reads it as a dict: byte for byte the
    same line, and the same fields for the filters."""
    raw = body(message=message)
    assert _takes_the_short_way(raw)
    fast = line_of(raw, SUBJECT)
    general = _lines._general_line(raw, SUBJECT, 0.0)
    assert fast == general
    assert fast[0].count(b"\n") == 1
    assert json.loads(fast[0])["fly_machine"] == "148ed1"


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
        {"message": "lone \udcff surrogate"},
    ],
)
def test_any_other_shape_takes_the_general_path(changes):
    """A wrong type, a key more or less, an empty name, a timestamp not in the platform's
    own shape: never read the short way, so the line is always the general path's."""
    raw = body(**changes)
    assert not _takes_the_short_way(raw)
    assert line_of(raw, SUBJECT, 1.0) == _lines._general_line(raw, SUBJECT, 1.0)


def test_the_short_way_needs_every_key():
    """Six keys, but one of them in place of another: the general path."""
    assert _takes_the_short_way(body())
    for missing in PLATFORM:
        data = {**PLATFORM, "other": "x"}
        del data[missing]
        assert not _takes_the_short_way(json.dumps(data).encode())


_WITHOUT_MSGSPEC = """
import json, sys
sys.modules["msgspec"] = None
from dual_log._capture import _lines
assert _lines.FAST is False
for raw in json.load(sys.stdin):
    line = _lines.line_of(raw.encode(), b"logs.my-app.ams.148ed1", 0.0)[0]
    sys.stdout.buffer.write(line)
"""


def test_without_msgspec_json_writes_the_same_lines(python):
    """The "nats" extra left out: json reads and writes every line, the same bytes."""
    bodies = [body(message=m).decode("utf-8") for m in APP_LINES]
    bodies += [json.dumps(BODY), "not json at all", '{"message": "m", "timestamp": "soon"}']
    done = subprocess.run(
        [python, "-c", _WITHOUT_MSGSPEC],
        input=json.dumps(bodies).encode(),
        capture_output=True,
        text=False,
        check=True,
        timeout=60,
    )
    expected = b"".join(line_of(b.encode(), SUBJECT, 0.0)[0] for b in bodies)
    assert done.stdout == expected


def test_without_msgspec_the_capture_says_it_is_slower(python, tmp_path):
    """The capture runs without the extra, and says once what installing it would bring."""
    code = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from dual_log.capture import main\n"
        "sys.exit(main(['--path', sys.argv[1], '--server', 'nats://127.0.0.1:1', "
        "'--stop-timeout', '1', '--fsync-interval', '0']))\n"
    )
    proc = subprocess.Popen(
        [python, "-c", code, str(tmp_path / "x.log")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stderr.readline() if proc.stderr else ""
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=30)
    assert "msgspec is not installed" in first
    assert "install dual_log with its nats extra" in first
    assert (first + rest).count("msgspec is not installed") == 1


def test_a_line_is_the_same_json_whichever_library_writes_it():
    """msgspec or json: one UTF-8 line, the same object read back, in the same compact
    shape; a lone surrogate is written as its escape, never an error."""
    record = {"time": "2026-11-24T09:30:41.854+00:00", "message": "caf\u00e9\nforged\x00"}
    record["n"] = [1, 2.5, None, True, {"deep": "\u2028"}]
    assert _lines._dumps_msgspec(record) == _lines._dumps_json(record)
    line = to_line(record)
    assert line.count(b"\n") == 1
    assert json.loads(line) == record
    odd = to_line({"message": "bad \udcff byte"})
    assert odd.count(b"\n") == 1
    assert odd == b'{"message":"bad \\udcff byte"}\n'  # read back as the same text


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
    assert options.servers == [("10.0.0.1", 4223, None, None)]
    assert (options.subject, options.queue, options.own_app) == ("logs.web.>", "q", "me")
    assert options.path == "/data/x.log"
    given = parse(["--server", "nats://h:1", "--path", "/v/y.log", "--include-own-app"], env)
    assert (given.server, given.path, given.own_app) == ("nats://h:1", "/v/y.log", None)
    default = parse([], {})
    assert (default.server, default.path, default.user) == (DEFAULT_SERVER, DEFAULT_PATH, None)
    assert default.servers == [("fdaa::3", 4223, None, None)]
    assert (default.silent_after, default.fsync_interval) == (600.0, 1.0)
    several = parse(["--server", "a:1, nats://u:p%40ss@[::1]:2,c"], {})
    assert several.servers == [
        ("a", 1, None, None),
        ("::1", 2, "u", "p@ss"),
        ("c", 4222, None, None),
    ]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--stall-seconds", "-1"], "--stall-seconds"),
        (["--silent-after", "-5"], "--silent-after"),
        (["--fsync-interval", "nan"], "--fsync-interval"),
        (["--match", "("], "--match"),
        (["--keep", "many"], "keep"),
        (["--pending-messages", "0"], "--pending-messages"),
        (["--health-port", "70000"], "--health-port"),
        (["--level", "loud"], "--level"),
        (["--level", "info,warning"], "--level"),
        (["--server", "tls://h:1"], "--server"),
        (["--server", "nats://h:port"], "--server"),
    ],
)
def test_a_bad_option_is_refused_at_once_by_name(argv, named, capsys):
    """A usage error (exit status 2) naming the option, before connecting anywhere: the
    command's usage, then one line with one prefix."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dual-log capture ")
    last = err.splitlines()[-1]
    assert last.startswith("dual-log capture: error: invalid ")
    assert named in last
    assert "dual_log:" not in last


def test_import_dual_log_never_imports_the_capture():
    """``import dual_log`` leaves the capture and its msgspec alone."""
    code = "import sys, dual_log; print([m for m in sys.modules if 'capture' in m or 'msgs' in m])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
