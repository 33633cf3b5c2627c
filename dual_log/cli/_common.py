"""What several ``dual-log`` commands share: the record filters, the output options, the
printer on stdout, the reports on stderr at the end of a read, and the log file ``setup()``
would write when no path is given."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import TYPE_CHECKING

from dual_log._report import usage_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._read.merge import Window
    from dual_log._read.scan import Counts, Filters
    from dual_log._read.show import Printer

# The options that filter, as the summary names them when nothing matched.
FILTER_OPTIONS = (
    ("since", "--since"), ("until", "--until"), ("level", "--level"), ("logger", "--logger"),
    ("grep", "--grep"), ("field", "--field"), ("app", "--app"),
)  # fmt: skip


def seconds(text: str) -> float:
    """An argparse type: a number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def whole_number(what: str, *, minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``what`` (``"records"``) of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what} >= {minimum}")
        return value

    return parse


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The filters and output options of ``cat`` and ``tail``."""
    _add_filter_options(parser.add_argument_group("filters"))
    _add_output_options(parser.add_argument_group("output"))


def _add_filter_options(group: argparse._ArgumentGroup) -> None:
    """The options that choose records: times, level, loggers, text, fields, apps."""
    group.add_argument(
        "--since",
        metavar="WHEN",
        help="records at or after WHEN: an ISO time (no zone means UTC) "
        "or a span back from now: 90s, 15m, 2h, 3d, 1w",
    )
    group.add_argument("--until", metavar="WHEN", help="records at or before WHEN (as --since)")
    group.add_argument(
        "--level",
        help="this level and above: DEBUG, INFO, WARNING, ERROR, CRITICAL; a record "
        "without a level (a raw captured line, a custom level name) is left out",
    )
    group.add_argument(
        "--logger",
        action="append",
        default=[],
        metavar="NAME",
        help="a logger and its children (repeat for several)",
    )
    group.add_argument(
        "--grep",
        metavar="REGEX",
        help="records whose message matches (a regular expression, or the "
        "text itself when it is not one)",
    )
    group.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="records whose JSON field KEY is VALUE, e.g. fly_machine=148e21 "
        "or rid=4f2a (repeat: all must match)",
    )
    group.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="NAME",
        help="records of this Fly app (their fly_app field); a glob such as 'shop-*' "
        "(repeat for several)",
    )


def _add_output_options(out: argparse._ArgumentGroup) -> None:
    """The options that shape what is printed: JSON, colour, the reorder window."""
    from dual_log._read.merge import WINDOW

    out.add_argument(
        "--json",
        action="store_true",
        help="the raw JSON lines (lines that are not JSON go to stderr)",
    )
    out.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the level: auto = on a terminal unless NO_COLOR is set",
    )
    out.add_argument(
        "--window",
        type=seconds,
        default=WINDOW,
        metavar="SECONDS",
        help=f"records up to this far out of time order in their files are put in order "
        f"(default {WINDOW:g}: the writers' flush_interval plus their wait for the lock); "
        "0 keeps each file's own order",
    )


def filters_of(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Filters:
    """The filters the options ask for; a bad one is a usage error of ``parser``."""
    from dual_log._read.scan import Filters

    try:
        return Filters.build(
            since=args.since,
            until=args.until,
            level=args.level,
            loggers=args.logger,
            grep=args.grep,
            fields=args.field,
            apps=args.app,
        )
    except ValueError as exc:
        usage_error(parser, exc)


def filters_given(args: argparse.Namespace) -> list[str]:
    """The filter options given on the command line, as typed."""
    given = []
    for name, option in FILTER_OPTIONS:
        value = getattr(args, name)
        for item in value if isinstance(value, list) else [value]:
            if item:
                given.append(f"{option} {item}")
    return given


def printer_of(args: argparse.Namespace) -> Printer:
    """The printer on stdout the output options ask for."""
    from dual_log._read.show import Printer

    # A buffer of our own: with PYTHONUNBUFFERED set, sys.stdout.buffer writes each line
    # with its own system call, which costs more than reading the line did.
    sys.stdout.flush()
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)
    return Printer(out, as_json=args.json, colour=_colour(args.color))


def _colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def report_read(counts: Counts, window: Window, *, as_json: bool) -> None:
    """Say on stderr what a read met: lines that were not records, records out of order."""
    from dual_log._read.discover import warn

    if counts.not_json:
        hidden = counts.not_json_hidden
        warn(
            f"{counts.not_json} line(s) were not JSON records (text lines, or lines cut "
            "short); each is shown as it is, where it was in its file"
            + (" (on stderr with --json)" if as_json else "")
            + (
                f"; {hidden} of them left out by the filters (--level, --logger, --field "
                "and --app need a record; --grep and --since/--until judge them by text and "
                "place)"
                if hidden
                else ""
            )
        )
    if window.late:
        warn(
            f"{window.late} record(s) came more than {window.seconds:g}s after newer ones "
            "(a writer held them up longer than the reorder window) and were printed "
            "when they were read, out of time order; a larger --window puts them in place"
        )


def default_path() -> str:
    """The log file ``setup()`` would write: ``DUAL_LOG_PATH``, else ``/logs/app.log``."""
    from dual_log._options import Settings

    return Settings.resolve(path=None).path
