"""The formatters' fast paths write, for a plain record, what their full paths write."""

from __future__ import annotations

import decimal
import json
import logging
from pathlib import Path
from typing import Any

import pytest

import dual_log


class FullJson(dual_log.JsonFormatter):
    """A subclass: always the full path (subclasses keep every extension point)."""


class FullText(dual_log.TextFormatter):
    """A subclass: always the full path."""


def _record(msg: object, args: object = None, **extra: object) -> logging.LogRecord:
    record = logging.getLogger("shop.cart").makeRecord(
        "shop.cart", logging.WARNING, "cart.py", 17, msg, args, None, extra=extra or None
    )
    record.created = 1764063041.8545
    return record


RECORDS = [
    pytest.param(lambda: _record("order %s paid", ("17",)), id="args"),
    pytest.param(lambda: _record("plain"), id="plain"),
    pytest.param(lambda: _record(42), id="not-a-string"),
    pytest.param(lambda: _record("%d items", ("many",)), id="bad-args"),
    pytest.param(lambda: _record("line\nforged\r\x00 and \x1b[31mred\x1b[0m"), id="control"),
    pytest.param(lambda: _record("caf\u00e9 \u2028 \ud83d"), id="unicode"),
    pytest.param(
        lambda: _record("x", order=17, rid="r-1", nested={"a": [1, 2]}, _private=1), id="extras"
    ),
    pytest.param(lambda: _record("x", service="override"), id="extra-over-static"),
    pytest.param(lambda: _record("x", color_message="\x1b[1mx"), id="color-message"),
    pytest.param(lambda: _record("x", when=object()), id="unencodable-extra"),
    pytest.param(
        lambda: _record("x", n=1, f=2.5, t=True, no=None, s="\u00e9\n", big=10**30), id="scalars"
    ),
    pytest.param(lambda: _record("x", nan=float("nan"), inf=float("inf")), id="not-finite"),
    pytest.param(lambda: _record("x", level="forged", pid=-1, time="then"), id="clashing-extras"),
    pytest.param(lambda: _record("x", **{"extra.level": "mine", "level": "forged"}), id="prefix"),
    pytest.param(lambda: _with_key(_record("hello"), 5, "9"), id="int-key"),
    pytest.param(lambda: _record({"event": "paid", "level": "x"}), id="dict-message"),
    pytest.param(
        lambda: _record("request %s done", ("r1",), user_id=4217, route="/cart"), id="web"
    ),
    pytest.param(
        lambda: _record("x", s='say "hi"\\ \t\x00\x1f\x7f', e="", sp="a b", eq="a=b"), id="escapes"
    ),
    pytest.param(
        lambda: _record(
            "x", **{"caf\u00e9": "\u00fcber \u4e2d\u6587 \U0001f600", "k\u2028": "\u2028"}
        ),
        id="non-ascii",
    ),
    pytest.param(
        lambda: _record("x", neg=-7, zero=0, f=-0.0, tiny=1e-300, huge=1e300, no=False),
        id="numbers",
    ),
    pytest.param(lambda: _record("x", n=10**5000), id="int-too-long-for-str"),
    pytest.param(
        lambda: _record("x", flag=_Bool(1), count=_Int(3), label=_Str("s")), id="subclasses"
    ),
    pytest.param(lambda: _record("x", logger="forged", time="then"), id="reserved-names"),
    pytest.param(lambda: _record("x", request="GET /", ok=1), id="tidied-name"),
    pytest.param(lambda: _record("x", ok=1, items=[1, 2], when=(1, 2)), id="container-later"),
    pytest.param(lambda: _record("x", ok=1, d=decimal.Decimal("1.5")), id="decimal-later"),
    pytest.param(lambda: _moved_key(_record("x", rid="r-1")), id="own-key-moved"),
]


class _Int(int):
    """An int subclass: its text may differ from int's, so the full way writes it."""

    def __repr__(self) -> str:
        return "Int!"


class _Str(str):
    """A str subclass."""


class _Bool(int):
    """Not a bool, though it looks like one."""


def _moved_key(record: logging.LogRecord) -> logging.LogRecord:
    # A filter that deletes one of the record's own attributes and sets it again: the dict
    # no longer starts with the record's own attributes, in their order.
    lineno = record.__dict__.pop("lineno")
    record.__dict__["lineno"] = lineno
    return record


def _with_key(record: logging.LogRecord, key: object, value: object) -> logging.LogRecord:
    record.__dict__[key] = value  # as Logger.makeRecord does with extra={5: "9"}
    return record


# Which of the records above the JSON shortcut writes (the rest go the full way): so the
# equality below is between two ways indeed.
SHORTCUT = {
    "args",
    "plain",
    "scalars",
    "bad-args",
    "control",
    "unicode",
    "extra-over-static",
    "web",
    "escapes",
    "non-ascii",
    "numbers",
    "own-key-moved",
}


@pytest.mark.parametrize("make", RECORDS)
@pytest.mark.parametrize("source_fields", [False, True])
def test_json_fast_path_matches_the_full_path(make: object, source_fields: bool) -> None:
    """Same keys, same order, same values: for every record shape above."""
    options = {"static_fields": {"service": "api"}, "source_fields": source_fields}
    fast, full = dual_log.JsonFormatter(**options), FullJson(**options)
    record = make()  # type: ignore[operator]
    before = dict(record.__dict__)
    assert fast.format(record) == full.format(record)
    assert record.__dict__ == before  # neither path changed the record


@pytest.mark.parametrize("make", RECORDS)
@pytest.mark.parametrize("bound", [{}, {"request_id": "r-9", "n": 3}, {"level": "bound"}])
def test_json_shortcut_matches_the_full_way_with_bound_fields(
    make: object, bound: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """With fields bound to the context (a clashing one too): the same line both ways, and
    the shortcut taken where it is meant to be."""
    fast, full = dual_log.JsonFormatter(platform_fields=False), FullJson(platform_fields=False)
    record = make()  # type: ignore[operator]
    with dual_log.context(**bound):
        line = fast.format(record)
        assert line == full.format(record)
        took_shortcut = fast._plain_line(record) is not None
    case = request.node.callspec.id.split("-", 1)[1]
    assert took_shortcut == (case in SHORTCUT and "level" not in bound)
    for key in bound:
        assert (f'"{key}": ' in line) or (f'"extra.{key}": ' in line)


@pytest.mark.parametrize("make", RECORDS)
def test_text_fast_path_matches_the_full_path(make: object) -> None:
    """The stdout line of the fast path is the full path's line, character for character."""
    record = make()  # type: ignore[operator]
    before = dict(record.__dict__)
    assert dual_log.TextFormatter().format(record) == FullText().format(record)
    assert record.__dict__ == before


def test_a_formatter_with_options_takes_the_full_path() -> None:
    """python-json-logger's options and a redactor keep their meaning: no fast path for them."""
    record = _record("token=abc123", color="x")
    assert "abc123" not in dual_log.JsonFormatter(redact=True).format(record)
    renamed = dual_log.JsonFormatter(rename_fields={"levelname": "severity"}).format(record)
    assert '"severity": "WARNING"' in renamed
    assert dual_log.JsonFormatter(json_indent=2).format(record).count("\n") > 3


SETTINGS = [
    pytest.param({}, id="defaults"),
    pytest.param({"json_ensure_ascii": False}, id="not-ascii"),
    pytest.param({"time_field": None}, id="no-time"),
    pytest.param({"time_field": "ts"}, id="time-renamed"),
    pytest.param({"static_fields": {"region": "ams", "n": [1, 2.5, None]}}, id="static"),
    pytest.param({"static_fields": {"level": "shadowed"}}, id="static-over-a-field"),
    pytest.param({"static_fields": {"when": object()}}, id="static-unencodable"),
    pytest.param({"json_encoder": None}, id="plain-encoder"),
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("make", RECORDS[:6])
def test_json_line_follows_settings_changed_after_init(
    make: object, settings: dict[str, Any]
) -> None:
    """python-json-logger's attributes are public: set later, both paths still agree."""
    fast, full = dual_log.JsonFormatter(platform_fields=False), FullJson(platform_fields=False)
    record = make()  # type: ignore[operator]
    fast.format(record)  # the shared parts of a line are worked out once, here
    for formatter in (fast, full):
        for name, value in settings.items():
            setattr(formatter, name, value)
    assert fast.format(record) == full.format(record)
    fast.static_fields["added"] = "later"  # changed in place, too
    full.static_fields = fast.static_fields
    assert fast.format(record) == full.format(record)


def test_the_second_sink_renders_what_a_filter_made_of_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message is rendered once for both sinks, unless a filter between them replaces it."""

    def mask(record: logging.LogRecord) -> bool:
        record.msg, record.args = "card %s", ("****",)
        return True

    log = logging.getLogger("fast.filter")
    log.propagate = False
    stdout = dual_log.StdoutHandler()
    file = dual_log.FileHandler(tmp_path / "app.log", queue=False)
    file.addFilter(mask)
    log.addHandler(stdout)
    log.addHandler(file)
    try:
        log.warning("card %s", "4111111111111111")
    finally:
        log.removeHandler(stdout)
        log.removeHandler(file)
        file.close()
    assert "card 4111111111111111" in capsys.readouterr().out
    assert json.loads((tmp_path / "app.log").read_text())["message"] == "card ****"
