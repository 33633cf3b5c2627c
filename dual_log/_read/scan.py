"""Turning lines into (time, line, record) entries, and the filters of ``dual-log cat``/``tail``.

Times are compared as the text dual_log writes: ``2024-05-01T12:00:00.123+00:00``, always
UTC and always the same width, so text order is time order and most lines need no JSON
parsing to be placed or filtered: a line that starts the way ``JsonFormatter`` starts every
record (``{"time": "...", "level": "...``) gives its time and level by position. A line
that does not is parsed with ``json.loads``; its time, if any, is brought to the same form.
Only lines that are kept are parsed in full (which also proves they are whole JSON).

A line that is not a JSON object (a text-format file, a line cut by a full disk) takes the
time of the last record before it in its file, so it stays where it was; the filters that
can be judged on text (``--grep``, ``--since``/``--until``) apply to it, the others cannot
and let it through.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dual_log._facts import LEVELS, TIME_LENGTH, level_number, utc_text_of
from dual_log._parsers import parse_level

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# The start of every line JsonFormatter writes: its time, then its level.
PREFIX = b'{"time": "'
TIME_END = len(PREFIX) + TIME_LENGTH
LEVEL_KEY = b'", "level": "'
LEVEL_START = TIME_END + len(LEVEL_KEY)
# Looked up by the bytes of a line, before anything is decoded.
_LEVEL_BYTES = {name.encode(): number for name, number in LEVELS.items()}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_SPAN_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}

Entry = tuple[bytes, bytes, "dict[str, Any] | None"]


def time_text(moment: datetime) -> bytes:
    """``moment`` in the form dual_log writes, as bytes (naive means UTC)."""
    return utc_text_of(moment).encode()


def parse_time(value: object) -> bytes | None:
    """A record's ``time`` value (ISO text or epoch seconds) in dual_log's form, or None."""
    if isinstance(value, str):
        if len(value) == TIME_LENGTH and value.endswith("+00:00") and value[10] == "T":
            return value.encode()
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return time_text(datetime.fromisoformat(text))
        except ValueError:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return time_text(datetime.fromtimestamp(value, timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    return None


def parse_moment(value: str, option: str, now: float | None = None) -> bytes:
    """``--since``/``--until``: an ISO time (naive means UTC) or a span back from now.

    Raises:
        ValueError: naming the option and what is allowed.
    """
    span = _SPAN.match(value)
    if span:
        seconds = float(span.group(1)) * _SPAN_SECONDS[span.group(2).lower()]
        moment = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
        return time_text(moment - timedelta(seconds=seconds))
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(
            f"{option} {value!r}: give an ISO time such as 2024-05-01T12:00 or "
            "2024-05-01T12:00:00+02:00 (no zone means UTC), or a span back from now "
            "such as 90s, 15m, 2h, 3d, 1w"
        )
    return parsed


# json.loads without its per-call checks (bytes encoding detection, keyword handling).
_decode = json.JSONDecoder().decode


def loads(line: bytes) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None if the line is not one."""
    try:
        value = _decode(line.decode())
    except ValueError:  # also UnicodeDecodeError: dual_log writes UTF-8 only
        return None
    return value if isinstance(value, dict) else None


@dataclasses.dataclass
class Filters:
    """What ``cat``/``tail`` keep; every field empty keeps everything.

    Attributes:
        since: keep records at or after this time (dual_log's time text).
        until: keep records at or before this time.
        level: keep this level and above (records of a level not known pass).
        loggers: keep these loggers and their children.
        grep: keep records whose message matches (any line's text, for a non-JSON line).
        fields: keep records whose field ``key`` has the text ``value``, for each pair.
    """

    since: bytes | None = None
    until: bytes | None = None
    level: int = 0
    loggers: tuple[str, ...] = ()
    grep: re.Pattern[str] | None = None
    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(
        cls,
        *,
        since: str | None = None,
        until: str | None = None,
        level: str | None = None,
        loggers: Iterable[str] = (),
        grep: str | None = None,
        fields: Iterable[str] = (),
    ) -> Filters:
        """Parse the command line's filter options.

        Raises:
            ValueError: a bad value, naming the option and what is allowed.
        """
        pairs = []
        for field in fields:
            key, sep, value = field.partition("=")
            if not sep or not key:
                raise ValueError(f"--field {field!r}: give key=value, e.g. fly_machine=148e21")
            pairs.append((key, value))
        pattern = None
        if grep is not None:
            try:
                pattern = re.compile(grep)
            except re.error:  # not a regular expression: the text itself
                pattern = re.compile(re.escape(grep))
        return cls(
            since=parse_moment(since, "--since") if since else None,
            until=parse_moment(until, "--until") if until else None,
            level=parse_level(level, "--level") if level else 0,
            loggers=tuple(loggers),
            grep=pattern,
            fields=tuple(pairs),
        )

    def keeps_record(self, record: dict[str, Any]) -> bool:
        """The filters that need the parsed record: logger, grep and fields."""
        if self.loggers:
            name = record.get("logger")
            if not isinstance(name, str) or not any(
                name == want or name.startswith(want + ".") for want in self.loggers
            ):
                return False
        if self.grep is not None and not self.grep.search(_text(record.get("message"))):
            return False
        for key, value in self.fields:
            if key not in record or _text(record[key]) != value:
                return False
        return True

    def keeps_text(self, line: bytes) -> bool:
        """The filters a line that is not JSON can be judged by (time is checked apart)."""
        if self.grep is None:
            return True
        return self.grep.search(line.decode("utf-8", "backslashreplace")) is not None


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


@dataclasses.dataclass
class Counts:
    """What a read met, for the summary on stderr."""

    not_json: int = 0


class Scanner:
    """Entries of one stream: the kept lines with their time and parsed record.

    ``last`` is the time of the last record seen, carried onto lines without one.
    """

    def __init__(self, filters: Filters, counts: Counts) -> None:
        self.filters = filters
        self.counts = counts
        self.last = b""

    def scan(self, lines: Iterable[bytes]) -> Iterator[Entry]:
        """Yield ``(time, line, record)`` for each kept line; record is None for non-JSON."""
        filters = self.filters
        since, until, minimum = filters.since, filters.until, filters.level
        judged = bool(filters.loggers or filters.grep or filters.fields)
        last = self.last
        for line in lines:
            if not line or line.isspace():
                continue
            record = None
            if (
                line[:10] == PREFIX
                and line[TIME_END:LEVEL_START] == LEVEL_KEY
                and line[-1:] == b"}"
            ):
                moment = line[10:TIME_END]
                level = _LEVEL_BYTES.get(line[LEVEL_START : line.find(b'"', LEVEL_START)], -1)
            else:
                record = loads(line)
                if record is None:
                    self.last = last
                    self.counts.not_json += 1
                    if (since and last < since) or (until and last and last > until):
                        continue
                    if filters.keeps_text(line):
                        yield last, line, None
                    continue
                moment = parse_time(record.get("time")) or last
                found = level_number(record.get("level"))
                level = -1 if found is None else found
            last = moment
            if (since and moment < since) or (until and moment > until):
                continue
            if minimum and 0 <= level < minimum:
                continue
            if record is None:
                record = loads(line)
                if record is None:  # looked like a record, but is cut short
                    self.counts.not_json += 1
                    self.last = last
                    if filters.keeps_text(line):
                        yield moment, line, None
                    continue
                if level < 0:
                    found = level_number(record.get("level"))
                    if minimum and found is not None and found < minimum:
                        continue
            if judged and not filters.keeps_record(record):
                continue
            self.last = last
            yield moment, line, record
        self.last = last
