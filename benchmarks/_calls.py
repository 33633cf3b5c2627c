"""Per call, the two calls a web application makes: plain, and with two extra fields.

    log.info("request %s done", arg)
    log.info("request %s done", arg, extra={"user_id": 4217, "route": "/cart"})

Each configuration runs in a fresh process with stdout to /dev/null; a round runs every
configuration once, in an order that turns each round, so a burst of load on the shared
machine falls on all of them alike. Inside a process the two calls take turns in blocks
of ``block`` calls, so they too meet the same load. What is timed is the CPU time of the
calling thread (``time.thread_time``): the cost the application pays where it logs (a
queued file's writing, done by dual_log's writer thread, is not in it).

A configuration's ratio is taken to the lone stdout handler of the same round (paired),
and the table shows the median of those ratios and their range.

    python -m benchmarks._calls CONFIG FOLDER N BLOCK WARMUP RESULT   (one process)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from benchmarks import _child, _configs

if TYPE_CHECKING:
    from collections.abc import Callable

TIMEOUT = 300.0
ARG = "7f3a9c"
EXTRA = {"user_id": 4217, "route": "/cart"}
CALLS = ("plain", "extras")
# key -> label; the first is the baseline every ratio divides by.
CONFIGS = {
    "stdout": "stdout only (StreamHandler)",
    "dual_log": "dual_log default (`dual_log.setup(path=...)`)",
    "pjl": "stdout + RotatingFileHandler with python-json-logger",
    "clh": "stdout + ConcurrentRotatingFileHandler with python-json-logger",
    "loguru": "loguru: stdout sink + rotating JSON file sink (`serialize=True`)",
    "structlog": "structlog on logging: stdout key=value + rotating JSON file",
}
DUAL_LOG = "dual_log"
MAX_BYTES = 10 * 1024 * 1024  # dual_log's default: no rotation in a run


def run(
    *, n: int, block: int, rounds: int, warmup: int, configs: list[str], progress: Any = None
) -> dict[str, Any]:
    """``rounds`` interleaved rounds of every configuration; paired ratios to stdout only."""
    keys = [k for k in CONFIGS if k in configs or k == "stdout"]
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-calls-") as scratch:
        for round_no in range(rounds):
            turn = round_no % len(keys)
            for key in keys[turn:] + keys[:turn]:
                runs[key].append(_one(key, n, block, warmup, scratch, f"{key}-{round_no}"))
                if progress:
                    progress(f"calls round {round_no + 1}/{rounds}: {key}")
    rows = []
    for key, results in runs.items():
        row: dict[str, Any] = {"key": key, "label": CONFIGS[key]}
        for call in CALLS:
            us = [r[call] for r in results]
            paired = [
                mine[call] / base[call] for mine, base in zip(results, runs["stdout"], strict=True)
            ]
            row[call] = {
                "us": statistics.median(us),
                "ratio": statistics.median(paired),
                "low": min(paired),
                "high": max(paired),
            }
        row["file_lines"] = min(r["file_lines"] for r in results)
        row["stderr"] = sorted({r["stderr"] for r in results if r["stderr"]})
        rows.append(row)
    return {"n": n, "block": block, "rounds": rounds, "warmup": warmup, "rows": rows}


def _one(key: str, n: int, block: int, warmup: int, scratch: str, name: str) -> dict[str, Any]:
    folder = os.path.join(scratch, name)
    os.mkdir(folder)
    result = os.path.join(scratch, name + ".json")
    out = _child.measure(
        "benchmarks._calls",
        [key, folder, str(n), str(block), str(warmup), result],
        what=f"calls run of {key}",
        result=result,
        timeout=TIMEOUT,
    )
    out["file_lines"] = _configs.count_lines(folder)
    return out


def table(result: dict[str, Any]) -> str:
    """Both calls' CPU time per configuration, and the paired ratios to stdout only."""
    head = (
        '| Configuration | `info("request %s done", arg)` µs | ratio (range) '
        "| the same with two extra fields, µs | ratio (range) | file lines |\n"
        "|---|--:|--:|--:|--:|--:|"
    )
    expected = (result["n"] + result["warmup"]) * len(CALLS)
    rows = []
    for row in result["rows"]:
        cells = [row["label"]]
        for call in CALLS:
            m = row[call]
            cells += [f"{m['us']:.2f}", f"{m['ratio']:.2f}x ({m['low']:.2f}-{m['high']:.2f})"]
        lines = "—" if row["key"] == "stdout" else f"{row['file_lines']}/{expected}"
        rows.append("| " + " | ".join([*cells, lines]) + " |")
    notes = [
        "",
        f"CPU time of the calling thread per call; {result['n']} calls of each kind per "
        f"process, in alternating blocks of {result['block']}, after {result['warmup']} "
        f"untimed ones of each; {result['rounds']} interleaved rounds, each configuration "
        "in a fresh process with stdout to /dev/null. Ratio: the median of each round's "
        "time over the same round's stdout-only time (the range in brackets). Extra fields: "
        f"`extra={EXTRA}` (loguru and structlog: the same as keyword arguments).",
    ]
    return "\n".join([head, *rows, *notes])


# One process --------------------------------------------------------------------------


def build(key: str, folder: str) -> tuple[Callable[[], None], Callable[[], None], Any, Any]:
    """Set ``key`` up; return the plain call, the call with extras, a settle (everything
    logged so far written) and a finish (flushed and closed)."""
    import logging

    path = os.path.join(folder, _configs.LOG_NAME)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if key == "loguru":
        from loguru import logger

        logger.remove()
        logger.add(sys.stdout, format=_configs.LOGURU_FORMAT, level="INFO")
        logger.add(path, level="INFO", rotation=MAX_BYTES, serialize=True)
        bound = logger.bind()
        return (
            lambda: bound.info("request {} done", ARG),
            lambda: bound.info("request {} done", ARG, **EXTRA),
            logger.complete,
            logger.remove,
        )
    if key == "structlog":
        return _structlog(path)
    if key == DUAL_LOG:
        import dual_log

        dual_log.setup(path=path)
    else:
        stdout = logging.StreamHandler(sys.stdout)
        stdout.setFormatter(logging.Formatter(_configs.TEXT_FORMAT))
        root.addHandler(stdout)
        if key in ("pjl", "clh"):
            from pythonjsonlogger.json import JsonFormatter

            file: logging.Handler
            if key == "pjl":
                from logging.handlers import RotatingFileHandler

                file = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=5)
            else:
                from concurrent_log_handler import ConcurrentRotatingFileHandler

                file = ConcurrentRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=5)
            file.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
            root.addHandler(file)
    info = logging.getLogger(_configs.LOGGER_NAME).info
    return (
        lambda: info("request %s done", ARG),
        lambda: info("request %s done", ARG, extra=EXTRA),
        _configs.flush_root,
        _configs.close_root,
    )


def _structlog(path: str) -> tuple[Callable[[], None], Callable[[], None], Any, Any]:
    """structlog's documented way to render into logging's handlers (ProcessorFormatter)."""
    import logging
    from logging.handlers import RotatingFileHandler

    import structlog

    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler, renderer in (
        (logging.StreamHandler(sys.stdout), structlog.processors.KeyValueRenderer()),
        (
            RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=5),
            structlog.processors.JSONRenderer(),
        ),
    ):
        handler.setFormatter(structlog.stdlib.ProcessorFormatter(processor=renderer))
        root.addHandler(handler)
    log = structlog.get_logger(_configs.LOGGER_NAME)
    return (
        lambda: log.info("request %s done", ARG),
        lambda: log.info("request %s done", ARG, **EXTRA),
        _configs.flush_root,
        _configs.close_root,
    )


def _time_blocks(
    calls: dict[str, Callable[[], None]], n: int, block: int, warmup: int, settle: Any
) -> dict[str, float]:
    """CPU seconds of the calling thread for ``n`` calls of each kind, in alternating blocks."""
    import gc

    for call in calls.values():
        for _ in range(warmup):
            call()
    settle()
    gc.collect()
    spent = dict.fromkeys(calls, 0.0)
    clock = time.thread_time
    done = 0
    while done < n:
        size = min(block, n - done)
        for name, call in calls.items():
            start = clock()
            for _ in range(size):
                call()
            spent[name] += clock() - start
        done += size
    return spent


def main(argv: list[str]) -> None:
    """One process: ``CONFIG FOLDER N BLOCK WARMUP RESULT``."""
    key, folder, n, block, warmup, result = argv
    plain, extras, settle, finish = build(key, folder)
    spent = _time_blocks(
        {"plain": plain, "extras": extras}, int(n), int(block), int(warmup), settle
    )
    finish()
    data = {call: seconds / int(n) * 1e6 for call, seconds in spent.items()}
    with open(result, "w", encoding="utf-8") as out:
        json.dump(data, out)


if __name__ == "__main__":
    main(sys.argv[1:])
