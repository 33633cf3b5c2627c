"""Per-call cost: what one ``log.info(...)`` costs the thread that calls it.

Each round starts one process per configuration, in turn, so that a burst of load on
the machine hits every configuration of a round alike; each process sets its
configuration up, logs ``warmup`` untimed records, waits for its file to be written,
then times ``n`` calls. Three times are kept per call:

- ``cpu``: CPU time of the calling thread (``time.thread_time``) during the calls. This
  is the cost in the calling thread: a queued file's writing, done by dual_log's writer
  thread, is not in it.
- ``wall``: wall time of the calls. With a queue, the writer thread runs during the
  calls and holds the GIL part of the time, so this includes part of its work.
- ``total``: wall time of the calls plus the final flush and close: every record on
  disk. This is the whole cost, wherever it is paid.

Ratios divide a configuration's median by the stdout-only median of the same run.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from typing import Any

from benchmarks import _child, _configs

TIMEOUT = 300.0


def run(
    *, n: int, rounds: int, warmup: int, configs: list[str], progress: Any = None
) -> dict[str, Any]:
    """Run ``rounds`` rounds of every configuration; return per-run times and medians."""
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in configs}
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-") as scratch:
        for round_no in range(rounds):
            for key in configs:
                runs[key].append(_one(key, n, warmup, scratch, f"{key}-{round_no}"))
                if progress:
                    progress(f"per-call round {round_no + 1}/{rounds}: {key}")
    return {"n": n, "rounds": rounds, "warmup": warmup, "rows": summarize(runs)}


def _one(key: str, n: int, warmup: int, scratch: str, name: str) -> dict[str, Any]:
    folder = os.path.join(scratch, name)
    os.mkdir(folder)
    result = os.path.join(scratch, name + ".json")
    out = _child.measure(
        "benchmarks._worker",
        ["percall", key, folder, str(n), str(warmup), result],
        what=f"per-call run of {key}",
        result=result,
        timeout=TIMEOUT,
    )
    config = _configs.BY_KEY[key]
    if config.file_format is not None:
        out["file_lines"] = _configs.count_lines(folder)
    return out


def summarize(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Median microseconds per call of each measure, and its ratio to the baseline's."""
    medians: dict[str, dict[str, float]] = {}
    for key, results in runs.items():
        medians[key] = {
            measure: statistics.median(r[f"{measure}_s"] / r["n"] * 1e6 for r in results)
            for measure in ("calls_cpu", "calls", "total")
        }
    base_key = next(c.key for c in _configs.CONFIGS if c.baseline)
    base = medians.get(base_key)
    rows = []
    for key, results in runs.items():
        config = _configs.BY_KEY[key]
        row: dict[str, Any] = {"key": key, "label": config.label, "queued": config.queued}
        for measure, us in medians[key].items():
            row[f"{measure}_us"] = us
            row[f"{measure}_ratio"] = us / base[measure] if base else None
        row["switches_per_1000"] = statistics.median(
            r.get("switches", 0) / r["n"] * 1000 for r in results
        )
        row["peak_rss_mib"] = statistics.median(r.get("peak_rss_kib", 0) / 1024 for r in results)
        expected = results[0]["n"] + results[0]["warmup"]
        if config.file_format is not None:
            row["file_lines_min"] = min(r["file_lines"] for r in results)
            row["file_lines_expected"] = expected
        row["stderr"] = sorted({r["stderr"].strip() for r in results if r["stderr"].strip()})
        rows.append(row)
    return rows


STAGE_LABELS = {
    "stdout": "stdout only (StreamHandler): the baseline",
    "dual_stdout": "dual_log's StdoutHandler and TextFormatter alone",
    "dispatch": "+ a FileHandler that is called and does nothing",
    "format": "+ the JSON line formatted and encoded, then dropped",
    "full": "+ the line queued and written by the writer thread: dual_log's default",
}


def breakdown(*, n: int, rounds: int, warmup: int, progress: Any = None) -> dict[str, Any]:
    """Calling-thread CPU time of dual_log's default set-up, cut off step by step."""
    from benchmarks._worker import STAGES

    cpu: dict[str, list[float]] = {stage: [] for stage in STAGES}
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-bd-") as scratch:
        for round_no in range(rounds):
            for stage in STAGES:
                name = f"{stage}-{round_no}"
                folder = os.path.join(scratch, name)
                os.mkdir(folder)
                result = os.path.join(scratch, name + ".json")
                out = _child.measure(
                    "benchmarks._worker",
                    ["breakdown", stage, folder, str(n), str(warmup), result],
                    what=f"breakdown stage {stage}",
                    result=result,
                    timeout=TIMEOUT,
                )
                cpu[stage].append(out["calls_cpu_s"] / out["n"] * 1e6)
                if progress:
                    progress(f"breakdown round {round_no + 1}/{rounds}: {stage}")
    rows = []
    base = statistics.median(cpu["stdout"])
    previous = None
    for stage in STAGES:
        us = statistics.median(cpu[stage])
        rows.append(
            {
                "stage": stage,
                "label": STAGE_LABELS[stage],
                "cpu_us": us,
                "ratio": us / base,
                "step_us": None if previous is None else us - previous,
            }
        )
        previous = us
    return {"n": n, "rounds": rounds, "warmup": warmup, "rows": rows}
