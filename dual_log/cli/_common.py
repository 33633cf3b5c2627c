"""What several ``dual-log`` commands share: the record filters, the output options, the
printer on stdout, and the log file ``setup()`` would write when no path is given."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from dual_log._report import usage_error

if TYPE_CHECKING:
    import argparse

    from dual_log._read.scan import Filters
    from dual_log._read.show import Printer


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The filters and output options of ``cat`` and ``tail``."""
    group = parser.add_argument_group("filters")
    group.add_argument(
        "--since",
        metavar="WHEN",
        help="records at or after WHEN: an ISO time (no zone means UTC) "
        "or a span back from now: 90s, 15m, 2h, 3d, 1w",
    )
    group.add_argument("--until", metavar="WHEN", help="records at or before WHEN (as --since)")
    group.add_argument(
        "--level", help="this level and above: DEBUG, INFO, WARNING, ERROR, CRITICAL"
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
    out = parser.add_argument_group("output")
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
        )
    except ValueError as exc:
        usage_error(parser, exc)


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


def default_path() -> str:
    """The log file ``setup()`` would write: ``DUAL_LOG_PATH``, else ``/logs/app.log``."""
    from dual_log._options import Settings

    return Settings.resolve(path=None).path
