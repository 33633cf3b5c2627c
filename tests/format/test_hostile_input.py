"""Hostile input: every record is written safely to both sinks, or refused clearly at set-up.

Each test logs through ``dual_log.setup()`` in both write modes and reads back stdout (the
text sink) and the JSON file, asserting the exact output: nothing raises, no line can be
forged, and what could not be rendered is marked rather than lost.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import pytest
from helpers.logfiles import read_lines, read_records

import dual_log
from dual_log._options import OPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class Sinks:
    """Both sinks of one ``setup()``; ``run`` logs and returns what each one wrote."""

    def __init__(self, logger: logging.Logger, path: Path, queue: bool, capsys: Any) -> None:
        self.logger = logger
        self.path = path
        self.queue = queue
        self.capsys = capsys

    def run(self, log: Callable[[logging.Logger], None]) -> tuple[list[str], list[dict[str, Any]]]:
        """Log with ``log``; return the stdout lines and the JSON file's records."""
        setup = dual_log.setup(
            logger=self.logger,
            path=str(self.path),
            queue=self.queue,
            max_bytes=0,
            platform_fields=False,
            handle_signals=False,
        )
        for handler in list(self.logger.handlers):  # pytest's capture, attached here too
            if handler not in setup.handlers:
                self.logger.removeHandler(handler)
        self.capsys.readouterr()
        try:
            log(self.logger)
        finally:
            setup.close()
        self.stdout = self.capsys.readouterr().out
        self.file_lines = read_lines(self.path)
        records, torn = read_records(self.path)
        assert torn == []
        assert setup.file_missed == 0
        assert setup.stdout_missed == 0
        return self.stdout.splitlines(), records


@pytest.fixture(params=[True, False], ids=["queue", "sync"])
def sinks(
    request: pytest.FixtureRequest, logger: logging.Logger, log_path: Path, capsys: Any
) -> Sinks:
    """Both sinks, in each write mode."""
    # pytest's log capture on the root logger re-raises what it cannot format; the record
    # must meet dual_log's handlers only.
    logger.propagate = False
    return Sinks(logger, log_path, bool(request.param), capsys)


def message(line: str) -> str:
    """The message part of a default text line: '<UTC time> <LEVEL> <logger> <message>'."""
    return line.split(" ", 3)[3]


def with_fields(line: str) -> tuple[str, str]:
    """A text line's message and the ``key=value`` fields after it (the message is one
    word in the tests that use this)."""
    text, _, fields = message(line).partition(" ")
    return text, fields


def test_invalid_utf8_and_lone_surrogates(sinks: Sinks) -> None:
    """Undecodable bytes (surrogateescape) and lone surrogates are escaped, never an error."""
    undecodable = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    lines, records = sinks.run(
        lambda log: (
            log.warning("name=%s", undecodable),
            log.warning("half \ud800 pair"),
            log.warning("raw %s", b"\xff\xfe"),
        )
    )
    assert [message(line) for line in lines] == [
        "name=caf\\udce9 \\udcff",
        "half \\ud800 pair",
        "raw b'\\xff\\xfe'",
    ]
    assert [r["message"] for r in records] == [
        "name=" + undecodable,
        "half \ud800 pair",
        "raw b'\\xff\\xfe'",
    ]
    assert all(line.isascii() for line in sinks.file_lines)


def test_nul_and_control_characters(sinks: Sinks) -> None:
    """NUL, DEL, C1 and the Unicode line separators are escaped on stdout, kept in JSON;
    an ANSI colour sequence is removed from both."""
    text = "a\x00b\x1b[31mc\x7fd\x85e\u2028f\tg"
    lines, records = sinks.run(lambda log: log.info(text))
    assert [message(line) for line in lines] == ["a\\x00bc\\x7fd\\x85e\\u2028f\\tg"]
    assert [r["message"] for r in records] == [text.replace("\x1b[31m", "")]
    assert len(sinks.file_lines) == 1


def test_ten_megabyte_message(sinks: Sinks) -> None:
    """A 10 MB message is written whole: one stdout line, one JSON line."""
    big = "x" * (10 * 1024 * 1024)
    lines, records = sinks.run(lambda log: (log.info(big), log.info("after")))
    assert [len(message(line)) for line in lines] == [len(big), len("after")]
    assert [r["message"] for r in records] == [big, "after"]
    assert len(sinks.file_lines) == 2


def test_crlf_injection_in_message_and_arguments(sinks: Sinks) -> None:
    """CR/LF in the message or its arguments cannot forge a line in either sink."""
    forged = "bob\n2026-01-01 00:00:00,000 INFO auth admin logged in\r\nX"
    lines, records = sinks.run(
        lambda log: (
            log.info("login %s", forged),
            log.info("two\nlines\rhere"),
            log.info("dict %(user)s", {"user": forged}),
        )
    )
    assert [message(line) for line in lines] == [
        "login bob\\n2026-01-01 00:00:00,000 INFO auth admin logged in\\r\\nX",
        "two\\nlines\\rhere",
        "dict bob\\n2026-01-01 00:00:00,000 INFO auth admin logged in\\r\\nX",
    ]
    assert len(lines) == 3  # one stdout line per record
    assert len(sinks.file_lines) == len(records) == 3  # one JSON line per record
    assert [r["message"] for r in records] == [
        "login " + forged,
        "two\nlines\rhere",
        "dict " + forged,
    ]


def test_line_breaks_in_a_logger_name_cannot_forge_a_line(sinks: Sinks) -> None:
    """A logger named from input (a tenant, a queue) with CR/LF in it: one stdout line per
    record, the break escaped; the file keeps the name as it is."""
    forged = "tenant\n2026-01-01T00:00:00.000+00:00 INFO auth admin logged in\rX"
    lines, records = sinks.run(lambda log: log.getChild(forged).warning("hi"))
    assert len(lines) == 1
    assert "tenant\\n2026-01-01T00:00:00.000+00:00 INFO auth admin logged in\\rX hi" in lines[0]
    assert [r["logger"] for r in records] == [f"{sinks.logger.name}.{forged}"]


def test_line_breaks_in_fields_of_a_custom_text_format_are_escaped() -> None:
    """The full way (a format of the user's) escapes the logger's, level's and thread's
    names as the message, and leaves the record as it was."""
    formatter = dual_log.TextFormatter("%(levelname)s|%(name)s|%(threadName)s|%(message)s")
    record = logging.LogRecord("a\nb", logging.INFO, __file__, 1, "m\nn", None, None)
    record.threadName = "t\r1"
    before = dict(record.__dict__)
    assert formatter.format(record) == "INFO|a\\nb|t\\r1|m\\nn"
    assert record.__dict__ == before


def test_percent_formats_with_wrong_arguments(sinks: Sinks) -> None:
    """A message whose % arguments do not fit is written raw with its arguments, marked."""
    lines, records = sinks.run(
        lambda log: (
            log.info("%d items", "many"),
            log.info("%s and %s", "one"),
            log.info("at 100%", "extra"),
            log.info("%(user)s", 42),
        )
    )
    expected = [
        "'%d items' % ('many') [dual_log: message not formatted: TypeError]",
        "'%s and %s' % ('one') [dual_log: message not formatted: TypeError]",
        "'at 100%' % ('extra') [dual_log: message not formatted: ValueError]",
        "'%(user)s' % (42) [dual_log: message not formatted: TypeError]",
    ]
    assert [message(line) for line in lines] == expected
    assert [r["message"] for r in records] == expected


class BadStr:
    """An argument whose __str__ raises."""

    def __str__(self) -> str:
        raise ValueError("no str for you")

    def __repr__(self) -> str:
        return "BadStr()"


class Loop:
    """An argument whose __repr__ (and __str__) recurse without end."""

    def __repr__(self) -> str:
        return repr(self)

    __str__ = __repr__


def test_argument_whose_str_raises(sinks: Sinks) -> None:
    """An argument whose __str__ raises: the record is written, with its repr, marked."""
    lines, records = sinks.run(lambda log: log.info("user %s", BadStr()))
    expected = "'user %s' % (BadStr()) [dual_log: message not formatted: ValueError]"
    assert [message(line) for line in lines] == [expected]
    assert [r["message"] for r in records] == [expected]


def test_argument_whose_repr_recurses(sinks: Sinks) -> None:
    """An argument whose __repr__ recurses: contained, the record written and marked."""
    lines, records = sinks.run(lambda log: (log.info("%r", Loop()), log.info("after")))
    expected = (
        "'%r' % (<unrepresentable Loop: RecursionError>) "
        "[dual_log: message not formatted: RecursionError]"
    )
    assert [message(line) for line in lines] == [expected, "after"]
    assert [r["message"] for r in records] == [expected, "after"]


def test_unserializable_and_huge_extra_values(sinks: Sinks) -> None:
    """extra values JSON cannot encode are written as text (bytes as base64); 5 MB whole."""
    blob = "y" * (5 * 1024 * 1024)

    class Opaque:
        __slots__ = ()

        def __str__(self) -> str:
            return "opaque!"

    lines, records = sinks.run(
        lambda log: log.info(
            "extras",
            extra={"opaque": Opaque(), "raw": b"\x00\xff", "blob": blob, "nums": {1, 2}},
        )
    )
    ((text, fields),) = [with_fields(line) for line in lines]
    assert text == "extras"
    assert fields.startswith("opaque=opaque! raw=\"b'\\\\x00\\\\xff'\" blob=yyy")
    assert fields.endswith(' nums="{1, 2}"')
    assert len(fields) > len(blob)
    (record,) = records
    assert record["opaque"] == "opaque!"
    assert record["raw"] == "AP8="  # python-json-logger writes bytes as base64
    assert record["blob"] == blob
    assert record["nums"] == "{1, 2}"
    assert len(sinks.file_lines) == 1


def test_circular_extra(sinks: Sinks) -> None:
    """A circular extra value falls back to its repr, marked, on one line."""
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    lines, records = sinks.run(lambda log: log.info("circular", extra={"loop": loop}))
    assert [with_fields(line) for line in lines] == [
        ("circular", "loop=\"{'name': 'loop', 'self': {...}}\"")
    ]
    (record,) = records
    assert record["message"] == "circular"
    assert record["loop"] == "{'name': 'loop', 'self': {...}}"
    assert record["dual_log_error"] == "record not fully encodable: ValueError"
    assert len(sinks.file_lines) == 1


def test_extras_named_like_the_records_own_fields(sinks: Sinks) -> None:
    """``extra`` keys that clash with the record's own fields are kept under ``extra.``:
    an ERROR stays an ERROR whatever the caller passes."""
    forged = {"level": "forged", "time": "then", "logger": "other", "pid": -1}
    lines, records = sinks.run(
        lambda log: (
            log.error("real", extra=forged),
            log.error("real", extra={**forged, "user": "ann", "extra.level": "x"}),
            log.error({"level": "forged", "event": "payload"}),
        )
    )
    for record in records:
        assert record["level"] == "ERROR"
        assert record["logger"] == sinks.logger.name
        assert isinstance(record["pid"], int)
        assert record["pid"] > 0
        assert record["time"] != "then"
    assert {k: v for k, v in records[0].items() if k.startswith("extra.")} == {
        "extra.level": "forged", "extra.time": "then", "extra.logger": "other", "extra.pid": -1,
    }  # fmt: skip
    assert records[1]["user"] == "ann"
    # The caller's own "extra.level" stays; the clashing "level" takes the next free name.
    assert records[1]["extra.level"] == "x"
    assert records[1]["extra.extra.level"] == "forged"
    assert (records[2]["extra.level"], records[2]["event"]) == ("forged", "payload")
    # On stdout the level is the record's own too; the caller's fields follow it.
    assert [line.split(" ")[1] for line in lines] == ["ERROR"] * 3
    assert with_fields(lines[0])[1] == "level=forged time=then logger=other pid=-1"


class _Key:
    def __repr__(self) -> str:
        return "<key>"


def test_extras_whose_keys_are_not_text(sinks: Sinks) -> None:
    """Keys that are not text (an int, None, a tuple, an object) are written as text, as
    python-json-logger writes ``extra={5: "9"}``; every line stays one JSON object."""
    weird: dict[Any, Any] = {5: "9", None: "none", (1, 2): "pair", _Key(): "obj", 1.5: 2}
    lines, records = sinks.run(lambda log: (log.info("hello", extra=weird), log.info("after")))
    assert [r["message"] for r in records] == ["hello", "after"]
    first = records[0]
    assert (first["5"], first["None"], first["(1, 2)"], first["<key>"], first["1.5"]) == (
        "9", "none", "pair", "obj", 2,
    )  # fmt: skip
    assert "dual_log_error" not in first
    assert len(lines) == 2


def test_exc_info_chained_and_cyclic(sinks: Sinks) -> None:
    """Chained and cyclic exceptions: the whole chain in one JSON line, the app unharmed."""

    def chained() -> BaseException:
        try:
            try:
                raise KeyError("inner")
            except KeyError as inner:
                raise RuntimeError("outer") from inner
        except RuntimeError as exc:
            return exc

    cyclic_a, cyclic_b = ValueError("cycle a"), TypeError("cycle b")
    cyclic_a.__context__, cyclic_b.__context__ = cyclic_b, cyclic_a

    lines, records = sinks.run(
        lambda log: (
            log.error("chained", exc_info=chained()),
            log.error("cyclic", exc_info=cyclic_a),
        )
    )
    assert len(records) == len(sinks.file_lines) == 2
    first, second = records
    assert first["message"] == "chained"
    assert "KeyError: 'inner'" in first["exc_info"]
    assert "The above exception was the direct cause" in first["exc_info"]
    assert first["exc_info"].endswith("RuntimeError: outer")
    assert second["message"] == "cyclic"
    assert "TypeError: cycle b" in second["exc_info"]
    assert second["exc_info"].endswith("ValueError: cycle a")
    texts = [message(line) for line in lines if re.match(r"\d{4}-\d\d-\d\dT", line)]
    assert texts == ["chained", "cyclic"]
    assert "RuntimeError: outer" in lines
    assert "ValueError: cycle a" in lines


# Bad option values ---------------------------------------------------------------------------

# One bad value per option, good for a keyword and for its environment variable. Amend it when
# an option is added: test_every_option_has_a_bad_value_here fails until then.
BAD_VALUES = {
    "path": "/logs/",
    "level": "LOUD",
    "stdout_level": "chatty",
    "file_level": "-5",
    "stdout_format": "xml",
    "file_format": "yaml",
    "max_bytes": "ten megabytes",
    "keep": "-1",
    "when": "fortnightly",
    "compress": "maybe",
    "max_age_days": "old",
    "queue": "sometimes",
    "queue_size": "0",
    "queue_timeout": "-1",
    "flush_interval": "soon",
    "flush_bytes": "a few",
    "min_free": "150%",
    "create_dirs": "perhaps",
    "file_mode": "0999",
    "dir_mode": "rwx",
    "stdout": "loud",
    "static_fields": "no-equals-sign",
    "platform_fields": "fly",
    "source_fields": "lines",
    "text_extras": "sometimes",
    "request_id_headers": "X Request-Id",
    "redact": "passwords",
    "redact_keys": "pin code",
    "redact_patterns": "(unclosed",
    "handle_signals": "catch",
}


def test_every_option_has_a_bad_value_here() -> None:
    """The bad-value tests below cover every option dual_log has."""
    assert sorted(BAD_VALUES) == sorted(o.name for o in OPTIONS)


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_option_value_by_keyword(name: str, log_path: Path) -> None:
    """A bad keyword value is a ValueError naming the option, the value and what is allowed."""
    root = logging.getLogger()
    before = list(root.handlers)
    options = {"path": str(log_path), name: BAD_VALUES[name]}
    with pytest.raises(ValueError, match=r"^dual_log: invalid ") as raised:
        dual_log.setup(**options)
    text = str(raised.value)
    assert f"invalid {name}={BAD_VALUES[name]!r}; allowed: " in text
    assert len(text.split("allowed: ", 1)[1]) > 3
    assert root.handlers == before  # nothing attached


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_bad_option_value_from_environment(
    name: str, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad DUAL_LOG_* value is a ValueError naming the option and its variable."""
    (option,) = [o for o in OPTIONS if o.name == name]
    assert option.env == f"DUAL_LOG_{name.upper()}"
    if name != "path":
        monkeypatch.setenv("DUAL_LOG_PATH", str(log_path))
    monkeypatch.setenv(option.env, BAD_VALUES[name])
    root = logging.getLogger()
    before = list(root.handlers)
    with pytest.raises(ValueError, match=r"^dual_log: invalid ") as raised:
        dual_log.setup()
    text = str(raised.value)
    assert f"invalid {name} (from {option.env})={BAD_VALUES[name]!r}; allowed: " in text
    assert root.handlers == before


@pytest.mark.parametrize(
    ("name", "value"),
    [("level", True), ("keep", 2.5), ("max_bytes", -1), ("queue_timeout", float("nan")),
     ("file_mode", 0o1777), ("static_fields", {1: "x"}), ("path", "")],
)  # fmt: skip
def test_bad_option_types_by_keyword(name: str, value: object, log_path: Path) -> None:
    """Values of the wrong type or range are refused the same way, naming the option."""
    options = {"path": str(log_path), name: value}
    with pytest.raises(ValueError, match=rf"^dual_log: invalid {name}=.*; allowed: "):
        dual_log.setup(**options)


def test_unknown_option_is_a_type_error(log_path: Path) -> None:
    """A misspelt option is refused with the list of known ones."""
    with pytest.raises(TypeError, match=r"unknown option\(s\) max_byte; known options: path, "):
        dual_log.setup(path=str(log_path), max_byte="1MB")
