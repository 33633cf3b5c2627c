"""Several processes on one file: a rotation storm, a worker killed mid-rotation, fork().

These are the gunicorn cases: workers share one log file and its rotation, one of them
can be killed at any instant, and with ``--preload`` the workers are forked (without
exec) from a parent that set dual_log up.
"""

from __future__ import annotations

import collections
import fcntl
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

import pytest
from helpers.logfiles import files, read_records

from faults.harness import App, AppFailed, Outcome, expected_ids, leftovers, stdout_ids
from tests.conftest import ROOT
from tests.helpers.group import run_group

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.faults


def start_workers(tmp_path: Path, count: int, options: dict[str, Any], **kwargs: Any) -> list[App]:
    """``count`` applications logging to the same file."""
    return [App(tmp_path / f"worker{n}", options, **kwargs) for n in range(count)]


def test_rotation_storm_eight_processes_with_threads(tmp_path: Path, measure: Any) -> None:
    """8 processes x 4 threads through many rotations: 0 lost, 0 duplicated, 0 torn."""
    path = tmp_path / "app.log"
    per_process, threads = 1000, 4
    options = {"path": str(path), "queue": True, "max_bytes": "32KiB", "keep": 500}
    workers = start_workers(tmp_path, 8, options)
    try:
        for n, app in enumerate(workers):  # all at once: they contend for every rotation
            app.send("log", tag=f"w{n}-", count=per_process, threads=threads, pad=100, wait=False)
        answers = [app.answer() for app in workers]
        finals = [app.finish() for app in workers]
    finally:
        for app in workers:
            if app.returncode is None:
                app.kill()
    logged = [rid for n in range(8) for rid in expected_ids(f"w{n}-", per_process)]
    out = Outcome.read(path, logged)
    rotated = len(files(path)) - 1
    assert [app.returncode for app in workers] == [0] * 8
    assert out.missing == []
    assert out.duplicated == []
    assert out.torn == []
    assert out.unknown == []
    assert leftovers(path) == []
    assert rotated >= 20  # it was a storm
    assert sum(f["file_missed"] for f in finals) == 0
    assert sum(a["file_written"] for a in answers) == len(logged)
    for app in workers:
        assert app.dual_log_lines() == []
    measure.record(
        "rotation storm: 8 processes x 4 threads, max_bytes 32 KiB",
        mode="queue",
        logged=len(logged),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        reported=sum(f["file_missed"] for f in finals),
        duplicated=len(out.duplicated),
        torn=len(out.torn),
        rotations=rotated,
    )


def test_worker_killed_mid_rotation(tmp_path: Path, queue: bool, measure: Any) -> None:
    """SIGKILL of a worker holding the rotation lock: the others go on, nothing deadlocks."""
    path = tmp_path / "app.log"
    per_process = 1500
    options = {"path": str(path), "queue": queue, "max_bytes": "16KiB", "keep": 500}
    survivors = start_workers(tmp_path, 2, options)
    # The victim kills itself with SIGKILL inside its 3rd rotation, right after renaming
    # the live file to app.log.1, with the lock held: the worst moment to die.
    victim = App(tmp_path / "victim", options, config={"signal_mid_rotation": [3, "SIGKILL"]})
    everyone = [*survivors, victim]
    try:
        victim.send("log", tag="v-", count=per_process, pad=100, wait=False)
        for n, app in enumerate(survivors):
            app.send("log", tag=f"s{n}-", count=per_process, pad=100, wait=False)
        with pytest.raises(AppFailed):  # it never answers: it is dead
            victim.answer()
        assert victim.returncode == -signal.SIGKILL
        answers = [app.answer() for app in survivors]  # bounded: a deadlock fails here
        for n, app in enumerate(survivors):  # and they go on after it, through rotations
            app.log(f"t{n}-", per_process // 3, pad=100)
        finals = [app.finish() for app in survivors]
    finally:
        for app in everyone:
            if app.returncode is None:
                app.kill()
    assert [app.returncode for app in survivors] == [0, 0]
    logged = [
        rid
        for n in range(2)
        for rid in (*expected_ids(f"s{n}-", per_process), *expected_ids(f"t{n}-", per_process // 3))
    ]
    # A rotation is renames only: the victim left nothing aside, outside the numbered files.
    aside = leftovers(path)
    assert aside == []
    victim_ids = stdout_ids(victim.stdout())
    out = Outcome.read(path, logged + victim_ids)
    assert out.duplicated == []
    assert out.torn == []
    assert out.unknown == []
    assert [rid for rid in out.missing if not rid.startswith("v-")] == []  # survivors: all
    assert sum(f["file_missed"] for f in finals) == 0
    assert sum(a["file_missed"] for a in answers) == 0
    victim_lost = [rid for rid in out.missing if rid.startswith("v-")]
    if not queue:  # only the record it was writing when it died
        assert victim_lost in ([], [victim_ids[-1]])
    # Whatever the victim lost is its own last records, never a gap before them.
    assert victim_lost == victim_ids[len(victim_ids) - len(victim_lost) :]
    # The kernel released the dead worker's flock: the lock can be taken at once.
    with open(path.with_name(".__app.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(lock, fcntl.LOCK_UN)
    measure.record(
        "SIGKILL of 1 of 3 workers inside a rotation (lock held)",
        mode="queue" if queue else "sync",
        logged=len(logged) + len(victim_ids),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        survivors_missing=len(out.missing) - len(victim_lost),
        victim_lost=len(victim_lost),
        reported=sum(f["file_missed"] for f in finals),
        duplicated=len(out.duplicated),
        torn=len(out.torn),
        aside=len(aside),
    )


def test_fork_without_exec_after_setup(tmp_path: Path, queue: bool, measure: Any) -> None:
    """fork() after set-up (gunicorn --preload): parent and children all write, once each."""
    path = tmp_path / "app.log"
    options = {"path": str(path), "queue": queue, "max_bytes": "64KiB", "keep": 500}
    app = App(tmp_path / "app", options)
    children, count, before = 3, 1500, 2000
    try:
        app.log("start-", 100)
        answer = app.send("fork", tag="f", before=before, children=children, count=count, threads=2)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    assert app.returncode == 0, app.stderr()
    reports = answer["children"]
    assert [r["status"] for r in reports] == [0] * children, app.stderr()
    logged = [
        *expected_ids("start-", 100),
        *expected_ids("fpre-", before),
        *expected_ids("fp-", count),
        *(rid for c in range(children) for rid in expected_ids(f"fc{c}-", count)),
    ]
    out = Outcome.read(path, logged)
    assert out.missing == []
    assert out.duplicated == []
    assert out.torn == []
    assert out.unknown == []
    assert collections.Counter(stdout_ids(app.stdout())) == collections.Counter(logged)
    # Each process counts its own records: the children did not inherit the parent's.
    assert [r["counters"]["file_written"] for r in reports] == [count] * children
    assert [r["counters"]["file_missed"] for r in reports] == [0] * children
    assert final["file_missed"] == 0
    assert "Traceback" not in app.stderr()
    measure.record(
        "fork() without exec after set-up (gunicorn --preload), 1 parent + 3 children",
        mode="queue" if queue else "sync",
        logged=len(logged),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        reported=final["file_missed"] + sum(r["counters"]["file_missed"] for r in reports),
        duplicated=len(out.duplicated),
        torn=len(out.torn),
        children=json.dumps([r["status"] for r in reports]),
    )


FORK_WHILE_LOGGING = r"""
import logging, os, sys, threading, time
import dual_log

dual_log.setup(path=sys.argv[1], queue=sys.argv[2] == "queue")
log = logging.getLogger("fork")
stop = False

def loop():
    n = 0
    while not stop:
        log.info("thread %d", n)
        n += 1

thread = threading.Thread(target=loop)
thread.start()
children = []
for child in range(20):
    pid = os.fork()  # while the thread is anywhere in a log call, holding its locks
    if pid == 0:
        for n in range(50):
            log.info("child %d record %d", child, n)
        sys.exit(0)
    children.append(pid)
    time.sleep(0.01)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
stop = True
thread.join()
sys.stderr.write(f"children {codes}\n")
"""


def test_fork_while_another_thread_logs(tmp_path: Path, queue: bool, measure: Any) -> None:
    """fork() while a thread logs without pause (its locks taken at any instant): no child
    hangs, and each child's records are in the file once."""
    path = tmp_path / "app.log"
    done = run_group(
        [sys.executable, "-c", FORK_WHILE_LOGGING, str(path), "queue" if queue else "sync"],
        cwd=ROOT,
        timeout=120,  # a child stuck on a lock its parent's thread held at fork fails here
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "children [" + ", ".join(["0"] * 20) + "]" in done.stderr
    records, torn = read_records(path)
    assert torn == []
    children = collections.Counter(
        r["message"] for r in records if r["message"].startswith("child")
    )
    assert set(children) == {f"child {c} record {n}" for c in range(20) for n in range(50)}
    assert set(children.values()) == {1}
    measure.record(
        "fork() 20 times while another thread logs without pause",
        mode="queue" if queue else "sync",
        logged=1000,
        in_file=sum(children.values()),
        missing=1000 - len(children),
        duplicated=0,
        torn=len(torn),
    )
