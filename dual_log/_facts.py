"""Facts the write side and the read side share: file names, the clock's text, level names.

The writer names the files and stamps the records; the reader finds the files by those
names and orders and filters the records by those stamps and levels. Each fact is written
here once, and both sides import it, so they cannot drift apart.

- Names: ``app.log`` is the live file; ``app.log.1`` (newest) to ``app.log.<keep>`` are
  its rotations, each maybe ``.gz``; ``.__app.lock`` beside it is the lock file all
  writers ``flock`` (concurrent-log-handler's name, so a process using it directly on the
  same file is kept out too); ``app.log.rotate.<tag>`` is a segment a rotation killed
  half-way left aside (concurrent-log-handler's rotations, and dual_log's before it owned
  its own). Numbers are ASCII digits only: ``str.isdigit`` also takes ``"²"``.
- The clock: UTC, ISO 8601, milliseconds, ``+00:00``, always 29 characters, so that text
  order is time order.
- Levels: the standard names, with logging's aliases ``WARN`` and ``FATAL``.
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, timezone

# Names -----------------------------------------------------------------------------------

GZ = ".gz"
SEGMENT_MARK = ".rotate."
# A segment whose inode has not changed for this long belongs to no rotation going on.
STRANDED_AFTER = 60.0
ROTATED = re.compile(r"^(?P<base>.+?)\.(?P<n>[0-9]+)(?P<gz>\.gz)?$")
# concurrent-log-handler's timed rotation suffixes (%Y-%m-%d, optionally _%H, -%M, -%S).
TIMED = re.compile(
    r"^(?P<base>.+?)\.(?P<stamp>[0-9]{4}-[0-9]{2}-[0-9]{2}(?:_[0-9]{2}(?:-[0-9]{2}){0,2})?)"
    r"(?P<gz>\.gz)?$"
)
SEGMENT = re.compile(r"^(?P<base>.+?)\.rotate\.(?P<tag>.+?)(?P<gz>\.gz)?$")


def lock_path(path: str) -> str:
    """The lock file of the log file ``path``: ``.__app.lock`` for ``app.log``."""
    folder, name = os.path.split(path)
    stem = name[:-4] if name.endswith(".log") else name
    return os.path.join(folder, f".__{stem}.lock")


def rotated_path(path: str, number: int, gz: bool = False) -> str:
    """The ``number``-th rotation of ``path``: ``app.log.1``, ``app.log.2.gz``."""
    return f"{path}.{number}{GZ if gz else ''}"


def rotation_number(name: str, log_name: str) -> int | None:
    """The number of ``name`` if it is a rotation of the log named ``log_name``, else None."""
    if not name.startswith(log_name + "."):
        return None
    rest = name[len(log_name) + 1 :].removesuffix(GZ)
    return int(rest) if rest.isascii() and rest.isdigit() else None


def is_segment_of(name: str, log_name: str) -> bool:
    """Whether ``name`` is a segment a killed rotation of ``log_name`` left aside."""
    return name.startswith(log_name + SEGMENT_MARK)


# The clock ---------------------------------------------------------------------------------

# The last second rendered, and its text up to the fraction: records come in bursts within
# one second, and rendering a datetime costs more than the rest of a field.
_second: tuple[int, str] = (-1, "")
# The last time rendered: both sinks render the same record's time.
_last: tuple[float, str] = (math.nan, "")
# ".000+00:00" to ".999+00:00": the end of the text, looked up rather than formatted.
_MILLIS = tuple(f".{ms:03d}+00:00" for ms in range(1000))
TIME_LENGTH = len("2024-05-01T12:00:00.123+00:00")


def utc_text(seconds: float) -> str:
    """``seconds`` since the epoch as ``2024-05-01T12:00:00.123+00:00``.

    Exactly ``datetime.fromtimestamp(seconds, utc).isoformat(timespec="milliseconds")``:
    rounded as ``fromtimestamp`` rounds (to the microsecond, half to even), then cut to the
    millisecond.
    """
    global _second, _last
    last = _last  # one read: another thread may replace it meanwhile
    if last[0] == seconds:
        return last[1]
    # The fraction is math.modf's, exactly: taking the whole part off a float is exact.
    second = int(seconds)
    micro = round((seconds - second) * 1e6)
    if micro >= 1_000_000:
        micro -= 1_000_000
        second += 1
    elif micro < 0:  # before 1970
        micro += 1_000_000
        second -= 1
    cached = _second  # one read: another thread may replace it meanwhile
    if cached[0] != second:
        text = datetime.fromtimestamp(second, tz=timezone.utc).isoformat(timespec="seconds")
        cached = _second = (second, text[:-6])  # without "+00:00"
    text = cached[1] + _MILLIS[micro // 1000]
    _last = (seconds, text)
    return text


def utc_text_of(moment: datetime) -> str:
    """``moment`` as ``utc_text`` writes it (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


# Levels ------------------------------------------------------------------------------------

LEVELS = {
    "NOTSET": 0, "DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30,
    "ERROR": 40, "CRITICAL": 50, "FATAL": 50,
}  # fmt: skip
LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def level_number(name: object) -> int | None:
    """The number of a level given as a name in any case, ``"Level 25"``, or a number."""
    if isinstance(name, str):
        number = LEVELS.get(name.strip().upper())
        if number is not None:
            return number
        if name.startswith("Level ") and name[6:].isascii() and name[6:].isdigit():
            return int(name[6:])  # logging's name for a level it has no name for
        return None
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    return None


def level_name(number: int) -> str:
    """The name ``logging`` gives ``number``: ``"INFO"``, or ``"Level 25"``."""
    for name, value in LEVELS.items():
        if value == number and name not in ("WARN", "FATAL"):
            return name
    return f"Level {number}"
