"""``dual-log tail``: the last records of a live log file; with ``-f``, every new one, across
rotations, until interrupted."""

from __future__ import annotations

import collections
import signal
import time
from typing import TYPE_CHECKING, Any

from dual_log._read.discover import warn
from dual_log._read.follow import Follower, live_file
from dual_log._read.scan import Counts, Scanner
from dual_log._report import usage_error
from dual_log.cli._common import add_filters, default_path, filters_of, printer_of

if TYPE_CHECKING:
    import argparse

    from dual_log._read.scan import Filters
    from dual_log._read.show import Printer


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``tail`` subcommand and its options."""
    parser = commands.add_parser(
        "tail",
        help="the last records of a live log file; -f follows it across rotations",
        description="Print the last records of the live log file (default: the one setup() "
        "would write), and with -f keep printing new ones, across rotations, like tail -F, "
        "until interrupted (SIGINT or SIGTERM: exit status 0).",
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="the live log file, or its folder")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    parser.add_argument(
        "-n",
        "--lines",
        type=int,
        default=10,
        metavar="N",
        help="records printed first (default 10)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="how often to look for new lines when idle (default 0.1)",
    )
    add_filters(parser)
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log tail`` with parsed ``args``; its exit status."""
    filters = filters_of(args, parser)
    if args.lines < 0:
        usage_error(parser, f"-n {args.lines}: give a number of records >= 0")
    return print_tail(
        args.path or default_path(),
        filters,
        printer_of(args),
        follow=args.follow,
        lines=args.lines,
        interval=args.interval,
    )


def print_tail(
    path: str, filters: Filters, printer: Printer, *, follow: bool, lines: int, interval: float
) -> int:
    """Print the last ``lines`` records of ``path``; with ``follow`` every new one until stopped."""
    target = live_file(path)
    if target is None:
        return 1
    follower = Follower(target, interval)
    counts = Counts()
    scanner = Scanner(filters, counts)

    def stop(signum: int, frame: Any) -> None:
        follower.stopped = True

    if follow:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
    if not follower.open():
        if not follow:
            warn(f"cannot read {target}: no such file")
            return 1
        warn(f"{target} is not there yet; waiting for it")
        while not follower.stopped and not follower.open():
            time.sleep(interval)
    if follower.stopped:
        return 0
    last = collections.deque(scanner.scan(follower.drain()), maxlen=lines)
    for entry in last:
        printer.write(entry)
    printer.out.flush()
    while follow and not follower.stopped:
        before = follower.size
        for entry in scanner.scan(follower.drain()):
            printer.write(entry)
        if follower.size == before:
            rotated = follower.changed()
            if rotated is None:
                time.sleep(interval)
                continue
            for entry in scanner.scan(rotated):
                printer.write(entry)
        printer.out.flush()
    follower.close()
    return 0
