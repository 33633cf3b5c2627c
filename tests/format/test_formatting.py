"""The text and JSON formats, and the promise that no sink changes what the other receives."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import sys
from pathlib import Path

import pytest

import dual_log
from tests.helpers.logfiles import read_records


def _record(logger: logging.Logger, msg: str, *args: object, **kwargs: object) -> logging.LogRecord:
    exc_info = kwargs.pop("exc_info", None)
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 10, msg, args, exc_info, extra=kwargs or None
    )


def _exc_info() -> tuple[type[BaseException], BaseException, object]:
    try:
        raise KeyError("missing\nforged line")
    except KeyError:
        info = sys.exc_info()
        assert info[0] is not None
        assert info[1] is not None
        return info[0], info[1], info[2]


@pytest.mark.parametrize("queue", [True, False])
def test_no_sink_changes_the_record_the_other_receives(
    logger: logging.Logger, log_path: Path, queue: bool
) -> None:
    """After both sinks handled it, the record's attributes are exactly as the caller made them."""
    stdout = dual_log.StdoutHandler(io.StringIO())
    stdout.setFormatter(dual_log.TextFormatter(redact=True))
    file = dual_log.FileHandler(log_path, queue=queue)
    file.setFormatter(dual_log.JsonFormatter(static_fields={"sink": "file"}, redact=True))
    payload = {"password": "hunter2", "user": "ann"}
    record = _record(logger, "login\n%(user)s", payload, exc_info=_exc_info())
    record.__dict__["token"] = "t0k3n"
    before = dict(record.__dict__)
    for handler in (stdout, file):
        handler.handle(record)
        assert record.__dict__ == before
    file.close()
    assert payload == {"password": "hunter2", "user": "ann"}
    assert record.exc_text is None  # no formatter cached a traceback on the shared record
    assert record.getMessage() == "login\nann"


@pytest.mark.parametrize(
    "kind", ["plain", "native extras", "nested extra", "stack", "bound", "exception"]
)
def test_the_default_sinks_change_no_record_deeply(
    logger: logging.Logger, log_path: Path, kind: str
) -> None:
    """dual_log.setup()'s own pair, fast paths included: every kind of record comes out of
    both sinks exactly as it went in, down to the values inside its extras."""
    dual = dual_log.setup(path=log_path, queue=False)
    try:
        nested = {"cfg": {"password": "hunter2", "hosts": ["a", "b"]}, "n": [1, {"k": "v"}]}
        extras = {
            "plain": None,
            "native extras": {"user_id": 4217, "route": "/cart", "ok": True, "ratio": 0.5},
            "nested extra": nested,
            "stack": None,
            "bound": None,
            "exception": {"user_id": 1},
        }[kind]
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 1, "request %s done", ("abc",),
            _exc_info() if kind == "exception" else None, extra=extras,
            sinfo="Stack (most recent call last):\n  here" if kind == "stack" else None,
        )  # fmt: skip
        before = {k: v if k == "exc_info" else copy.deepcopy(v) for k, v in record.__dict__.items()}
        with dual_log.context(request_id="r-1") if kind == "bound" else contextlib.nullcontext():
            for handler in dual.handlers:  # the pair alone: pytest's own handler sets .message
                handler.handle(record)
        assert dual.flush()
        after = record.__dict__
        assert after.keys() == before.keys()
        for key, value in before.items():
            if key == "exc_info":  # the same exception, compared by identity
                assert after[key] is record.exc_info
            else:
                assert after[key] == value, key
    finally:
        dual.close()
    assert len(read_records(log_path)[0]) == 1


def test_a_sink_whose_formatter_was_set_to_none_changes_no_record(
    logger: logging.Logger, log_path: Path
) -> None:
    """setFormatter(None) on either handler: dual_log's own formatter writes the line, not
    logging's default one, which would store the message and traceback on the record."""
    out = io.StringIO()
    stdout = dual_log.StdoutHandler(out)
    file = dual_log.FileHandler(log_path, queue=False)
    for handler in (stdout, file):
        handler.setFormatter(None)
    record = _record(logger, "m %s", "a", exc_info=_exc_info())
    before = dict(record.__dict__)
    for handler in (stdout, file):
        handler.handle(record)
    file.close()
    assert record.__dict__ == before
    assert out.getvalue().splitlines()[0].endswith(" m a")
    records, _ = read_records(log_path)
    assert [r["message"] for r in records] == ["m a"]


def test_what_one_sink_adds_never_reaches_the_other(logger: logging.Logger, log_path: Path) -> None:
    """Escaping and fields of one sink show in its own output only."""
    out = io.StringIO()
    stdout = dual_log.StdoutHandler(out)
    stdout.setFormatter(dual_log.JsonFormatter(static_fields={"sink": "stdout"}))
    text = io.StringIO()
    text_handler = dual_log.StdoutHandler(text)  # the escaping text format, third sink
    file = dual_log.FileHandler(log_path, queue=False)
    file.setFormatter(dual_log.JsonFormatter(static_fields={"sink": "file"}))
    record = _record(logger, "two\nlines", exc_info=_exc_info())
    for handler in (text_handler, stdout, file):
        handler.handle(record)
    file.close()
    (line,) = out.getvalue().splitlines()
    assert json.loads(line)["sink"] == "stdout"
    records, torn = read_records(log_path)
    assert torn == []
    assert [r["sink"] for r in records] == ["file"]
    assert records[0]["message"] == "two\nlines"  # the text sink's escaping is its own
    assert "forged line" in records[0]["exc_info"]
    assert text.getvalue().splitlines()[0].endswith("two\\nlines")


def test_text_escapes_control_characters_and_keeps_one_line(logger: logging.Logger) -> None:
    """CR, LF, NUL, a lone ESC, U+2028 and lone surrogates are escaped in the text sink;
    an ANSI colour sequence is removed."""
    out = io.StringIO()
    handler = dual_log.StdoutHandler(out)
    handler.setFormatter(dual_log.TextFormatter("%(message)s"))
    bad = b"\xff".decode("utf-8", "surrogateescape")
    handler.handle(_record(logger, "a\r\nb\x00c\x1b[31md\u2028e%s\x1b", bad))
    assert out.getvalue() == "a\\r\\nb\\x00cd\\u2028e\\udcff\\x1b\n"


def test_text_escape_can_be_turned_off(logger: logging.Logger) -> None:
    """escape=False writes the message as it is."""
    formatter = dual_log.TextFormatter("%(message)s", escape=False)
    assert formatter.format(_record(logger, "a\nb")) == "a\nb"


def test_json_record_fields(logger: logging.Logger) -> None:
    """A JSON record carries time, level, logger, message, pid and the extras, on one line."""
    formatter = dual_log.JsonFormatter(platform_fields=False, static_fields={"service": "api"})
    line = formatter.format(_record(logger, "order %s paid", 42, order_id=42))
    assert "\n" not in line
    data = json.loads(line)
    assert list(data)[:5] == ["time", "level", "logger", "message", "pid"]
    assert data["time"].endswith("+00:00")
    assert data["level"] == "INFO"
    assert data["logger"] == logger.name
    assert data["message"] == "order 42 paid"
    assert data["order_id"] == 42
    assert data["service"] == "api"


def test_json_platform_fields_from_fly_environment(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Fly.io the JSON record names the app, region, machine and host."""
    monkeypatch.setenv("FLY_APP_NAME", "shop")
    monkeypatch.setenv("FLY_REGION", "ams")
    monkeypatch.setenv("FLY_MACHINE_ID", "m-1")
    data = json.loads(dual_log.JsonFormatter().format(_record(logger, "hi")))
    assert (data["fly_app"], data["fly_region"], data["fly_machine"]) == ("shop", "ams", "m-1")
    assert data["host"]


def test_json_adds_nothing_off_the_platform(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without FLY_* variables no platform field appears."""
    for name in ("FLY_APP_NAME", "FLY_REGION", "FLY_MACHINE_ID", "FLY_ALLOC_ID"):
        monkeypatch.delenv(name, raising=False)
    data = json.loads(dual_log.JsonFormatter().format(_record(logger, "hi")))
    assert not {"fly_app", "fly_region", "fly_machine", "host"} & set(data)


def test_json_unencodable_extras_fall_back_to_repr(logger: logging.Logger) -> None:
    """A circular extra and a non-string-keyed dict are written as reprs, marked."""
    loop: list[object] = []
    loop.append(loop)
    data = json.loads(
        dual_log.JsonFormatter(platform_fields=False).format(
            _record(logger, "x", loop=loop, keys={(1, 2): "tuple key"})
        )
    )
    assert data["message"] == "x"
    assert data["loop"] == "[[...]]"
    assert "tuple key" in data["keys"]
    assert data["dual_log_error"].startswith("record not fully encodable")


def test_json_dict_message_is_a_payload(logger: logging.Logger) -> None:
    """A dict logged as the message becomes JSON fields, as python-json-logger does."""
    data = json.loads(dual_log.JsonFormatter().format(_record(logger, {"event": "paid"})))  # type: ignore[arg-type]
    assert data["event"] == "paid"


def test_formatters_never_raise_on_a_broken_format(logger: logging.Logger) -> None:
    """A text format naming a field the record lacks still yields a marked line."""
    line = dual_log.TextFormatter("%(nope)s %(message)s", validate=False).format(
        _record(logger, "kept")
    )
    assert "'kept'" in line
    assert "record not formatted: ValueError" in line  # logging wraps the KeyError


# Clean records ----------------------------------------------------------------------------

# werkzeug's banner and uvicorn's colours: SGR colours (CSI ... m), a hyperlink (OSC 8 ... BEL)
# and a cursor move (CSI K); the BEL inside the message proper is not part of a sequence.
COLOURED = (
    "\x1b[1m\x1b[31mWARNING\x1b[0m: \x1b]8;;http://x\x07dev server\x1b]8;;\x1b\\ up\x1b[K \x07!"
)


def test_ansi_sequences_are_removed_from_both_formats(logger: logging.Logger) -> None:
    """Colour, hyperlink and cursor sequences vanish from text and JSON; a BEL stays escaped."""
    record = _record(logger, COLOURED)
    text = dual_log.TextFormatter("%(message)s").format(record)
    data = json.loads(dual_log.JsonFormatter(platform_fields=False).format(record))
    assert text == "WARNING: dev server up \\x07!"
    assert data["message"] == "WARNING: dev server up \x07!"
    assert record.msg == COLOURED


def test_ansi_sequences_are_removed_from_tracebacks(logger: logging.Logger) -> None:
    """A coloured exception message loses its colours in the JSON exc_info and the text lines."""
    try:
        raise RuntimeError("\x1b[31mboom\x1b[0m")
    except RuntimeError:
        record = _record(logger, "failed", exc_info=sys.exc_info())
    data = json.loads(dual_log.JsonFormatter().format(record))
    text = dual_log.TextFormatter("%(message)s").format(record)
    assert data["exc_info"].endswith("RuntimeError: boom")
    assert text.endswith("RuntimeError: boom")


def test_uvicorn_color_message_never_reaches_the_json(logger: logging.Logger) -> None:
    """uvicorn's color_message extra is left out; the record keeps it for uvicorn's own use."""
    record = _record(logger, "Started server", color_message="Started \x1b[1mserver\x1b[0m")
    data = json.loads(dual_log.JsonFormatter().format(record))
    assert "color_message" not in data
    assert data["message"] == "Started server"
    assert record.__dict__["color_message"] == "Started \x1b[1mserver\x1b[0m"


@pytest.mark.parametrize("how", ["keyword", "environment", "off"])
def test_source_fields_are_opt_in(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """source_fields adds lineno, funcName, module, threadName and processName; off by default."""
    if how == "environment":
        monkeypatch.setenv("DUAL_LOG_SOURCE_FIELDS", "true")
    formatter = dual_log.JsonFormatter(source_fields=True if how == "keyword" else None)
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 42, "here", (), None, "place")
    data = json.loads(formatter.format(record))
    fields = {"lineno": 42, "funcName": "place", "module": "test_formatting"}
    fields.update(threadName=record.threadName, processName=record.processName)
    if how == "off":
        assert not set(fields) & set(data)
    else:
        assert {k: data[k] for k in fields} == fields


def test_a_request_extra_of_the_applications_own_is_kept(logger: logging.Logger) -> None:
    """Only web requests are summarised: another object named request keeps its str()."""

    class Ticket:
        def __str__(self) -> str:
            return "ticket #7"

    data = json.loads(dual_log.JsonFormatter().format(_record(logger, "x", request=Ticket())))
    assert data["request"] == "ticket #7"
