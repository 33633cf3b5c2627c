"""Memory: peak RSS while logging a million records, and whether it grows with the count.

Each process logs ``n`` records (the call with two extra fields, see ``_calls``) as fast
as it can, stdout to /dev/null, then reports its peak resident memory (``VmHWM``,
imports included). Three set-ups: stdout only; dual_log's default; and dual_log's default
with its file failing (its folder missing), so that every record is held until
``queue_size`` (default 50,000) are, and the oldest are dropped after that: the most the
queue ever holds. Each runs with ``n`` records and with a tenth of them: memory bounded
by ``queue_size`` means the two peaks are nearly the same.

    python -m benchmarks._memory CONFIG FOLDER N RESULT   (one process)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
from typing import Any

from benchmarks import _calls, _child

TIMEOUT = 900.0
CONFIGS = {
    "stdout": "stdout only (StreamHandler)",
    "dual_log": "dual_log default",
    "dual_log_failing": "dual_log default, its file failing (folder missing)",
}
# Growth of the peak from a tenth of the records to all of them that still counts as
# bounded: the allocator's arenas move a little from run to run.
GROWTH_MIB = 2.0


def run(*, n: int, rounds: int, progress: Any = None) -> dict[str, Any]:
    """Each set-up with ``n // 10`` and ``n`` records, ``rounds`` times in turn; medians."""
    sizes = (n // 10, n)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {
        (key, size): [] for key in CONFIGS for size in sizes
    }
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-mem-") as scratch:
        for round_no in range(rounds):
            for key, size in runs:
                name = f"{key}-{size}-{round_no}"
                runs[(key, size)].append(_one(key, size, scratch, name))
                if progress:
                    progress(f"memory round {round_no + 1}/{rounds}: {key}, {size:,} records")
    rows = []
    for key, label in CONFIGS.items():
        small, large = (runs[(key, size)] for size in sizes)
        row: dict[str, Any] = {"key": key, "label": label, "small": sizes[0], "large": sizes[1]}
        row["small_mib"] = statistics.median(r["peak_rss_kib"] / 1024 for r in small)
        row["large_mib"] = statistics.median(r["peak_rss_kib"] / 1024 for r in large)
        row["growth_mib"] = row["large_mib"] - row["small_mib"]
        for field in ("written", "missed"):
            row[field] = large[0].get(field)
        row["stderr"] = sorted({r["stderr"].splitlines()[0] for r in large if r["stderr"]})
        rows.append(row)
    return {"n": n, "rounds": rounds, "rows": rows}


def _one(key: str, n: int, scratch: str, name: str) -> dict[str, Any]:
    folder = os.path.join(scratch, name)
    os.mkdir(folder)
    result = os.path.join(scratch, name + ".json")
    return _child.measure(
        "benchmarks._memory",
        [key, folder, str(n), result],
        what=f"memory run of {key}",
        result=result,
        timeout=TIMEOUT,
    )


def table(result: dict[str, Any]) -> str:
    """Peak RSS by set-up, with a tenth of the records and with all of them."""
    rows_in = result["rows"]
    small, large = rows_in[0]["small"], rows_in[0]["large"]
    head = (
        f"| Configuration | peak RSS, {small:,} records, MiB | peak RSS, {large:,} records, "
        "MiB | growth, MiB | file: written / missed |\n|---|--:|--:|--:|--:|"
    )
    rows = []
    for r in rows_in:
        file = "—" if r["written"] is None else f"{r['written']:,} / {r['missed']:,}"
        rows.append(
            f"| {r['label']} | {r['small_mib']:.1f} | {r['large_mib']:.1f} "
            f"| {r['growth_mib']:+.1f} | {file} |"
        )
    notes = [
        "",
        "Peak resident memory of the whole process (`VmHWM`, imports included), the "
        f"median of {result['rounds']} runs; stdout to /dev/null; the call with two extra "
        "fields, in a tight loop. The failing file holds `queue_size` records (50,000) and "
        "drops the oldest after that, which is the most dual_log's queue ever holds.",
    ]
    return "\n".join([head, *rows, *notes])


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB: ``VmHWM``, whose count starts at exec.

    Not ``ru_maxrss``: Linux carries it over an exec from the process that forked, so a
    small child of a larger parent reports the parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: the best there is


def main(argv: list[str]) -> None:
    """One process: ``CONFIG FOLDER N RESULT``."""
    key, folder, count, result = argv
    n = int(count)
    failing = key == "dual_log_failing"
    if failing:
        folder = os.path.join(folder, "missing")  # never made: the volume is not there
    config = "stdout" if key == "stdout" else "dual_log"
    _plain, call, _settle, finish = _calls.build(config, folder)
    for _ in range(n):
        call()
    data: dict[str, Any] = {"peak_rss_kib": peak_rss_kib()}
    if key != "stdout":
        import logging

        import dual_log

        file = next(h for h in logging.getLogger().handlers if isinstance(h, dual_log.FileHandler))
        if not failing:
            file.flush(60.0)
        data.update(file.stats())
    with open(result, "w", encoding="utf-8") as out:
        json.dump(data, out)
    if failing:  # closing gives the held records up, after trying the missing folder again
        os._exit(0)
    finish()


if __name__ == "__main__":
    main(sys.argv[1:])
