"""``dual-log cat``: every record of files and folders, filtered, merged by time, printed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dual_log._read import discover as _read
from dual_log._read import merge as _merge
from dual_log._read.scan import Counts, Scanner

if TYPE_CHECKING:
    from dual_log._read.scan import Filters
    from dual_log._read.show import Printer


def run(inputs: list[str], filters: Filters, printer: Printer) -> int:
    """Print what ``inputs`` hold; 0, or 1 when an input could not be read at all."""
    sources: list[_read.Source] = []
    failed = False
    for path in inputs:
        found, missing = _read.discover(path)
        for gone in missing:
            _read.warn(f"cannot read {gone}: no such file or folder")
            failed = True
        if not found and not missing:
            _read.warn(f"{path}: no log files in this folder")
            failed = True
        sources += found
    counts = Counts()
    streams = [Scanner(filters, counts).scan(source.lines()) for source in sources]
    write = printer.write
    for entry in _merge.merge(streams) if streams else ():
        write(entry)
    printer.out.flush()
    if counts.not_json:
        _read.warn(
            f"{counts.not_json} line(s) were not JSON records (text lines, or lines cut "
            "short); each is shown as it is, where it was in its file (on stderr with --json)"
        )
    return 1 if failed or any(source.failed for source in sources) else 0
