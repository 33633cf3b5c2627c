"""How ``dual-log cat``/``tail`` print entries: readable text, or the raw JSON lines.

Text: ``time where LEVEL logger message key=value...``, the time in UTC; ``where`` is
``app/region/machine`` from ``fly_app``, ``fly_region`` and ``fly_machine``, as many of
them as the record has (else ``host``, else ``-``), so the lines of an organisation-wide
captured file say which app each comes from. A record without a level shows ``-`` there.
The message's further lines and the traceback are indented below. A line the capture kept
raw shows its ``raw`` text as the message. Control characters are shown escaped, so a
logged message can neither forge a line nor send escape sequences to the terminal.
Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org).

``--json`` writes each record's line exactly as it is in the file; a line that is not JSON
goes to stderr instead, so a pipe into ``jq`` never breaks on it.
"""

from __future__ import annotations

import json
import re
import sys
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any

from dual_log._read.scan import loads, message_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dual_log._read.scan import Entry

# Keys shown in their own column or below the line; every other key is shown as key=value.
SHOWN = frozenset(
    ("time", "level", "logger", "message", "raw", "pid", "exc_info", "stack_info", "fly_app",
     "fly_region", "fly_machine", "host")
)  # fmt: skip
WHERE = ("fly_app", "fly_region", "fly_machine")
INDENT = "    "
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_COLOURS = {
    "DEBUG": "\x1b[2m", "INFO": "", "WARNING": "\x1b[33m", "WARN": "\x1b[33m",
    "ERROR": "\x1b[31m", "CRITICAL": "\x1b[1;31m", "FATAL": "\x1b[1;31m",
}  # fmt: skip
_RESET = "\x1b[0m"
_LINE = itemgetter(1)
_RECORD = itemgetter(2)


def _escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def where(record: dict[str, Any]) -> str:
    """``app/region/machine`` as far as the record has them, else its host, else ``-``."""
    parts = [_value(record[key]) for key in WHERE if record.get(key)]
    if parts:
        return "/".join(parts)
    return _value(record.get("host") or "-")


class Printer:
    """Writes entries to a binary stream, as text or as JSON lines.

    Args:
        out: where records go (``sys.stdout.buffer``).
        as_json: write the raw JSON lines.
        colour: colour the level (text only).
    """

    def __init__(self, out: IO[bytes], *, as_json: bool, colour: bool) -> None:
        self.out = out
        self.as_json = as_json
        self.colour = colour

    def write_all(self, entries: Sequence[Entry]) -> None:
        """Write ``entries`` in order; with ``--json``, in one write when all are JSON."""
        if not entries:
            return
        if self.as_json and None not in map(_RECORD, entries):
            self.out.write(b"\n".join(map(_LINE, entries)) + b"\n")
            return
        for entry in entries:
            self.write(entry)

    def write(self, entry: Entry) -> None:
        """Write one entry."""
        _, line, record = entry
        if record is None:
            if self.as_json:
                self.out.flush()
                text = line.decode("utf-8", "backslashreplace")
                print(f"dual-log: not a JSON record: {_escape(text)}", file=sys.stderr)
            else:
                self.out.write(_escape(line.decode("utf-8", "backslashreplace")).encode() + b"\n")
            return
        if self.as_json:
            self.out.write(line + b"\n")
            return
        parsed = record if isinstance(record, dict) else loads(line)
        if parsed is None:  # cannot happen for what the scanner passes as whole
            parsed = {"message": line.decode("utf-8", "backslashreplace")}
        self.out.write(self.text(parsed).encode("utf-8", "backslashreplace") + b"\n")

    def text(self, record: dict[str, Any]) -> str:
        """One record as readable text (several lines if its message or traceback has them)."""
        moment = _value(record.get("time", "-"))
        if len(moment) == 29 and moment.endswith("+00:00"):
            moment = moment[:10] + " " + moment[11:23]
        level = _value(record.get("level", "-"))
        shown_level = f"{_escape(level):<8}"
        if self.colour and _COLOURS.get(level):
            shown_level = f"{_COLOURS[level]}{shown_level}{_RESET}"
        logger = _escape(_value(record.get("logger", "-")))
        extras = "".join(
            f" {key}={_value(value)}" for key, value in record.items() if key not in SHOWN
        )
        head, *more = _value(message_of(record)).split("\n")
        lines = [
            f"{_escape(moment)} {_escape(where(record))} {shown_level} {logger} "
            f"{_escape(head + extras)}"
        ]
        lines += [INDENT + _escape(line) for line in more]
        for key in ("exc_info", "stack_info"):
            if record.get(key):
                lines += [INDENT + _escape(line) for line in _value(record[key]).split("\n")]
        return "\n".join(lines)
