"""A soak: processes rotating and gzipping one file for minutes, then every record counted.

    .venv/bin/python -m benchmarks soak                  # 3 minutes, 4 processes
    .venv/bin/python -m benchmarks soak --seconds 600

Each of ``processes`` forked children calls ``dual_log.setup()`` with a small ``max_bytes``,
``compress=True`` and a long ``keep``, and logs numbered records at ``rate`` a second for
``seconds``, with a process burning CPU beside them. (A loop that logs as fast as Python
can outruns any writer sharing its GIL: the queue then overflows, which is counted, but
is not what a soak is for.) Then every file (gzipped ones too)
is read back: each id must be there exactly once, and no line may be torn. The figures
go between the ``soak`` markers of docs/RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "RELIABILITY.md")
START = "<!-- soak:start (python -m benchmarks soak writes this part) -->"
END = "<!-- soak:end -->"


def _worker(path: str, worker: int, seconds: float, rate: int, counts: Any) -> None:
    import logging

    import dual_log

    dual = dual_log.setup(path=path, stdout=False, max_bytes="256KiB", keep=100_000, compress=True)
    log = logging.getLogger("soak")
    start = time.monotonic()
    deadline = start + seconds
    n = 0
    while time.monotonic() < deadline:
        for _ in range(50):
            log.info("%d-%d %s", worker, n, "x" * 80)
            n += 1
        ahead = n / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    dual.flush(timeout=30)
    counts[worker] = (n, dual.file_missed)


def _read(folder: str) -> tuple[collections.Counter[str], int, int]:
    ids: collections.Counter[str] = collections.Counter()
    torn = 0
    names = os.listdir(folder)
    for name in names:
        if not name.startswith("app.log"):
            continue
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(os.path.join(folder, name), "rb") as stream:
            for line in stream:
                try:
                    ids[json.loads(line)["message"].split()[0]] += 1
                except ValueError:
                    torn += 1
    return ids, torn, sum(1 for name in names if name.endswith(".gz"))


def run(seconds: float, processes: int, rate: int) -> dict[str, Any]:
    """Run the soak; return its figures."""
    with tempfile.TemporaryDirectory(prefix="dual_log-soak-") as folder:
        path = os.path.join(folder, "app.log")
        context = multiprocessing.get_context("fork")
        counts = context.Manager().dict()
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        started = time.monotonic()
        try:
            workers = [
                context.Process(target=_worker, args=(path, w, seconds, rate, counts))
                for w in range(processes)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            burner.kill()
            burner.wait()
        took = time.monotonic() - started
        ids, torn, gzipped = _read(folder)
    logged = sum(n for n, _ in counts.values())
    dropped = sum(missed for _, missed in counts.values())
    expected = {f"{w}-{n}" for w, (count, _) in counts.items() for n in range(count)}
    return {
        "seconds": round(took),
        "processes": processes,
        "logged": logged,
        "records_per_s": round(logged / took),
        "gzipped_files": gzipped,
        "dropped": dropped,
        "lost": len(expected - set(ids)) - dropped,
        "duplicated": sum(1 for n in ids.values() if n > 1),
        "unknown": len(set(ids) - expected),
        "torn": torn,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "date": time.strftime("%Y-%m-%d"),
    }


def table(result: dict[str, Any]) -> str:
    """The soak's figures as the Markdown docs/RELIABILITY.md shows."""
    return "\n".join(
        [
            "| processes | seconds | records logged | records/s | gzipped rotated files "
            "| dropped (queue full, counted) | lost uncounted | duplicated | torn |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
            f"| {result['processes']} | {result['seconds']} | {result['logged']} "
            f"| {result['records_per_s']} | {result['gzipped_files']} | {result['dropped']} "
            f"| {result['lost']} | {result['duplicated']} | {result['torn']} |",
            "",
            f"Measured by `python -m benchmarks soak` on {result['date']} ({result['machine']}), "
            "with a process burning CPU beside the writers; max_bytes 256 KiB, compress on.",
        ]
    )


def main(argv: list[str]) -> int:
    """``python -m benchmarks soak [--seconds S] [--processes N] [--no-doc]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks soak")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rate", type=int, default=5000, help="records a second per process")
    parser.add_argument("--no-doc", action="store_true", help="print only; write no file")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.processes, args.rate)
    text = table(result)
    print(text)
    if not args.no_doc:
        with open(DOC, encoding="utf-8") as doc:
            page = doc.read()
        if START in page and END in page:
            head, rest = page.split(START, 1)
            page = head + START + "\n" + text + "\n" + END + rest.split(END, 1)[1]
            with open(DOC, "w", encoding="utf-8") as doc:
                doc.write(page)
    failed = (
        result["lost"]
        or result["dropped"]
        or result["duplicated"]
        or result["torn"]
        or result["unknown"]
    )
    return 1 if failed else 0
