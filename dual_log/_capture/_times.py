"""Times in the one shape dual_log writes: ``2026-11-24T09:30:41.854+00:00``.

UTC, milliseconds, always the same width: the shape ``dual_log.setup()`` writes (rendered
by ``dual_log._facts``), so that a captured file and an app's own file sort and merge
together as text. Finer fractions of a timestamp given as text are cut, not rounded, so a
line never sorts before the moment it was written.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from dual_log._facts import utc_text, utc_text_of

# RFC 3339 and its common relatives: "T" or a space, any fraction, "Z", an offset or none.
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s?(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
# Already in dual_log's shape.
_DUAL_LOG = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00").fullmatch
# UTC with "Z" and at least milliseconds (the platform's, structlog's, pino's ISO times):
# the first 23 characters are dual_log's shape but for the zone.
_ZULU = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\d*Z").fullmatch
# Epoch numbers from this size on are milliseconds (pino), below it seconds: 1e11 s is
# about the year 5138, 1e11 ms the year 1973.
_MILLISECONDS = 1e11


def normal_time(text: str) -> str | None:
    """An RFC 3339 timestamp in dual_log's shape, or None if it is not one.

    No zone is taken as UTC (the platform runs machines in UTC).
    """
    if len(text) == 29 and _DUAL_LOG(text):
        return text
    if _ZULU(text):
        return f"{text[:23]}+00:00"
    match = _TIMESTAMP.match(text.strip())
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    millis = (fraction or "").ljust(3, "0")[:3]
    if zone is None or zone.upper() == "Z" or zone in ("+00:00", "+0000", "-00:00", "-0000"):
        return f"{day}T{clock}.{millis}+00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}.{millis}{zone[:3]}:{zone[-2:]}")
    except ValueError:
        return None
    return utc_text_of(moment)


def epoch_time(number: float) -> str | None:
    """Seconds or milliseconds since the epoch in dual_log's shape, or None if out of range."""
    seconds = number / 1000 if number >= _MILLISECONDS else number
    try:
        datetime.fromtimestamp(seconds, tz=timezone.utc)  # in the range dates can hold
    except (OverflowError, OSError, ValueError):
        return None
    return utc_text(seconds)
