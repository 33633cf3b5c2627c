"""The application the fault suite runs: it logs records with unique ids through dual_log.

Run as ``python app.py '<json config>'``. It calls ``dual_log.setup(**config["options"])``,
then reads one JSON command a line from stdin and answers each on the file descriptor
``config["ack_fd"]`` with one JSON line, so a test can put a real fault (a mount, a full
disk, a signal) between two commands. Every record is ``record <id>`` with ``extra={"rid":
<id>}``: the test finds each id on stdout and in the JSON file, and compares what is
missing with what dual_log says it missed.

Commands (``op``):
    log      ``tag``, ``count``, ``threads``, ``pad``, ``flush``: log ids ``<tag><n>`` (split
             over threads), then wait until the file has them (unless ``flush`` is false).
    recover  ``tag``, ``timeout``: log a record every 20 ms until the file sink stops failing;
             answers how many records that took and how long.
    burst    ``tag``, ``count``: log as fast as possible, answering first, then logging
             (for signals sent in the middle of a burst).
    fork     ``tag``, ``before``, ``children``, ``count``, ``threads``: log ``before`` records
             without waiting for them, fork without exec; parent and children log;
             answers the children's exit codes and counters.
    close_stdout: close ``sys.stdout``, as a daemonising app may.
    counters: answers the sinks' counters now.
    exit     flush, answer the counters, then return from main (normal interpreter exit).
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

import dual_log
from dual_log._write import lifecycle as _lifecycle

LOGGER = logging.getLogger("fault.app")


def log_ids(tag: str, count: int, threads: int = 1, pad: int = 0) -> None:
    """Log ``count`` records with ids ``<tag>0`` .. ``<tag><count-1>``, over ``threads``."""
    filler = "x" * pad

    def work(start: int) -> None:
        for n in range(start, count, threads):
            rid = f"{tag}{n}"
            LOGGER.info("record %s", rid, extra={"rid": rid, "pad": filler})

    if threads <= 1:
        work(0)
        return
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def counters(log: dual_log.DualLog) -> dict[str, Any]:
    """The sinks' counters as the application can read them."""
    return {
        "pid": os.getpid(),
        "file_written": log.file_written,
        "file_missed": log.file_missed,
        "file_dropped": log.file_handler.dropped,
        "file_failing": log.file_handler.failing,
        "stdout_written": log.stdout_written,
        "stdout_missed": log.stdout_missed,
        "file_errors": log.file_handler.errors,
    }


def recover(log: dual_log.DualLog, tag: str, timeout: float) -> dict[str, Any]:
    """Log a record every 20 ms until the file sink writes again; say how long it took."""
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < timeout:
        rid = f"{tag}{n}"
        n += 1
        LOGGER.info("record %s", rid, extra={"rid": rid, "pad": ""})
        log.flush(5.0)
        if not log.file_handler.failing:
            return {"recovered": True, "records": n, "seconds": time.monotonic() - start}
        time.sleep(0.02)
    return {"recovered": False, "records": n, "seconds": time.monotonic() - start}


def fork_and_log(log: dual_log.DualLog, command: dict[str, Any]) -> dict[str, Any]:
    """Fork children (no exec) that log, while the parent logs too; collect their results."""
    tag = command["tag"]
    count = command["count"]
    threads = command.get("threads", 1)
    # Records still queued at fork(): the parent's to write, never the children's too.
    log_ids(f"{tag}pre-", command.get("before", 0))
    reports = []
    pids = []
    for child in range(command["children"]):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: log, report its own counters, exit as a gunicorn worker does
            os.close(read_end)
            code = 0
            try:
                log_ids(f"{tag}c{child}-", count, threads)
                log.flush(10.0)
                os.write(write_end, json.dumps(counters(log)).encode())
            except BaseException:
                code = 1
            finally:
                os.close(write_end)
            sys.exit(code)
        os.close(write_end)
        pids.append((pid, read_end))
    log_ids(f"{tag}p-", count, threads)
    for pid, read_end in pids:
        data = b""
        while chunk := os.read(read_end, 65536):
            data += chunk
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        reports.append(
            {"status": os.waitstatus_to_exitcode(status), "counters": json.loads(data or b"{}")}
        )
    return {"children": reports}


def install_prior_handlers(marker: str) -> None:
    """Handlers the application had before dual_log: they must still run, after the flush."""

    def on_signal(signum: int, frame: object) -> None:
        with open(marker, "a") as out:
            out.write(f"{signal.Signals(signum).name}\n")
        sys.exit(70 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)


def watch_signal_flush(report: str) -> None:
    """Record how many records were queued when a signal arrived, and that all got written."""
    flush_all = _lifecycle.flush_all

    def measured(timeout: float = _lifecycle.SIGNAL_FLUSH_SECONDS) -> None:
        pending = sum(h._writer.pending for h in list(_lifecycle._live) if h._writer is not None)
        flush_all(timeout)
        left = sum(h._writer.pending for h in list(_lifecycle._live) if h._writer is not None)
        fd = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, json.dumps({"queued_at_signal": pending, "left_after_flush": left}).encode())
        os.close(fd)

    _lifecycle.flush_all = measured  # type: ignore[assignment]


def signal_mid_rotation(nth: int, name: str = "SIGKILL") -> None:
    """Send this process ``name`` inside its ``nth`` rotation, right after the live file
    became ``app.log.1`` and before a new one exists, with the rotation lock held: the
    worst moment a worker can die (or stop)."""
    signum = signal.Signals[name]
    rename = os.rename
    seen = [0]

    def renaming(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        rename(source, target, *args, **kwargs)
        if os.fspath(target).endswith(".log.1") and not os.fspath(source).endswith(".gz"):
            seen[0] += 1
            if seen[0] == nth:
                os.kill(os.getpid(), signum)

    os.rename = renaming  # type: ignore[assignment]


def break_write_path(nth: int) -> None:
    """Raise an exception that is no OSError inside the write path, once, at its ``nth``
    batch: what a bug of dual_log's own would do."""
    from dual_log._write.logfile import LogFile

    follow = LogFile._follow_path
    seen = [0]

    def following(self: LogFile) -> Any:
        seen[0] += 1
        if seen[0] == nth:
            raise RuntimeError("injected into the write path")
        return follow(self)

    LogFile._follow_path = following  # type: ignore[method-assign]


def main() -> int:
    # A hung run's test sends SIGUSR1 before killing it: every thread's stack to stderr.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    config = json.loads(sys.argv[1])
    ack = os.fdopen(config["ack_fd"], "w", buffering=1)
    if config.get("prior_handlers"):
        install_prior_handlers(config["prior_handlers"])
    if config.get("signal_report"):
        watch_signal_flush(config["signal_report"])
    if config.get("signal_mid_rotation"):
        signal_mid_rotation(*config["signal_mid_rotation"])
    if config.get("break_write_path"):
        break_write_path(config["break_write_path"])
    log = dual_log.setup(**config["options"])

    def answer(payload: dict[str, Any]) -> None:
        ack.write(json.dumps(payload) + "\n")

    answer({"ready": True, **counters(log)})
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "log":
            threads, pad = command.get("threads", 1), command.get("pad", 0)
            log_ids(command["tag"], command["count"], threads, pad)
            if command.get("flush", True):
                log.flush(10.0)
            answer(counters(log))
        elif op == "recover":
            answer({**recover(log, command["tag"], command.get("timeout", 15.0)), **counters(log)})
        elif op == "burst":
            answer({"bursting": True})
            log_ids(command["tag"], command["count"])
            answer(counters(log))
        elif op == "fork":
            answer({**fork_and_log(log, command), **counters(log)})
        elif op == "close_stdout":
            sys.stdout.close()
            answer(counters(log))
        elif op == "counters":
            answer(counters(log))
        elif op == "exit":
            log.flush(10.0)
            answer(counters(log))
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
