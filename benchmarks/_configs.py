"""The logging configurations compared, each built the way its documentation shows.

Every configuration writes the same record, ``%(asctime)s %(levelname)s %(name)s
%(message)s`` on stdout, to stdout and (except the baseline) to a file rotating at
``max_bytes`` in ``folder``. ``build`` returns the function the benchmark calls once per
record and a ``finish`` that flushes and closes, so a queued record counts as written
only once ``finish`` returns.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # dual_log's TEXT_FORMAT
LOGURU_FORMAT = "{time:YYYY-MM-DD HH:mm:ss,SSS} {level} {name} {message}"
LOGGER_NAME = "bench"
# The message every configuration logs: a worker number, a sequence number and a
# payload, so a line read back names exactly one record and shows whether it is whole.
PAYLOAD = "p" * 40
STDLIB_TEMPLATE = "record %d %d payload=%s"
LOGURU_TEMPLATE = "record {} {} payload={}"
# Enough rotated files that no configuration deletes a record by rotating it out.
KEEP = 1000


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration: its key, its label in the tables, and the file it writes."""

    key: str
    label: str
    file_format: str | None  # "text", "json" or None (no file)
    baseline: bool = False
    queued: bool = False
    informative: bool = False  # shown, but not one of the compared configurations


CONFIGS = (
    Config("stdout", "stdout only (StreamHandler)", None, baseline=True),
    Config("stdlib", "stdout + stdlib RotatingFileHandler", "text"),
    Config("clh", "stdout + ConcurrentRotatingFileHandler", "text"),
    Config("loguru", "loguru: stdout sink + rotating file sink", "text"),
    Config("dual_queue_json", "dual_log queue=True, JSON file (default)", "json", queued=True),
    Config("dual_queue_text", "dual_log queue=True, text file", "text", queued=True),
    Config("dual_direct_json", "dual_log queue=False, JSON file", "json"),
    Config("dual_direct_text", "dual_log queue=False, text file", "text"),
    Config("dual_stdout", "dual_log StdoutHandler alone (no file)", None, informative=True),
)
BY_KEY = {c.key: c for c in CONFIGS}
LOG_NAME = "app.log"


def build(
    key: str, folder: str, max_bytes: int
) -> tuple[Callable[..., Any], str, Callable[[], dict[str, int]]]:
    """Set up configuration ``key``; return (log call, its message template, finish).

    ``finish`` flushes and closes; it returns counters the library itself reports
    (records it says it missed), or an empty dict where it reports none.
    """
    path = os.path.join(folder, LOG_NAME)
    if key == "loguru":
        return _loguru(path, max_bytes)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    finish: Callable[[], dict[str, int]] = _close_root
    if key.startswith("dual_") and key != "dual_stdout":
        finish = _dual_log(key, path, max_bytes)
    else:
        if key == "dual_stdout":
            from dual_log import StdoutHandler

            root.addHandler(StdoutHandler())
        else:
            stdout = logging.StreamHandler(sys.stdout)
            stdout.setFormatter(logging.Formatter(TEXT_FORMAT))
            root.addHandler(stdout)
        file: logging.Handler | None = None
        if key == "stdlib":
            from logging.handlers import RotatingFileHandler

            file = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=KEEP)
        elif key == "clh":
            from concurrent_log_handler import ConcurrentRotatingFileHandler

            file = ConcurrentRotatingFileHandler(path, maxBytes=max_bytes, backupCount=KEEP)
        if file is not None:
            file.setFormatter(logging.Formatter(TEXT_FORMAT))
            root.addHandler(file)
    return logging.getLogger(LOGGER_NAME).info, STDLIB_TEMPLATE, finish


def _close_root() -> dict[str, int]:
    close_root()
    return {}


def close_root() -> None:
    """Flush, detach and close every handler of the root logger."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        handler.flush()
        root.removeHandler(handler)
        handler.close()


def flush_root() -> None:
    """Flush every handler of the root logger: dual_log's waits for its writer thread."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def count_lines(folder: str) -> int:
    """Lines in the log files of ``folder`` (lock and hidden files left out)."""
    count = 0
    for name in os.listdir(folder):
        if name.startswith(".") or name.endswith(".lock"):
            continue
        with open(os.path.join(folder, name), "rb") as file:
            while chunk := file.read(1 << 20):
                count += chunk.count(b"\n")
    return count


def _dual_log(key: str, path: str, max_bytes: int) -> Callable[[], dict[str, int]]:
    import dual_log

    log = dual_log.setup(
        path=path,
        max_bytes=max_bytes,
        keep=KEEP,
        queue=BY_KEY[key].queued,
        file_format=BY_KEY[key].file_format,
        platform_fields=False,
        handle_signals=False,
    )

    def finish() -> dict[str, int]:
        flushed = log.flush(60.0)
        log.close()
        return {
            "file_written": log.file_written,
            "file_missed": log.file_missed,
            "stdout_missed": log.stdout_missed,
            "flush_timed_out": int(not flushed),
        }

    return finish


def _loguru(
    path: str, max_bytes: int
) -> tuple[Callable[..., Any], str, Callable[[], dict[str, int]]]:
    from loguru import logger

    logger.remove()
    logger.add(sys.stdout, format=LOGURU_FORMAT, level="INFO")
    logger.add(path, format=LOGURU_FORMAT, level="INFO", rotation=max_bytes)
    bound = logger.bind()

    def finish() -> dict[str, int]:
        logger.complete()
        logger.remove()
        return {}

    return bound.info, LOGURU_TEMPLATE, finish
