"""Several processes writing one file that rotates: throughput, and what reached the file.

Four processes (by default) each set up the same configuration on one shared path,
wait for a common start, log ``n`` records numbered ``record <worker> <seq>``, then
flush and close. Throughput is every record of every process divided by the time from
the first start to the last close, so a queued file counts only once its records are
on disk. Afterwards the live file and every rotated file are read back:

- lost: ids that appear in no file;
- duplicated: extra copies of ids that appear more than once;
- torn: lines that are not one whole record (two records run together, a record cut).
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks import _configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 300.0
_MESSAGE = re.compile(r"record (\d+) (\d+) payload=" + _configs.PAYLOAD)
# logging.Formatter's asctime ("2026-11-24 09:30:41,854") or dual_log's, in UTC
# ("2026-11-24T09:30:41.854+00:00").
_TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3}(?:[+-]\d\d:\d\d)? INFO \S+ ("
    + _MESSAGE.pattern
    + r")"
)


def run(
    *,
    n: int,
    processes: int,
    max_bytes: int,
    configs: list[str],
    repeats: int = 1,
    progress: Any = None,
) -> dict[str, Any]:
    """Run every configuration ``repeats`` times: median throughput, worst losses of each."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-mp-") as scratch:
        for key in configs:
            results = []
            for repeat in range(repeats):
                folder = os.path.join(scratch, f"{key}-{repeat}")
                os.mkdir(folder)
                results.append(_one(key, n, processes, max_bytes, folder))
                if progress:
                    progress(f"multi-process {key} ({repeat + 1}/{repeats})")
            by_speed = sorted(results, key=lambda r: r["records_per_s"])
            row = by_speed[len(by_speed) // 2]
            row["runs"] = [r["records_per_s"] for r in results]
            if row["checked"]:
                # Losses vary from run to run: every run's count is kept, the worst shown.
                for measure in ("lost", "duplicated", "torn"):
                    row[f"{measure}_runs"] = [r[measure] for r in results]
                    row[measure] = max(row[f"{measure}_runs"])
            rows.append(row)
    clh = next((r for r in rows if r["key"] == "clh"), None)
    for row in rows:
        row["vs_clh"] = row["records_per_s"] / clh["records_per_s"] if clh else None
    return {"n": n, "processes": processes, "max_bytes": max_bytes, "rows": rows}


def _one(key: str, n: int, processes: int, max_bytes: int, folder: str) -> dict[str, Any]:
    control = folder + ".control"
    os.mkdir(control)
    go = os.path.join(control, "go")
    results = [os.path.join(control, f"worker-{w}.json") for w in range(processes)]
    children = []
    for worker, result in enumerate(results):
        command = [sys.executable, "-m", "benchmarks._worker", "multiproc", key, folder]
        command += [str(n), str(worker), str(max_bytes), go, result]
        children.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    deadline = time.monotonic() + TIMEOUT
    try:
        while not all(os.path.exists(r + ".ready") for r in results):
            if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                raise RuntimeError(f"multi-process {key}: a worker did not get ready")
            time.sleep(0.01)
        with open(go, "w"):
            pass
        errors = [c.communicate(timeout=max(1.0, deadline - time.monotonic()))[1] for c in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    for child, error in zip(children, errors, strict=True):
        if child.returncode != 0:
            raise RuntimeError(
                f"multi-process {key} worker failed ({child.returncode}): "
                + error.decode(errors="replace")[-2000:]
            )
    workers = []
    for result in results:
        with open(result, encoding="utf-8") as data:
            workers.append(json.load(data))
    elapsed = max(w["end"] for w in workers) - min(w["start"] for w in workers)
    row: dict[str, Any] = {
        "key": key,
        "label": _configs.BY_KEY[key].label,
        "records": n * processes,
        "seconds": elapsed,
        "records_per_s": n * processes / elapsed,
        "stderr": sorted({e.decode(errors="replace").strip() for e in errors if e.strip()}),
        "checked": _configs.BY_KEY[key].file_format is not None,
        "reported_missed": sum(w.get("file_missed", 0) for w in workers),
    }
    if row["checked"]:
        row.update(count(folder, _configs.BY_KEY[key].file_format or "text", n, processes))
    return row


def count(folder: str, file_format: str, n: int, processes: int) -> dict[str, int]:
    """Read every file in ``folder`` back; count lost, duplicated and torn records."""
    seen: collections.Counter[tuple[int, int]] = collections.Counter()
    torn = 0
    files = 0
    for name in sorted(os.listdir(folder)):
        if name.startswith(".") or name.endswith(".lock"):
            continue
        files += 1
        with open(os.path.join(folder, name), "rb") as file:
            for raw in file:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if not line:
                    continue
                ident = _parse(line, file_format)
                if ident is None:
                    torn += 1
                else:
                    seen[ident] += 1
    expected = {(w, i) for w in range(processes) for i in range(n)}
    lost = len(expected - seen.keys())
    duplicated = sum(c - 1 for c in seen.values() if c > 1)
    unexpected = sum(c for k, c in seen.items() if k not in expected)
    return {
        "lost": lost,
        "duplicated": duplicated,
        "torn": torn + unexpected,
        "files": files,
    }


def _parse(line: str, file_format: str) -> tuple[int, int] | None:
    if file_format == "json":
        try:
            data = json.loads(line)
        except ValueError:
            return None
        message = data.get("message") if isinstance(data, dict) else None
        match = _MESSAGE.fullmatch(message) if isinstance(message, str) else None
        return (int(match.group(1)), int(match.group(2))) if match else None
    match = _TEXT_LINE.fullmatch(line)
    return (int(match.group(2)), int(match.group(3))) if match else None
