"""Tail latency: how long the slowest single log calls take, stdout only and dual_log.

Each process sets its configuration up, makes untimed calls, then times ``n`` calls of
each of the two calls of ``_calls`` (plain, and with two extra fields), taking turns one
by one, each timed on its own (``time.perf_counter_ns`` around it); the 99th and 99.9th
percentiles and the count of calls over 1 ms come from all of them, for each call. stdout
goes to /dev/null, or to a pipe that a reader process drains, as a container's log
collector does. A round runs both configurations on both sinks in an order that turns
each round; each figure is the median over rounds.

    python -m benchmarks._tail CONFIG FOLDER N WARMUP RESULT   (one process)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from array import array
from typing import Any

from benchmarks import _calls, _child

TIMEOUT = 600.0
CONFIGS = {"stdout": "stdout only (StreamHandler)", "dual_log": "dual_log default"}
SINKS = {"devnull": "/dev/null", "pipe": "a pipe, drained by a reader process"}
SLOW_NS = 1_000_000
CALL_NAMES = {"plain": "plain", "extras": "two extra fields"}
# The reader at the other end of the pipe: reads what comes, as fast as it comes.
_DRAIN = "import os\nwhile os.read(0, 1 << 16):\n    pass\n"


def run(*, n: int, rounds: int, warmup: int, progress: Any = None) -> dict[str, Any]:
    """``rounds`` interleaved rounds of each configuration on each sink; medians."""
    pairs = [(sink, key) for sink in SINKS for key in CONFIGS]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-tail-") as scratch:
        for round_no in range(rounds):
            turn = round_no % len(pairs)
            for sink, key in pairs[turn:] + pairs[:turn]:
                name = f"{sink}-{key}-{round_no}"
                runs[(sink, key)].append(_one(key, sink, n, warmup, scratch, name))
                if progress:
                    progress(f"tail round {round_no + 1}/{rounds}: {key} on {sink}")
    rows = []
    for (sink, key), results in runs.items():
        for call in _calls.CALLS:
            row: dict[str, Any] = {"sink": sink, "key": key, "call": call}
            row["label"] = CONFIGS[key]
            for measure in ("p50_us", "p99_us", "p999_us", "max_us", "slow"):
                row[measure] = statistics.median(r[call][measure] for r in results)
            row["slow_runs"] = [r[call]["slow"] for r in results]
            row["stderr"] = sorted({r["stderr"] for r in results if r["stderr"]})
            rows.append(row)
    return {"n": n, "rounds": rounds, "warmup": warmup, "rows": rows}


def _one(key: str, sink: str, n: int, warmup: int, scratch: str, name: str) -> dict[str, Any]:
    folder = os.path.join(scratch, name)
    os.mkdir(folder)
    result = os.path.join(scratch, name + ".json")
    reader = None
    if sink == "pipe":
        read_end, write_end = os.pipe()
        reader = subprocess.Popen([sys.executable, "-c", _DRAIN], stdin=read_end)
        os.close(read_end)
        stdout: int = write_end
    else:
        stdout = subprocess.DEVNULL
    try:
        return _child.measure(
            "benchmarks._tail",
            [key, folder, str(n), str(warmup), result],
            what=f"tail run of {key} on {sink}",
            result=result,
            timeout=TIMEOUT,
            stdout=stdout,
        )
    finally:
        if reader is not None:
            os.close(stdout)
            reader.wait(TIMEOUT)


def table(result: dict[str, Any]) -> str:
    """Percentiles and slow calls per sink and configuration."""
    head = (
        "| stdout to | Configuration | call | p50 µs | p99 µs | p99.9 µs | max µs "
        "| calls over 1 ms (each round) |\n|---|---|---|--:|--:|--:|--:|--:|"
    )
    rows = [
        f"| {SINKS[r['sink']]} | {r['label']} | {CALL_NAMES[r['call']]} | {r['p50_us']:.1f} "
        f"| {r['p99_us']:.1f} "
        f"| {r['p999_us']:.1f} | {r['max_us']:,.0f} | {r['slow']:g} "
        f"({', '.join(str(s) for s in r['slow_runs'])}) |"
        for r in result["rows"]
    ]
    notes = [
        "",
        f"{result['n']:,} calls of each kind timed one by one (`perf_counter_ns` around "
        f"each), the two kinds taking turns, after {result['warmup']:,} untimed ones; median "
        f"of {result['rounds']} interleaved rounds, each in a fresh process.",
    ]
    return "\n".join([head, *rows, *notes])


def main(argv: list[str]) -> None:
    """One process: ``CONFIG FOLDER N WARMUP RESULT``."""
    import gc
    import time

    key, folder, count, warmup_text, result = argv
    n, warmup = int(count), int(warmup_text)
    plain, extras, settle, finish = _calls.build(key, folder)
    for _ in range(warmup):
        plain()
        extras()
    settle()
    gc.collect()
    plain_times, extras_times = array("q", bytes(8 * n)), array("q", bytes(8 * n))
    clock = time.perf_counter_ns
    for i in range(n):
        start = clock()
        plain()
        middle = clock()
        extras()
        plain_times[i], extras_times[i] = middle - start, clock() - middle
    finish()
    data = {"plain": _summary(plain_times), "extras": _summary(extras_times)}
    with open(result, "w", encoding="utf-8") as out:
        json.dump(data, out)


def _summary(times: array[int]) -> dict[str, float]:
    n = len(times)
    ordered = sorted(times)
    return {
        "p50_us": ordered[n // 2] / 1000,
        "p99_us": ordered[min(n - 1, n * 99 // 100)] / 1000,
        "p999_us": ordered[min(n - 1, n * 999 // 1000)] / 1000,
        "max_us": ordered[-1] / 1000,
        "slow": sum(1 for t in times if t > SLOW_NS),
    }


if __name__ == "__main__":
    main(sys.argv[1:])
