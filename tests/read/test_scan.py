"""The scanner of ``dual-log cat``/``tail``: a list of lines of the writer's shape is judged in
one piece, any other line by line, and both ways keep exactly the same records."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from dual_log import JsonFormatter
from dual_log._capture._lines import to_line
from dual_log._read.scan import Counts, Entry, Filters, Scanner


def _line(level: int, name: str, message: str, second: int, **extra: Any) -> bytes:
    record = logging.LogRecord(name, level, __file__, 1, message, None, None)
    record.created = 1_780_000_000 + second + 0.125
    record.__dict__.update(extra)
    if "levelname" in extra:
        record.levelname = extra["levelname"]
    return JsonFormatter().format(record).encode()


# Lines as JsonFormatter writes them: every level, a level logging has no name for, a custom
# level name, extras, a line cut short and times a little out of order.
WRITER = [
    _line(logging.DEBUG, "shop", "debug detail", 0),
    _line(logging.INFO, "shop.cart", "order 17 placed", 2, rid="r-17", fly_app="shop-web"),
    _line(25, "shop", "between info and warning", 1),
    _line(logging.WARNING, "shopping", "cart almost full", 3, fly_app="billing"),
    _line(logging.ERROR, "shop.cart", "order 18 failed", 4, fly_app="shop-worker"),
    _line(logging.INFO, "shop", "a custom level name", 5, levelname="NOTICE"),
    _line(logging.CRITICAL, "shopping", "shopping down", 6),
    _line(logging.ERROR, "shop", "cut short", 7)[:-9],
]

FILTERS = [
    Filters(),
    Filters(level=logging.WARNING),
    Filters(level=25),
    Filters(level=logging.DEBUG),
    Filters(since=b"2026-05-28T20:26:43.125+00:00", until=b"2026-05-28T20:26:45.125+00:00"),
    Filters.build(loggers=["shop"]),
    Filters.build(apps=["shop-*"], level="INFO"),
    Filters.build(grep="order"),
]


def _scan(lines: list[bytes], filters: Filters, *, parse: bool) -> tuple[list[Entry], Counts]:
    counts = Counts()
    return Scanner(filters, counts, parse=parse).scan(lines), counts


def test_the_lines_are_of_the_writers_shape() -> None:
    """Every whole line here is taken in one piece; one other line makes the list be read
    line by line."""
    scanner = Scanner(Filters(level=logging.WARNING), Counts())
    assert scanner._writer_lines(WRITER) is not None
    assert scanner._writer_lines([*WRITER, b"plain text"]) is None


@pytest.mark.parametrize("parse", [False, True], ids=["json", "text"])
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f)[:60])
def test_in_one_piece_and_line_by_line_keep_the_same(filters: Filters, parse: bool) -> None:
    """The same entries, records and counts whichever way a list is read."""
    whole, counts = _scan(WRITER, filters, parse=parse)
    mixed, mixed_counts = _scan([b"plain text", *WRITER], filters, parse=parse)
    assert [e for e in mixed if e[1] != b"plain text"] == whole
    assert mixed_counts.read == counts.read + 1
    assert mixed_counts.not_json == counts.not_json + 1


def test_level_rules() -> None:
    """--level keeps a level logging has no name for by its number, leaves out a custom level
    name and a record without a level; the line cut short is judged by its start."""
    kept, counts = _scan(WRITER, Filters(level=25), parse=False)
    messages = [line.split(b'"message": "')[1][:14] for _, line, _ in kept]
    assert messages == [
        b"between info a", b"cart almost fu", b"order 18 faile", b"shopping down\"",
        b'cut short", "p',
    ]  # fmt: skip
    assert kept[-1][2] is None  # the line cut short, shown as it is
    assert counts.not_json == 1
    assert all(b"NOTICE" not in line for _, line, _ in kept)
    no_level = to_line({"time": "2026-05-28T20:26:40.125+00:00", "raw": "panic"}).rstrip()
    assert _scan([no_level], Filters(level=logging.DEBUG), parse=True)[0] == []
    assert len(_scan([no_level], Filters(), parse=True)[0]) == 1


def test_records_without_a_time_and_other_lines_stay_where_they_were() -> None:
    """A line without a time takes the time of the record before it."""
    lines = [WRITER[1], b"Traceback (most recent call last):", b'{"message": "no time"}']
    entries, _ = _scan(lines, Filters(), parse=True)
    assert [moment for moment, _, _ in entries] == [WRITER[1][10:39]] * 3
    assert entries[1][2] is None
    assert entries[2][2] == {"message": "no time"}
