"""``dual-log tail``: the last records of a live log file; with ``-f``, every new one, across
rotations, in time order, until interrupted.

With ``-f``, records are held in the reorder window (see ``dual_log._read.merge``) until a
record newer by the window has been read, or nothing new came for that long: output lags
the file by up to the window, and comes in time order. Files rotated past ``keep`` before
they could be read are reported on stderr as they are found, and in all when it stops.
"""

from __future__ import annotations

import collections
import signal
import time
from typing import TYPE_CHECKING, Any

from dual_log._read.discover import warn
from dual_log._read.follow import Follower, Gap, live_file
from dual_log._read.merge import Window
from dual_log._read.scan import Counts, Scanner
from dual_log.cli._common import (
    add_filters,
    default_path,
    filters_of,
    positive_seconds,
    printer_of,
    report_read,
    whole_number,
)

if TYPE_CHECKING:
    import argparse

    from dual_log._read.scan import Entry, Filters
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
        "in time order, until interrupted. Started before the file exists, it waits for it "
        "and prints every record written to it.",
        epilog="Exit status: 0, also when stopped by SIGINT or SIGTERM; 1 when the file is "
        "not there (without -f); 2 bad usage.",
    )
    parser.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="the live log file, or its folder (default: DUAL_LOG_PATH, else /logs/app.log)",
    )
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new records, across rotations, until interrupted",
    )
    parser.add_argument(
        "-n",
        "--lines",
        type=whole_number("records", minimum=0),
        default=10,
        metavar="N",
        help="records printed first, from the end of the file (default 10; 0: only new ones)",
    )
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=0.1,
        metavar="SECONDS",
        help="how often to look for new lines when idle (default 0.1)",
    )
    add_filters(parser)
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log tail`` with parsed ``args``; its exit status."""
    filters = filters_of(args, parser)
    target = live_file(args.path or default_path())
    if target is None:
        return 1
    follower = Follower(target, args.interval)
    try:
        return print_tail(
            follower,
            filters,
            printer_of(args),
            follow=args.follow,
            lines=args.lines,
            window=Window(args.window),
        )
    finally:
        follower.finish()


def print_tail(
    follower: Follower,
    filters: Filters,
    printer: Printer,
    *,
    follow: bool,
    lines: int,
    window: Window,
) -> int:
    """Print the last ``lines`` records; with ``follow`` every new one until stopped."""
    counts = Counts()
    scanner = Scanner(filters, counts, parse=not printer.as_json)
    existed = follower.begin()
    if not existed and not follow and not follower.rotated_before:
        warn(f"cannot read {follower.path}: no such file")
        return 1
    if lines:
        window.add(_last(follower, scanner, lines, existed=existed))
    else:
        follower.skip()
    if follow:
        if not existed and not follower.rotated_before:
            warn(f"{follower.path} is not there yet; waiting for it")
        _follow(follower, scanner, window, printer)
    printer.write_all(window.rest())
    printer.out.flush()
    report_read(counts, window, as_json=printer.as_json)
    return 0


def _last(follower: Follower, scanner: Scanner, lines: int, *, existed: bool) -> list[Entry]:
    """The last ``lines`` entries: of the live file, and of the newest rotated file when
    the live one holds fewer."""
    last: collections.deque[Entry] = collections.deque(maxlen=lines)
    if existed:
        for batch in follower.poll():
            if not isinstance(batch, Gap):
                last.extend(scanner.scan(batch))
    if len(last) < lines:
        before: collections.deque[Entry] = collections.deque(maxlen=lines - len(last))
        previous = Scanner(scanner.filters, scanner.counts, parse=scanner.parse)
        for batch in follower.previous():
            before.extend(previous.scan(batch))
        last.extendleft(reversed(before))
        scanner.last = scanner.last or previous.last
    return list(last)


class _Gaps:
    """Files rotated away before they could be read: said as found (at most one line every
    ``QUIET`` seconds, with what came meanwhile), and in all at the end."""

    QUIET = 10.0

    def __init__(self, path: str) -> None:
        self.path = path
        self.files = self.records = 0
        self.unknown = False
        self._said = -self.QUIET
        self._files = self._records = 0  # since the last line

    def found(self, gap: Gap, after: bytes) -> None:
        if gap.files is None:
            if not self.unknown:
                self.unknown = True
                since = f" written after {after.decode()}" if after else ""
                warn(
                    f"{self.path}: records{since} may be missing: the file followed was "
                    "rotated past keep, and more rotations than the rotated files kept "
                    "happened between two looks (how many cannot be told here)"
                )
            return
        self.files += gap.files
        self._files += gap.files
        if gap.records is not None:
            self.records += gap.records
            self._records += gap.records
        now = time.monotonic()
        if now - self._said < self.QUIET:
            return
        since = f", written after {after.decode()}" if after else ""
        warn(
            f"{self.path}: {self._files} rotated file(s) were removed before they could be "
            f"read (about {self._records} records{since}): a writer rotated more times than "
            "keep allows between two looks"
        )
        self._said, self._files, self._records = now, 0, 0

    def summary(self) -> None:
        if self.files:
            warn(
                f"{self.path}: in all, {self.files} rotated file(s) (about {self.records} "
                "records) were removed before they could be read; a larger max_bytes or "
                "keep on the writers' side keeps them"
            )
        elif self.unknown:
            warn(f"{self.path}: some records may be missing (see above)")


def _follow(follower: Follower, scanner: Scanner, window: Window, printer: Printer) -> None:
    """Print new records, held in ``window``, until ``follower.stopped``."""

    def stop(signum: int, frame: Any) -> None:
        follower.stopped = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    gaps = _Gaps(follower.path)
    front = scanner.last
    quiet_since = time.monotonic()
    while not follower.stopped:
        new = False
        for lines in follower.poll():
            if isinstance(lines, Gap):
                gaps.found(lines, front)
                continue
            window.add(scanner.scan(lines))
            front = max(front, scanner.last)
            new = True
        now = time.monotonic()
        if new:
            quiet_since = now
        # Nothing new for as long as the window: nothing older can come any more.
        out = window.rest() if now - quiet_since >= window.seconds else window.release(front)
        if out:
            printer.write_all(out)
            printer.out.flush()
        if not new:
            time.sleep(follower.interval)
    gaps.summary()
