"""Interpreter exit in the orders real programs end in, each in a real process.

- A daemon thread logging in a loop while the program ends, and an object whose
  ``__del__`` logs during the final collection: the interpreter freezes daemon threads
  wherever they are, perhaps holding one of dual_log's locks, and the late record must
  neither hang the exit nor vanish unsaid.
- SIGTERM while the exit flush is still writing (a slow writer elsewhere holds the lock):
  the signal waits for the flush, then still ends the process.
- ``with multiprocessing.Pool(...)``, which ends its workers with SIGTERM.
"""

from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.helpers.group import run_group
from tests.helpers.logfiles import read_records

pytestmark = pytest.mark.faults

EXIT_WHILE_LOGGING = r"""
import gc, json, logging, sys, threading, time
import dual_log

config = json.loads(sys.argv[1])
dual_log.setup(path=config["path"], queue=config["queue"], stdout=config["stdout"])
log = logging.getLogger("exit")

def loop():
    n = 0
    while True:
        log.info("daemon %d", n)
        n += 1

class Late:
    def __init__(self):
        self.me = self  # a cycle: only the final collection frees it

    def __del__(self):
        log.info("from __del__")

threading.Thread(target=loop, daemon=True).start()
gc.disable()
Late()
time.sleep(0.3)
log.info("main ends")
"""


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("stdout", [True, False], ids=["both-sinks", "file-only"])
@pytest.mark.parametrize("queue", [True, False], ids=["queue", "sync"])
def test_logging_at_interpreter_exit_never_hangs(
    tmp_path: Path, queue: bool, stdout: bool, attempt: int, measure: Any
) -> None:
    """A daemon thread logging through the exit and a ``__del__`` logging in the final
    collection: the process ends at once, and the late record is written, or counted and
    said (never silently lost, never a torn line)."""
    path = tmp_path / "app.log"
    config = {"path": str(path), "queue": queue, "stdout": stdout}
    started = time.monotonic()
    done = run_group(
        [sys.executable, "-c", EXIT_WHILE_LOGGING, json.dumps(config)],
        cwd=ROOT,
        timeout=60,  # it hung before: a frozen daemon thread held a lock the exit needed
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    records, torn = read_records(path)
    assert torn == []
    messages = Counter(r["message"] for r in records)
    assert messages["main ends"] == 1
    said = [line for line in done.stderr.splitlines() if line.startswith("dual_log:")]
    if messages["from __del__"] != 1:  # the one way it may miss the file: counted and said
        assert any("during interpreter shutdown could not be written" in s for s in said)
    if stdout and "from __del__" not in done.stdout:
        assert any("could not be written to stdout" in s for s in said)
    assert took < 30  # generous for a loaded machine; the hang was for ever
    if attempt == 0:
        measure.record(
            "a daemon thread logging through the exit, a __del__ logging in the final "
            + ("collection (stdout and file)" if stdout else "collection (file only)"),
            mode="queue" if queue else "sync",
            exit_s=round(took, 2),
            late_record="in the file" if messages["from __del__"] == 1 else "counted and said",
            exit=done.returncode,
        )


SLOW_EXIT = r"""
import logging, sys
import dual_log

dual_log.setup(path=sys.argv[1], stdout=False)
log = logging.getLogger("exit")
for n in range(2000):
    log.info("record %d", n)
print("logged", flush=True)
"""


def test_sigterm_during_the_exit_flush_waits_for_it(tmp_path: Path, measure: Any) -> None:
    """The script ends while a slow writer elsewhere holds the file's lock; SIGTERM comes
    0.5 s into the exit flush: all 2000 records are written, then SIGTERM ends it."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "app.log"
    with (folder / ".__app.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # what another process's writer holds
        with subprocess.Popen(
            [sys.executable, "-c", SLOW_EXIT, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline() == b"logged\n"  # now it is in its exit flush
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            fcntl.flock(lock, fcntl.LOCK_UN)
            _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM, stderr  # the signal still did what it does
    records, torn = read_records(path)
    assert torn == []
    assert [r["message"] for r in records] == [f"record {n}" for n in range(2000)]
    measure.record(
        "SIGTERM 0.5 s into the exit flush, the lock held elsewhere for 1.5 s",
        mode="queue",
        logged=2000,
        in_file=len(records),
        missing=2000 - len(records),
        exit=proc.returncode,
    )


POOL = r"""
import logging, multiprocessing, sys
import dual_log

PATH = sys.argv[1]
log = logging.getLogger("pool")

def init():
    dual_log.setup(path=PATH, stdout=False)

def work(task):
    for n in range(100):
        log.info("task %d record %d", task, n)
    return task

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[2])
    if sys.argv[2] == "fork":
        init()  # the workers inherit it
    with context.Pool(2, initializer=None if sys.argv[2] == "fork" else init) as pool:
        pool.map(work, range(20))
"""


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("method", ["spawn", "fork", "forkserver"])
def test_a_pool_ends_with_every_record_written(
    tmp_path: Path, method: str, attempt: int, measure: Any
) -> None:
    """``with Pool(...)`` ends its workers with SIGTERM, perhaps in their exit flush:
    every record of every task is in the file, once."""
    script = tmp_path / "pool_app.py"  # spawn and forkserver import the main module
    script.write_text(POOL)
    path = tmp_path / "app.log"
    done = run_group(
        [sys.executable, str(script), str(path), method],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records, torn = read_records(path)
    assert torn == []
    messages = Counter(r["message"] for r in records)
    expected = {f"task {t} record {n}" for t in range(20) for n in range(100)}
    assert set(messages) == expected
    assert set(messages.values()) == {1}
    if attempt == 0:
        measure.record(
            f"with Pool(2) ({method}): 20 tasks of 100 records, workers ended by SIGTERM",
            mode="queue",
            logged=len(expected),
            in_file=sum(messages.values()),
            missing=len(expected - set(messages)),
            duplicated=0,
        )
