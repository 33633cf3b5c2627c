"""Turning lists of lines into (time, line, record) entries, and the filters of ``cat``/``tail``.

Times are compared as the text dual_log writes: ``2024-05-01T12:00:00.123+00:00``, always
UTC and always the same width, so text order is time order and most lines need no JSON
parsing to be placed or filtered: a line that starts the way ``JsonFormatter`` starts every
record (``{"time": "...", "level": "...``) gives its time and level by position.

A list of lines (see ``discover``) whose every line starts that way is taken in one piece:
one pass over its lines compares the two slices that prove the shape (and, for ``--level``,
the first byte of the level's name), and only the lines kept are looked at further, so
most lines cost a few slices and no Python function call. Any other list is read line by
line: the capture's compact lines (``{"time":"...``) by position too, other JSON with
``json``, its time brought to the same form. Kept lines are parsed in full only when
something needs their fields (text output, ``--logger``, ``--grep``, ``--field``,
``--app``); for ``--json`` a line of the writer's shape that ends in ``}`` is passed on as
it is.

A record without a level, or with a level name that is not one of logging's (a raw line
the capture kept, a custom level name), is left out by ``--level`` and shown otherwise.
A line that is not a JSON object (a text-format file, a line cut by a full disk) takes the
time of the last record before it in its file, so it stays where it was; ``--grep`` and
``--since``/``--until`` judge it by its text and that time; the filters that need a
record's fields (``--level``, ``--logger``, ``--field``, ``--app``) leave it out, and the
summary on stderr counts it either way.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dual_log._facts import LEVELS, TIME_LENGTH, level_number, utc_text_of
from dual_log._parsers import parse_level

if TYPE_CHECKING:
    from collections.abc import Iterable

# The start of every line JsonFormatter writes: its time, then its level.
PREFIX = b'{"time": "'
TIME_END = len(PREFIX) + TIME_LENGTH
LEVEL_KEY = b'", "level": "'
LEVEL_START = TIME_END + len(LEVEL_KEY)
# The same start as the capture writes it (compact separators).
COMPACT = b'{"time":"'
COMPACT_TIME_END = len(COMPACT) + TIME_LENGTH
COMPACT_LEVEL_KEY = b'","level":"'
COMPACT_LEVEL_START = COMPACT_TIME_END + len(COMPACT_LEVEL_KEY)
# Looked up by the bytes of a line, before anything is decoded.
_LEVEL_BYTES = {name.encode(): number for name, number in LEVELS.items()}
# The writer's shape, read by position: the end of the time, and the level's key.
SHAPE = b'+00:00", "level": "'
SHAPE_START = LEVEL_START - len(SHAPE)
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_SPAN_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}

# What an entry carries besides its time and line: the parsed record; True for a whole
# record of the writer's shape that nothing needed parsed; None for a line that is not JSON.
Record = dict[str, Any] | bool | None
Entry = tuple[bytes, bytes, Record]


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


def earlier(moment: bytes, seconds: float) -> bytes:
    """The time text ``seconds`` before ``moment`` (empty stays empty)."""
    if not moment:
        return moment
    try:
        return time_text(datetime.fromisoformat(moment.decode()) - timedelta(seconds=seconds))
    except (ValueError, OverflowError):
        return b""


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
        level: keep this level and above; a record without a known level is left out.
        loggers: keep these loggers and their children.
        grep: keep records whose message matches (any line's text, for a non-JSON line).
        fields: keep records whose field ``key`` has the text ``value``, for each pair.
        apps: keep records whose ``fly_app`` matches one of these globs.
    """

    since: bytes | None = None
    until: bytes | None = None
    level: int = 0
    loggers: tuple[str, ...] = ()
    grep: re.Pattern[str] | None = None
    fields: tuple[tuple[str, str], ...] = ()
    apps: tuple[str, ...] = ()

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
        apps: Iterable[str] = (),
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
            apps=tuple(apps),
        )

    @property
    def judged(self) -> bool:
        """Whether a kept line must be parsed to be judged."""
        return bool(self.loggers or self.grep or self.fields or self.apps)

    def outside(self, moment: bytes) -> bool:
        """Whether ``moment`` is before ``since`` or after ``until``."""
        return bool((self.since and moment < self.since) or (self.until and moment > self.until))

    def keeps_record(self, record: dict[str, Any]) -> bool:
        """The filters that need the parsed record: logger, grep, fields and app."""
        if self.loggers:
            name = record.get("logger")
            if not isinstance(name, str) or not any(
                name == want or name.startswith(want + ".") for want in self.loggers
            ):
                return False
        if self.grep is not None and not self.grep.search(_text(message_of(record))):
            return False
        for key, value in self.fields:
            if key not in record or _text(record[key]) != value:
                return False
        if self.apps:
            app = record.get("fly_app")
            if not isinstance(app, str) or not any(
                fnmatch.fnmatchcase(app, want) for want in self.apps
            ):
                return False
        return True

    def keeps_text(self, line: bytes, *, placed: bool) -> bool:
        """Whether a line that is not a whole JSON record is kept (its time is checked
        apart). ``placed``: its time and level were read from its start, and judged."""
        if self.loggers or self.fields or self.apps or (self.level and not placed):
            return False
        if self.grep is None:
            return True
        return self.grep.search(line.decode("utf-8", "backslashreplace")) is not None


def message_of(record: dict[str, Any]) -> object:
    """A record's message: ``message``, or the ``raw`` text the capture keeps for a line
    that was not the platform's JSON."""
    return record["message"] if "message" in record else record.get("raw", "")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


@dataclasses.dataclass
class Counts:
    """What a read met, for the summaries on stderr.

    Attributes:
        read: lines read with something on them (records and other lines).
        kept: entries the filters kept.
        not_json: lines that are not whole JSON records.
        not_json_hidden: of those, the ones the filters left out.
    """

    read: int = 0
    kept: int = 0
    not_json: int = 0
    not_json_hidden: int = 0


def _left_out(minimum: int) -> frozenset[bytes]:
    """The shape's key and the first byte of a level name, for each first byte that only
    names of levels under ``minimum`` start with: such a line is left out by one look.
    (A name no level has is left out too, so a custom name that starts so loses nothing.)"""
    kept = {n.encode()[:1] for n, v in LEVELS.items() if v >= minimum} | {b"L"}  # Level N
    under = {n.encode()[:1] for n, v in LEVELS.items() if v < minimum}
    return frozenset(SHAPE + first for first in under - kept)


def _place(line: bytes) -> tuple[bytes | None, int | None, dict[str, Any] | None]:
    """A line's time (None: it has none), level (None: none known) and, when the line had to
    be parsed to find them, its record. A line that is not JSON gives (None, None, None)."""
    if line[:10] == PREFIX and line[TIME_END:LEVEL_START] == LEVEL_KEY:
        name = line[LEVEL_START : line.find(b'"', LEVEL_START)]
        return line[10:TIME_END], _level_of(name), None
    if line[:9] == COMPACT and line[COMPACT_TIME_END:COMPACT_LEVEL_START] == COMPACT_LEVEL_KEY:
        name = line[COMPACT_LEVEL_START : line.find(b'"', COMPACT_LEVEL_START)]
        return line[9:COMPACT_TIME_END], _level_of(name), None
    record = loads(line)
    if record is None:
        return None, None, None
    return parse_time(record.get("time")), level_number(record.get("level")), record


def _level_of(name: bytes) -> int | None:
    number = _LEVEL_BYTES.get(name)
    return number if number is not None else level_number(name.decode("utf-8", "replace"))


class Scanner:
    """Entries of one stream: the kept lines with their time and record.

    Args:
        filters: what to keep.
        counts: where to count what was read (shared by the streams of one command).
        parse: parse every kept line (text output needs its fields).

    ``last`` is the time of the last record read, carried onto lines without one; it is
    also how far the stream has come, for the merge.
    """

    def __init__(self, filters: Filters, counts: Counts, *, parse: bool = False) -> None:
        self.filters = filters
        self.counts = counts
        self.parse = parse or filters.judged
        self.last = b""
        self._left = _left_out(filters.level) if filters.level else None

    def scan(self, lines: list[bytes]) -> list[Entry]:
        """The entries kept from ``lines`` (without their line breaks), in order."""
        entries = self._writer_lines(lines) if lines else []
        if entries is None:
            entries = self._mixed(lines)
        self.counts.kept += len(entries)
        return entries

    def _writer_lines(self, lines: list[bytes]) -> list[Entry] | None:
        """Entries of ``lines`` if every one is of the writer's shape (else None: they are
        read one by one). Each check is a slice compared, per line, in one comprehension."""
        since, until = self.filters.since, self.filters.until
        left = self._left
        if left is None and not (self.parse or since or until):
            # Everything, and nothing to parse: the shape, and that each line is whole.
            entries: list[Entry] = [
                (line[10:TIME_END], line, True)
                for line in lines
                if line[SHAPE_START:LEVEL_START] == SHAPE
                and line[-1] == 125  # "}"
                and line[:10] == PREFIX
            ]
            if len(entries) != len(lines):
                return None
            self._read(lines)
            return entries
        if left is not None:
            # The lines not of the shape, or whose level's name starts otherwise than those
            # of the levels left out (those of the shape that do are left out at once).
            looked = [
                line
                for line in lines
                if line[SHAPE_START : LEVEL_START + 1] not in left or line[:10] != PREFIX
            ]
            if [
                line
                for line in looked
                if line[SHAPE_START:LEVEL_START] != SHAPE or line[:10] != PREFIX
            ]:
                return None
            found = self._at_level(looked)
        else:
            if [
                line
                for line in lines
                if line[SHAPE_START:LEVEL_START] != SHAPE or line[:10] != PREFIX
            ]:
                return None
            found = [(line[10:TIME_END], line) for line in lines]
        self._read(lines)
        if since or until:
            found = [
                pair
                for pair in found
                if (not since or pair[0] >= since) and (not until or pair[0] <= until)
            ]
        return self._finish(found)

    def _read(self, lines: list[bytes]) -> None:
        self.counts.read += len(lines)
        self.last = lines[-1][10:TIME_END]

    def _at_level(self, lines: list[bytes]) -> list[tuple[bytes, bytes]]:
        """(time, line) of those of ``lines`` (of the writer's shape) at the level asked
        for or above."""
        minimum = self.filters.level
        return [
            (line[10:TIME_END], line)
            for line in lines
            if (_level_of(line[LEVEL_START : line.find(b'"', LEVEL_START)]) or 0) >= minimum
        ]

    def _finish(self, found: list[tuple[bytes, bytes]]) -> list[Entry]:
        """Entries of lines placed and kept by time and level: parsed when needed, judged
        by the other filters; a line cut short is shown as it is (see ``keeps_text``)."""
        if not self.parse:
            whole: list[Entry] = [(t, line, True) for t, line in found if line[-1:] == b"}"]
            if len(whole) == len(found):
                return whole
        entries: list[Entry] = []
        for moment, line in found:
            record: Record = loads(line) if self.parse else line[-1:] == b"}" or None
            if record is None:
                self._not_json(entries, moment, line, placed=True)
            elif not isinstance(record, dict) or self.filters.keeps_record(record):
                entries.append((moment, line, record))
        return entries

    def _not_json(self, entries: list[Entry], moment: bytes, line: bytes, *, placed: bool) -> None:
        self.counts.not_json += 1
        if self.filters.outside(moment) or not self.filters.keeps_text(line, placed=placed):
            self.counts.not_json_hidden += 1
        else:
            entries.append((moment, line, None))

    def _mixed(self, lines: list[bytes]) -> list[Entry]:
        """Entries of lines of any shape, one by one."""
        filters = self.filters
        minimum = filters.level
        entries: list[Entry] = []
        for line in lines:
            if not line or line.isspace():
                continue
            self.counts.read += 1
            moment, level, record = _place(line)
            if moment is None:
                if record is None:  # not JSON
                    self._not_json(entries, self.last, line, placed=False)
                    continue
                moment = self.last
            self.last = moment
            if filters.outside(moment) or (minimum and (level is None or level < minimum)):
                continue
            if record is None and (self.parse or line[-1:] != b"}"):
                record = loads(line)
                if record is None:  # it looked like a record, but is cut short
                    self._not_json(entries, moment, line, placed=True)
                    continue
            if record is not None and filters.judged and not filters.keeps_record(record):
                continue
            entries.append((moment, line, True if record is None else record))
        return entries
