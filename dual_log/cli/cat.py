"""``dual-log cat``: every record of files and folders, filtered, merged by time, printed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dual_log._read import discover, merge
from dual_log._read.scan import Counts, Scanner
from dual_log.cli._common import add_filters, default_path, filters_of, printer_of

if TYPE_CHECKING:
    import argparse

    from dual_log._read.scan import Filters
    from dual_log._read.show import Printer


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``cat`` subcommand and its options."""
    parser = commands.add_parser(
        "cat",
        help="every record of files and folders, oldest first, merged by time",
        description="Print every record of the files and folders given (default: the folder "
        "of the log file setup() would write, DUAL_LOG_PATH), oldest first. A folder means "
        "every log in it and its sub-folders: live file, rotated files, .gz files, segments "
        "of an interrupted rotation. Several machines' files are merged by record time.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files and folders")
    add_filters(parser)
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log cat`` with parsed ``args``; its exit status."""
    filters = filters_of(args, parser)
    paths = args.paths or [os.path.dirname(os.path.abspath(default_path()))]
    return print_records(paths, filters, printer_of(args))


def print_records(inputs: list[str], filters: Filters, printer: Printer) -> int:
    """Print what ``inputs`` hold; 0, or 1 when an input could not be read at all."""
    sources: list[discover.Source] = []
    failed = False
    for path in inputs:
        found, missing = discover.discover(path)
        for gone in missing:
            discover.warn(f"cannot read {gone}: no such file or folder")
            failed = True
        if not found and not missing:
            discover.warn(f"{path}: no log files in this folder")
            failed = True
        sources += found
    counts = Counts()
    streams = [Scanner(filters, counts).scan(source.lines()) for source in sources]
    write = printer.write
    for entry in merge.merge(streams) if streams else ():
        write(entry)
    printer.out.flush()
    if counts.not_json:
        discover.warn(
            f"{counts.not_json} line(s) were not JSON records (text lines, or lines cut "
            "short); each is shown as it is, where it was in its file (on stderr with --json)"
        )
    return 1 if failed or any(source.failed for source in sources) else 0
