"""The background writer: everything queued is written, memory is bounded, overflow is counted."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import dual_log
from dual_log._write import lifecycle as _lifecycle
from dual_log._write import writer as writer_module
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


def test_full_queue_drops_the_oldest_queued_and_counts_honestly(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the writer stuck on a held lock, a full queue drops its oldest, counts, says so once.

    What survives: the record the writer had taken before it got stuck, and the newest
    records beside it, ``queue_size`` in all; the middle of the outage goes.
    """
    handler = dual_log.FileHandler(log_path, queue_size=50, queue_timeout=0.2)
    handler.handle(_record(-1))  # opens the file and its lock file
    assert handler.flush()
    lock_path = log_path.parent / ".__app.lock"
    with lock_path.open("r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's writer would hold it like this
        handler.handle(_record(0))
        assert not handler.flush(timeout=0.5)  # the writer has record 0 and waits for the lock
        started = time.monotonic()
        for n in range(1, 301):
            handler.handle(_record(n))
        blocked_for = time.monotonic() - started
        dropped = handler.dropped
        fcntl.flock(lock, fcntl.LOCK_UN)
    handler.close()
    records, torn = read_records(log_path)
    written = [int(r["message"].split()[1]) for r in records]
    assert torn == []
    assert dropped == 300 - 49  # record 0, held by the writer, is one of the 50
    assert written == [-1, 0, *range(252, 301)]
    assert handler.missed == dropped
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dual_log")]
    assert lines == [
        f"dual_log: the queue for the log file {log_path} is full (50 records): the oldest "
        "queued records are dropped and counted until it has room. They still go to stdout.",
        f"dual_log: the queue for the log file {log_path} has room again; "
        f"{dropped} records were dropped meanwhile.",
    ]
    # Not a speed check: waiting queue_timeout per record would take 50 s or more; the
    # policy waits once, then drops at once while the writer is stalled.
    assert blocked_for < (300 - 50) * 0.2


def test_records_are_held_through_a_fault_and_written_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder missing at start and created later: every record reaches the file, in order."""
    folder = tmp_path / "volume"
    handler = dual_log.FileHandler(folder / "app.log", queue=True)
    for n in range(100):
        handler.handle(_record(n))
        if n == 40:
            folder.mkdir()  # the volume is mounted while records keep coming
            time.sleep(0.6)  # past the first retries
    handler.close()
    records, torn = read_records(folder / "app.log")
    assert torn == []
    assert [r["message"] for r in records] == [f"record {n}" for n in range(100)]
    assert (handler.written, handler.missed) == (100, 0)
    err = capsys.readouterr().err
    assert err.count("is the volume mounted?") == 1
    assert err.count("held meanwhile are written now") == 1


def test_flush_of_a_failing_file_tries_it_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the writer waits out its backoff, flush() has the file tried at once and
    returns False when it still fails, rather than waiting for the next try: a SIGTERM's
    flush and close() never wait for a missing volume, and a volume back is written at once.
    (The backoff is made a minute long, so a flush that waited for it would be seen.)"""
    monkeypatch.setattr(writer_module, "FIRST_RETRY", 60.0)
    monkeypatch.setattr(writer_module, "LAST_RETRY", 60.0)
    folder = tmp_path / "volume"
    handler = dual_log.FileHandler(folder / "app.log", queue=True)
    writer = handler._writer
    assert isinstance(writer, writer_module.Writer)
    handler.handle(_record(0))
    assert handler.flush(timeout=120) is False  # the first try failed: held
    due = writer._retry_at
    for n in range(1, 4):
        handler.handle(_record(n))
        assert handler.flush(timeout=120) is False
        assert time.monotonic() < due  # tried and answered before the backoff ended
    folder.mkdir()
    assert handler.flush(timeout=120) is True
    assert time.monotonic() < due
    handler.close()
    records, _ = read_records(folder / "app.log")
    assert [r["message"] for r in records] == [f"record {n}" for n in range(4)]
    assert "is the volume mounted?" in capsys.readouterr().err


def test_writer_wakes_on_thresholds_not_per_record(log_path: Path) -> None:
    """The writer thread writes once per flush_interval or flush_bytes, not once per record."""
    handler = dual_log.FileHandler(log_path, flush_interval=0.3, flush_bytes="1MiB")
    for n in range(200):
        handler.handle(_record(n))
    time.sleep(0.05)
    assert handler.written == 0  # nothing written yet: under both thresholds
    time.sleep(0.6)
    assert handler.written == 200  # one wake-up after flush_interval wrote them all
    small_path = log_path.with_name("small.log")
    small = dual_log.FileHandler(small_path, flush_interval=30, flush_bytes=2000)
    for n in range(200):
        small.handle(_record(n))
    deadline = time.monotonic() + 5
    while small.written < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert small.written >= 150  # flush_bytes woke it long before the 30 s interval
    handler.close()
    small.close()


def test_write_soon_writes_what_is_queued_without_waiting_for_a_threshold(
    log_path: Path,
) -> None:
    """A caller that knows a burst has ended (the capture) has it written at once, with
    both thresholds far away; asking again with nothing queued changes nothing."""
    handler = dual_log.FileHandler(log_path, flush_interval=3600, flush_bytes="1GiB")
    for n in range(50):
        handler.write_line(b'{"n": %d}\n' % n)
    time.sleep(0.05)
    assert handler.written == 0
    handler.write_soon()
    deadline = time.monotonic() + 10
    while handler.written < 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handler.written == 50
    handler.write_soon()
    assert [r["n"] for r in read_records(log_path)[0]] == list(range(50))
    handler.close()
    assert handler.written == 50


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
    before = signal.getsignal(signal.SIGTERM)
    handler = dual_log.FileHandler(log_path, handle_signals="true")
    assert signal.getsignal(signal.SIGTERM) is _lifecycle._on_signal
    assert signal.getsignal(signal.SIGINT) is _lifecycle._on_signal
    handler.close()  # the last handler that relied on it: the previous handler is back
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_during_close_leaves_the_stop_to_the_writer(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """close() waits for the writer to reach its stop marker. A SIGTERM meanwhile runs the
    signal flush in the closing thread; it must not take the marker, or the writer would
    never stop and close() would give up on it."""
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    handler = dual_log.FileHandler(log_path, handle_signals=True)
    try:
        handler.handle(_record(-1))  # opens the file and its lock file
        assert handler.flush()
        with (log_path.parent / ".__app.lock").open("r+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the writer's next batch waits for it
            for n in range(100):
                handler.handle(_record(n))
            time.sleep(0.5)  # the writer has taken them and waits for the lock
            signal_timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
            unlock_timer = threading.Timer(0.6, fcntl.flock, (lock, fcntl.LOCK_UN))
            signal_timer.start()
            unlock_timer.start()
            handler.handle(_record(100))  # queued behind the batch: the stop comes after it
            started = time.monotonic()
            handler.close()
            closed_in = time.monotonic() - started
            unlock_timer.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == [signal.SIGTERM]  # the signal was passed on
    assert "did not finish" not in capsys.readouterr().err
    assert closed_in < 5.0  # close() did not wait out its timeout for a writer left running
    records, torn = read_records(log_path)
    assert torn == []
    assert [int(r["message"].split()[1]) for r in records] == list(range(-1, 101))


def test_close_on_a_failing_file_with_a_full_batch_held_stops_the_writer(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A file failing since its first record, with a full batch held: close() reaches the
    writer's stop at once (no wait for its timeout) and gives the held records up, counted."""
    handler = dual_log.FileHandler(tmp_path / "missing" / "app.log", queue_size=40)
    for n in range(100):
        handler.handle(_record(n))
    handler.close()
    assert "did not finish" not in capfd.readouterr().err
    stats = handler.stats()
    assert (stats["dropped"], stats["lost"], stats["pending"]) == (60, 40, 0)
