"""A signal handler that logs, firing every 200 microseconds, at each stage of dual_log's life.

Python runs signal handlers in the main thread, between two bytecodes or inside a blocking
wait such as ``thread.start()``. A handler that logs then re-enters dual_log while the
frame it interrupted may hold a lock, be writing to stdout, or be closing the file. Each
test runs a real process with ``setitimer`` firing SIGALRM through one stage (set-up, the
first record, which starts the writer thread, flushes, close, interpreter exit) and checks
that the process ends, that every record reached the file exactly once and whole, and that
stdout and stderr show no fault, no traceback and no "Logging error".
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers.logfiles import read_records

pytestmark = pytest.mark.faults

RECORDS = 3000
INTERVAL = 0.0002  # far above the cost of one log call, far below a stage's length

SCRIPT = r"""
import atexit, json, logging, signal, sys
import dual_log

config = json.loads(sys.argv[1])
stage, interval, records = config["stage"], config["interval"], config["records"]
log = logging.getLogger("hostile")
alarms = [0]

def on_alarm(signum, frame):
    alarms[0] += 1
    log.info("alarm %d", alarms[0], extra={"rid": f"alarm{alarms[0]}"})

def arm(when):
    if stage == when:
        signal.setitimer(signal.ITIMER_REAL, interval, interval)

def disarm(when):
    if stage == when:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)

signal.signal(signal.SIGALRM, on_alarm)
# Registered before dual_log's exit hook, so it runs after it: the timer fires through
# dual_log's exit flush, then stops before Python takes its signal handlers down.
atexit.register(signal.setitimer, signal.ITIMER_REAL, 0, 0)
arm("set-up")
for _ in range(20):  # each call replaces (and closes) the pair the previous one attached
    dual = dual_log.setup(path=config["path"], queue=config["queue"])
disarm("set-up")
arm("first record")
for n in range(records):
    log.info("record %d", n, extra={"rid": f"r{n}"})
disarm("first record")
arm("flush")
for n in range(300):
    log.info("flushed %d", n, extra={"rid": f"f{n}"})
    dual.flush()
disarm("flush")
arm("close")
dual.file_handler.close()  # as logging.shutdown() and a new dictConfig close it
for n in range(100):  # written directly, after close
    log.info("late %d", n, extra={"rid": f"late{n}"})
disarm("close")
arm("exit")  # left firing: the exit hook closes what is still open under it
for n in range(records):  # queued, with the queue: the exit flush writes them
    log.info("ending %d", n, extra={"rid": f"e{n}"})
sys.stderr.write(json.dumps({"alarms": alarms[0]}) + "\n")
"""


def run_stage(tmp_path: Path, stage: str, queue: bool) -> tuple[dict[str, Any], str, str]:
    """Run the script through ``stage``; return its report, stdout and stderr."""
    path = tmp_path / "app.log"
    config = {"stage": stage, "interval": INTERVAL, "records": RECORDS,
              "path": str(path), "queue": queue}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a deadlock fails the test here
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stderr.splitlines()[-1])
    return report, done.stdout, done.stderr


def alarm_ids(ids: Counter[str]) -> list[int]:
    """The alarm numbers among ``ids``, sorted."""
    return sorted(int(rid[5:]) for rid in ids if rid.startswith("alarm"))


@pytest.mark.parametrize("queue", [True, False], ids=["queue", "sync"])
@pytest.mark.parametrize("stage", ["set-up", "first record", "flush", "close", "exit"])
def test_a_signal_handler_that_logs_at_every_stage(
    tmp_path: Path, stage: str, queue: bool, measure: Any
) -> None:
    """The process ends; every record is in the file once; the handler's records are a run
    with no gap and none twice; stdout has them all; nothing on stderr but the report."""
    report, stdout, stderr = run_stage(tmp_path, stage, queue)
    assert report["alarms"] > 0 or stage == "exit"  # the signal fired during the stage
    records, torn = read_records(tmp_path / "app.log")
    assert torn == []
    ids = Counter(str(r.get("rid")) for r in records)
    assert [rid for rid, n in ids.items() if n > 1] == []
    assert all(ids[f"r{n}"] == 1 for n in range(RECORDS))
    assert all(ids[f"f{n}"] == 1 for n in range(300))
    assert all(ids[f"late{n}"] == 1 for n in range(100))
    assert all(ids[f"e{n}"] == 1 for n in range(RECORDS))
    alarms = alarm_ids(ids)
    assert alarms
    # No gap, and every alarm until the report was written is there (at exit, more came
    # after it). In set-up, those before the first handlers were attached went nowhere.
    assert alarms == list(range(alarms[0], alarms[-1] + 1))
    assert alarms[0] == 1 or stage == "set-up"
    assert alarms[-1] >= report["alarms"]
    on_stdout = Counter(re.findall(r" ((?:record|alarm) \d+) rid=", stdout))
    assert all(on_stdout[f"record {n}"] == 1 for n in range(RECORDS))
    assert all(on_stdout[f"alarm {n}"] == 1 for n in alarms)
    assert stderr.splitlines()[:-1] == []  # no fault line, traceback or "Logging error"
    measure.record(
        f"SIGALRM every 200 us, its handler logging, through {stage}",
        mode="queue" if queue else "sync",
        logged=sum(ids.values()),
        in_file=sum(ids.values()),
        handler_records=len(alarms),
        duplicated=0,
        torn=0,
    )


@pytest.mark.parametrize("attempt", range(4))
def test_a_signal_handler_that_logs_while_the_writer_thread_starts(
    tmp_path: Path, attempt: int
) -> None:
    """The first record starts the writer thread; thread.start() waits for it, and runs
    signal handlers meanwhile. A handler that logs must not wait for the start it
    interrupted (it deadlocked, or piled up handlers to a RecursionError)."""
    report, _, stderr = run_stage(tmp_path, "first record", True)
    records, torn = read_records(tmp_path / "app.log")
    ids = Counter(str(r.get("rid")) for r in records)
    assert torn == []
    assert sum(1 for rid in ids if rid.startswith("r")) == RECORDS
    assert len(alarm_ids(ids)) == report["alarms"] > 0
    assert max(ids.values()) == 1
    assert "RecursionError" not in stderr


CAUGHT_ELSEWHERE = r"""
import logging, multiprocessing, signal, sys, threading, time
import dual_log

dual_log.setup(path=sys.argv[1], stdout=False)
log = logging.getLogger("blocked")
for n in range(100):
    log.info("record %d", n)
ready = threading.Event()

def catch_it_here():
    # A thread of the application's own, which blocks no signal: Python's C handler runs
    # here, and the main thread, blocked in a lock nothing interrupts, never learns of it.
    ready.wait()
    time.sleep(0.2)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

threading.Thread(target=catch_it_here, daemon=True).start()
lock = multiprocessing.Lock()
lock.acquire()
ready.set()
lock.acquire()  # for ever, as a Pool worker waits for a task
"""


def test_a_signal_caught_by_another_thread_still_reaches_the_handler(tmp_path: Path) -> None:
    """SIGTERM caught while the main thread waits in a lock: the main thread is woken, the
    records are written, and SIGTERM ends the process (it waited for ever)."""
    path = tmp_path / "app.log"
    done = subprocess.run(
        [sys.executable, "-c", CAUGHT_ELSEWHERE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    records, torn = read_records(path)
    assert torn == []
    assert [r["message"] for r in records] == [f"record {n}" for n in range(100)]


THREADS = r"""
import logging, sys, threading
import dual_log

dual_log.setup(path=sys.argv[1], stdout=False)
logging.getLogger("threads").info("starts the writer")
for thread in threading.enumerate():
    if thread.name.startswith("dual_log"):
        with open(f"/proc/self/task/{thread.native_id}/status") as status:
            mask = next(line for line in status if line.startswith("SigBlk:"))
        print(thread.name, int(mask.split()[1], 16))
"""


def test_dual_logs_threads_leave_the_processs_signals_to_the_application(
    tmp_path: Path,
) -> None:
    """The writer and the signal watcher block SIGTERM and SIGINT (and the other signals sent
    to the process), so the kernel hands those to the application's threads, whose main
    thread runs the Python handlers."""
    done = subprocess.run(
        [sys.executable, "-c", THREADS, str(tmp_path / "app.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    masks = dict(line.split() for line in done.stdout.splitlines())
    assert set(masks) == {"dual_log-writer", "dual_log-signals"}
    for mask in map(int, masks.values()):
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            assert mask & (1 << (signum - 1)), signal.Signals(signum).name
        assert not mask & (1 << (signal.SIGSEGV - 1))  # faults stay with their thread
