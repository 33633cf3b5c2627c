"""``dual-log cat``: every record of files and folders, filtered, put in time order, printed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dual_log._read import discover, merge, parallel
from dual_log._read.scan import Counts, Scanner
from dual_log.cli._common import (
    add_filters,
    default_path,
    filters_given,
    filters_of,
    printer_of,
    report_read,
    whole_number,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from dual_log._read.scan import Entry, Filters
    from dual_log._read.show import Printer


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``cat`` subcommand and its options."""
    parser = commands.add_parser(
        "cat",
        help="every record of files and folders, oldest first, in time order",
        description="Print every record of the files and folders given (default: the folder "
        "of the log file setup() would write, DUAL_LOG_PATH), oldest first. A folder means "
        "every log in it and its sub-folders: live file, rotated files, .gz files, segments "
        "of an interrupted rotation. Records are put in time order within each file (several "
        "processes write one file in batches) and across files and machines. When the "
        "filters leave nothing, stderr says how many records were read.",
        epilog="Exit status: 0, also when nothing matched; 1 when an input could not be read; "
        "2 bad usage.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="log files and folders (default: the folder of DUAL_LOG_PATH, else /logs)",
    )
    add_filters(parser)
    parser.add_argument(
        "--jobs",
        type=whole_number("processes", minimum=1),
        metavar="N",
        help="read the sources (one per log and machine) in N processes at once (default: "
        "one per idle CPU, when there are several sources and 8 MB or more to read; 1: all "
        "in this process)",
    )
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log cat`` with parsed ``args``; its exit status."""
    filters = filters_of(args, parser)
    paths = args.paths or [os.path.dirname(os.path.abspath(default_path()))]
    return print_records(
        paths,
        filters,
        printer_of(args),
        window=args.window,
        given=filters_given(args),
        jobs=args.jobs,
    )


def _stream(source: discover.Source, scanner: Scanner) -> Iterator[tuple[list[Entry], bytes]]:
    for lines in source.batches():
        yield scanner.scan(lines), scanner.last


def _child(
    group: list[int],
    sources: list[discover.Source],
    streams: list[Iterator[tuple[list[Entry], bytes]]],
    counts: Counts,
    siblings: list[parallel.Child],
) -> parallel.Child:
    """A process of its own reading the sources numbered in ``group``."""

    def report() -> dict[str, Any]:
        # In the child, ``counts`` counts only what the child read: nothing was read
        # before the fork.
        failed = [path for index in group for path in sources[index].failed]
        return {"counts": parallel.counts_of(counts), "late": 0, "failed": failed}

    return parallel.Child(
        [streams[index] for index in group],
        report,
        [sources[index].label for index in group],
        siblings=siblings,
    )


def print_records(
    inputs: list[str],
    filters: Filters,
    printer: Printer,
    *,
    window: float,
    given: list[str],
    jobs: int | None = None,
) -> int:
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
    parse = not printer.as_json
    streams = [_stream(source, Scanner(filters, counts, parse=parse)) for source in sources]
    held = merge.Window(window)
    children: list[parallel.Child] = []
    try:
        groups = parallel.share(sources, parallel.jobs_for(sources, jobs))
        for group in groups[1:]:
            children.append(_child(group, sources, streams, counts, children))
        own = [streams[index] for index in groups[0]] if groups else []
        for batch in merge.merge(own + [child.steps() for child in children], held):
            printer.write_all(batch)
        printer.out.flush()
    finally:
        for child in children:
            child.close()
    for child in children:
        if child.report is None:
            discover.warn(f"the reading of {', '.join(child.labels)} stopped before its end")
            failed = True
            continue
        parallel.add_counts(counts, child.report["counts"])
        held.late += int(child.report["late"])
        failed = failed or bool(child.report["failed"])
    report_read(counts, held, as_json=printer.as_json)
    if sources and not counts.kept:
        files = sum(len(source.paths) - len(source.failed) for source in sources)
        read = f"read {counts.read} record(s) from {files} file(s)"
        discover.warn(f"{read}; none matched {' '.join(given)}" if given and counts.read else read)
    return 1 if failed or any(source.failed for source in sources) else 0
