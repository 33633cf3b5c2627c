"""The main job of dual_log in one run: the same records on stdout and in a rotated file.

Writes to /logs/demo.log when a /logs volume is mounted and writable, else to
./demo-logs/demo.log. The file is kept tiny (2 KiB) so that it rotates while you watch.
Run it with ``scripts/demo``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
from pathlib import Path

import dual_log


def _folder() -> Path:
    volume = Path("/logs")
    if volume.is_dir() and os.access(volume, os.W_OK):
        return volume
    return Path.cwd() / "demo-logs"


def main() -> int:
    folder = _folder()
    path = folder / "demo.log"
    for old in folder.glob("demo.log*"):
        old.unlink()
    print(f"== dual_log demo: stdout below, and the file {path}\n", flush=True)
    dual = dual_log.setup(path=str(path), max_bytes="2KiB", keep=3, compress=True, create_dirs=True)

    shop = logging.getLogger("shop.orders")
    for order in range(1, 41):
        shop.info("order %s paid", f"A-{order:03d}", extra={"order_id": order, "amount": 12.5})
    logging.getLogger("shop.mail").warning("mail server slow: %.1fs", 3.2)
    try:
        {}["customer"]
    except KeyError:
        shop.exception("checkout failed")
    shop.info("a message with a forged\nline stays one record")

    dual.close()
    files = sorted(folder.glob("demo.log*"))
    print(f"\n== files in {folder} (the newest first):")
    for file in files:
        print(f"   {file.name:<16} {file.stat().st_size:>6} bytes")
    print("\n== the last 3 records of the live file, as JSON lines:")
    for line in path.read_text().splitlines()[-3:]:
        print("  ", line[:160] + ("..." if len(line) > 160 else ""))
    total = 0
    for file in files:
        data = file.read_bytes()
        text = gzip.decompress(data).decode() if file.suffix == ".gz" else data.decode()
        total += sum(1 for line in text.splitlines() if json.loads(line))
    print(
        f"\n== {dual.stdout_written} records on stdout, {total} across "
        f"{len(files)} files ({dual.file_written} written, {dual.file_missed} missed)."
    )
    return 0 if total == dual.stdout_written else 1


if __name__ == "__main__":
    sys.exit(main())
