"""The background writer: everything queued is written, memory is bounded, overflow is counted."""

from __future__ import annotations

import fcntl
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dual_log
from dual_log import _lifecycle
from tests.conftest import ROOT
from tests.helpers.logfiles import read_records


def _record(n: int) -> logging.LogRecord:
    return logging.LogRecord("queue", logging.INFO, "f", 1, "record %d", (n,), None)


def test_interpreter_exit_writes_everything_queued(log_path: Path) -> None:
    """A program that logs a burst and simply ends leaves every record in the file."""
    code = (
        "import logging, dual_log; "
        f"dual_log.setup(path={str(log_path)!r}, stdout=False); "
        "log = logging.getLogger('exit'); "
        "[log.info('r%d', i) for i in range(20000)]"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    records, torn = read_records(log_path)
    assert torn == []
    assert [r["message"] for r in records] == [f"r{i}" for i in range(20000)]


def test_records_after_close_are_written_directly(log_path: Path) -> None:
    """A record that arrives after close() (logging during exit) is written, not lost."""
    handler = dual_log.FileHandler(log_path)
    handler.handle(_record(1))
    handler.close()
    handler.handle(_record(2))
    assert [r["message"] for r in read_records(log_path)[0]] == ["record 1", "record 2"]
    assert handler.written == 2
    handler._file.close()


def test_full_queue_drops_after_timeout_and_counts_honestly(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the writer stuck on a held lock, a full queue drops, counts and says so once."""
    handler = dual_log.FileHandler(log_path, queue_size=50, queue_timeout=0.2)
    handler.handle(_record(-1))  # opens the file and its lock file
    assert handler.flush()
    lock_path = log_path.parent / ".__app.lock"
    with lock_path.open("r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's writer would hold it like this
        started = time.monotonic()
        for n in range(300):
            handler.handle(_record(n))
        blocked_for = time.monotonic() - started
        dropped = handler.dropped
        fcntl.flock(lock, fcntl.LOCK_UN)
    handler.close()
    records, torn = read_records(log_path)
    written = {int(r["message"].split()[1]) for r in records}
    assert torn == []
    assert dropped > 0
    assert len(written) == 301 - dropped
    assert handler.missed == dropped == 301 - len(written)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dual_log")]
    assert lines == [
        f"dual_log: the queue for the log file {log_path} is full (50 records): its writer is "
        "not keeping up, so records are dropped and counted. They still go to stdout.",
        f"dual_log: the queue for the log file {log_path} has room again; "
        f"{dropped} records were dropped meanwhile.",
    ]
    # Not a speed check: waiting queue_timeout per record would take 58 s or more; the
    # policy waits once, then drops at once while the writer is stalled.
    assert blocked_for < (300 - 50) * 0.2


def test_burst_larger_than_the_queue_waits_instead_of_dropping(log_path: Path) -> None:
    """A burst 100 times the queue size is slowed to the writer's pace, not dropped."""
    handler = dual_log.FileHandler(log_path, queue_size=20, queue_timeout=5)
    for n in range(2000):
        handler.handle(_record(n))
    handler.close()
    assert handler.dropped == 0
    assert len(read_records(log_path)[0]) == 2000


def test_synchronous_mode_writes_before_the_call_returns(log_path: Path) -> None:
    """queue=False: the record is in the file when the log call returns."""
    handler = dual_log.FileHandler(log_path, queue=False)
    handler.handle(_record(7))
    assert [r["message"] for r in read_records(log_path)[0]] == ["record 7"]
    assert not handler.queued
    handler.close()


def test_file_handler_can_install_the_signal_flush(log_path: Path) -> None:
    """handle_signals=True installs the SIGTERM/SIGINT flush; the default does not."""
    dual_log.FileHandler(log_path).close()
    assert signal.getsignal(signal.SIGTERM) is not _lifecycle._on_signal
    handler = dual_log.FileHandler(log_path, handle_signals="true")
    assert signal.getsignal(signal.SIGTERM) is _lifecycle._on_signal
    assert signal.getsignal(signal.SIGINT) is _lifecycle._on_signal
    handler.close()
