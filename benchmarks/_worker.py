"""One benchmark process: sets up one configuration, logs, and writes its timings as JSON.

Started by the benchmark command with stdout redirected to /dev/null or a file (never
a terminal), so writing to stdout costs what it costs in a container.

    python -m benchmarks._worker percall CONFIG FOLDER N WARMUP RESULT
    python -m benchmarks._worker multiproc CONFIG FOLDER N WORKER MAX_BYTES GO RESULT
    python -m benchmarks._worker breakdown STAGE FOLDER N WARMUP RESULT
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

from benchmarks import _configs
from benchmarks._memory import peak_rss_kib

PERCALL_MAX_BYTES = 10 * 1024 * 1024  # dual_log's default; no rotation in a per-call run


def percall(key: str, folder: str, n: int, warmup: int, result: str) -> None:
    """Time ``n`` log calls after ``warmup`` untimed ones; the file is flushed in between."""
    log, template, finish = _configs.build(key, folder, PERCALL_MAX_BYTES)
    start, calls, calls_cpu = _time_calls(log, template, n, warmup)
    counters = finish()
    total = time.perf_counter() - start
    _write(
        result,
        {
            "config": key,
            "n": n,
            "warmup": warmup,
            "calls_s": calls,
            "calls_cpu_s": calls_cpu,
            "switches": switches,
            "total_s": total,
            "counters": counters,
            # Peak resident memory of the whole run, imports included (KiB).
            "peak_rss_kib": peak_rss_kib(),
        },
    )


# Stages of the breakdown: dual_log's default set-up with its file handler's work cut off
# at successive points, to see what each step costs the calling thread.
STAGES = ("stdout", "dual_stdout", "dispatch", "format", "full")


def _breakdown_setup(stage: str, folder: str) -> None:
    import logging

    import dual_log

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if stage == "stdout":
        plain = logging.StreamHandler(sys.stdout)
        plain.setFormatter(logging.Formatter(_configs.TEXT_FORMAT))
        root.addHandler(plain)
        return
    root.addHandler(dual_log.StdoutHandler())
    if stage == "dual_stdout":
        return
    file = dual_log.FileHandler(os.path.join(folder, _configs.LOG_NAME), keep=_configs.KEEP)
    file.setFormatter(dual_log.JsonFormatter(platform_fields=False))
    if stage == "dispatch":  # the handler is called, and does nothing
        file.emit = lambda record: None  # type: ignore[method-assign]
    elif stage == "format":  # the line is formatted and encoded, then dropped unqueued
        file._writer.put = lambda line: None  # type: ignore[method-assign]
    root.addHandler(file)


def breakdown(stage: str, folder: str, n: int, warmup: int, result: str) -> None:
    """Time ``n`` calls with dual_log's default set-up cut off at ``stage``."""
    import logging

    _breakdown_setup(stage, folder)
    log = logging.getLogger(_configs.LOGGER_NAME).info
    _, calls, calls_cpu = _time_calls(log, _configs.STDLIB_TEMPLATE, n, warmup)
    _flush_queue()
    _write(result, {"stage": stage, "n": n, "calls_s": calls, "calls_cpu_s": calls_cpu})


def _time_calls(log: Any, template: str, n: int, warmup: int) -> tuple[float, float, float]:
    """Make ``warmup`` untimed calls, let the writer catch up, then time ``n`` calls.

    Returns when the timed calls started (``perf_counter``), their wall time and the
    calling thread's CPU time, in seconds.
    """
    import gc

    payload = _configs.PAYLOAD
    for i in range(warmup):
        log(template, 0, i, payload)
    _flush_queue()
    gc.collect()
    global switches
    before = _switches()
    start_cpu = time.thread_time()
    start = time.perf_counter()
    for i in range(n):
        log(template, 1, i, payload)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    switches = _switches() - before
    return start, elapsed, cpu


# Context switches of the whole process during the last timed calls: a writer thread
# that wakes per record shows here as about one per call.
switches = 0


def _switches() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def _flush_queue() -> None:
    """Let dual_log's writer thread catch up, so the timed part starts with an empty queue."""
    import logging

    for handler in logging.getLogger().handlers:
        flush = getattr(handler, "flush", None)
        if flush is not None:
            flush()


def multiproc(
    key: str, folder: str, n: int, worker: int, max_bytes: int, go: str, result: str
) -> None:
    """Log ``n`` records numbered by ``worker`` once the file ``go`` exists; time it."""
    log, template, finish = _configs.build(key, folder, max_bytes)
    _write(result + ".ready", {})
    deadline = time.monotonic() + 120
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.001)
    start = time.time()
    payload = _configs.PAYLOAD
    for i in range(n):
        log(template, worker, i, payload)
    counters = finish()
    end = time.time()
    _write(result, {"config": key, "worker": worker, "start": start, "end": end, **counters})


def _write(path: str, data: dict[str, object]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out)
    os.replace(tmp, path)


def main(argv: list[str]) -> None:
    """Dispatch on the first argument, ``percall`` or ``multiproc``."""
    kind, *args = argv
    if kind == "percall":
        key, folder, n, warmup, result = args
        percall(key, folder, int(n), int(warmup), result)
    elif kind == "breakdown":
        stage, folder, n, warmup, result = args
        breakdown(stage, folder, int(n), int(warmup), result)
    elif kind == "multiproc":
        key, folder, n, worker, max_bytes, go, result = args
        multiproc(key, folder, int(n), int(worker), int(max_bytes), go, result)
    else:
        raise SystemExit(f"unknown benchmark kind {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
