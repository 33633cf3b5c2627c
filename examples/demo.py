"""The main job of dual_log in one run: the same records on stdout and in a rotated file.

Writes to /logs/demo.log when a /logs volume is mounted and writable, else to
./demo-logs/demo.log, or into the folder given as its one argument. The file is kept tiny
(2 KiB) so that it rotates while you watch. Run it with ``scripts/demo``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
from pathlib import Path

import dual_log

LAST = 3  # records shown at the end, newest last


def _folder(argv: list[str]) -> Path:
    if argv:
        return Path(argv[0]).resolve()
    volume = Path("/logs")
    if volume.is_dir() and os.access(volume, os.W_OK):
        return volume
    return Path.cwd() / "demo-logs"


def _lines(file: Path) -> list[str]:
    data = file.read_bytes()
    text = gzip.decompress(data).decode() if file.suffix == ".gz" else data.decode()
    return text.splitlines()


def _oldest_first(folder: Path) -> list[Path]:
    """demo.log.3.gz, demo.log.2.gz, demo.log.1.gz, demo.log: the order records were written."""

    def age(file: Path) -> int:
        number = file.name.removeprefix("demo.log").removesuffix(".gz").lstrip(".")
        return int(number) if number.isdigit() else 0

    return sorted(folder.glob("demo.log*"), key=age, reverse=True)


def main(argv: list[str]) -> int:
    folder = _folder(argv)
    path = folder / "demo.log"
    for old in folder.glob("demo.log*"):
        old.unlink()
    print(f"== dual_log demo: stdout below, and the file {path}\n", flush=True)
    dual = dual_log.setup(path=str(path), max_bytes="2KiB", keep=3, compress=True, create_dirs=True)

    shop = logging.getLogger("shop.orders")
    for order in range(1, 41):
        shop.info("order %s paid", f"A-{order:03d}", extra={"order_id": order, "amount": 12.5})
    logging.getLogger("shop.mail").warning("mail server slow: %.1fs", 3.2)
    cart: dict[str, str] = {}
    try:
        cart["customer"]
    except KeyError:
        shop.exception("checkout failed")
    shop.info("a message with a forged\nline stays one record")

    dual.close()
    files = _oldest_first(folder)
    print(f"\n== files in {folder} (the newest first):")
    for file in reversed(files):
        print(f"   {file.name:<16} {file.stat().st_size:>6} bytes")
    # The live file may hold a single record right after a rotation: the last records
    # are read across the files, oldest file first.
    records = [(file.name, line) for file in files for line in _lines(file)]
    print(f"\n== the last {LAST} records, as JSON lines (file: line):")
    for name, line in records[-LAST:]:
        print(f"   {name + ':':<15} " + line[:140] + ("..." if len(line) > 140 else ""))
    total = sum(1 for _, line in records if json.loads(line))
    print(
        f"\n== {dual.stdout_written} records on stdout, {total} across "
        f"{len(files)} files ({dual.file_written} written, {dual.file_missed} missed)."
    )
    return 0 if total == dual.stdout_written else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
