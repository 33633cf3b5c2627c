"""The plain worker sample run by its Dockerfile's CMD: every job once in each sink.

The worker's file rotates many times (tiny DUAL_LOG_MAX_BYTES); every job id must be on
stdout exactly once and in the live and rotated files exactly once, with no torn line,
both when it runs its jobs to the end and when SIGTERM stops it half-way.
"""

from __future__ import annotations

import collections
import re
import signal
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.e2e.servers import SAMPLES, dockerfile_cmd, environment, running
from tests.helpers.logfiles import files, read_records

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

SAMPLE = SAMPLES / "plain_worker"
JOBS = 400
FAIL_EVERY = 7  # as in sample_projects/plain_worker/worker.py


def _start_env(log_path: Path, run: str, **extra: str) -> dict[str, str]:
    return environment(
        DUAL_LOG_PATH=str(log_path),
        DUAL_LOG_MAX_BYTES="4KiB",
        DUAL_LOG_KEEP="500",
        WORKER_RUN_ID=run,
        **extra,
    )


def _check(stdout: str, log_path: Path, run: str, ids: list[str]) -> None:
    """Each id once on stdout, on a whole line; once in the files, failures with tracebacks."""
    pattern = rf"{run}-\d{{6}}"
    assert collections.Counter(re.findall(pattern, stdout)) == dict.fromkeys(ids, 1)
    line = re.compile(rf"^\S+ (INFO|ERROR) worker job ({pattern}) (done in [\d.]+ ms|failed)$")
    assert sorted(m.group(2) for m in map(line.match, stdout.splitlines()) if m) == ids
    assert len([p for p in files(log_path) if p != log_path]) >= 3
    records, torn = read_records(log_path)
    assert torn == []
    jobs = {}
    for record in records:
        found = re.findall(pattern, str(record.get("message")))
        for job in found:
            assert job not in jobs, f"{job} written twice"
            jobs[job] = record
    assert sorted(jobs) == ids
    failed = [job for job in ids if int(job[-6:]) % FAIL_EVERY == FAIL_EVERY - 1]
    assert failed
    for job in failed:
        assert jobs[job]["level"] == "ERROR"
        assert jobs[job]["exc_info"].startswith("Traceback (most recent call last):")
        assert jobs[job]["exc_info"].endswith("PaymentDeclined: the card was declined")


def test_every_job_once_on_stdout_and_once_across_rotated_files(tmp_path: Path) -> None:
    """400 jobs run to the end: each id once on stdout and once in the rotated files."""
    argv = dockerfile_cmd(SAMPLE / "Dockerfile")
    log_path = tmp_path / "app.log"
    run = uuid.uuid4().hex[:8]
    env = _start_env(log_path, run, WORKER_JOBS=str(JOBS), WORKER_INTERVAL="0")
    with running(argv, SAMPLE, env, tmp_path) as worker:
        status = worker.wait()
        stdout, stderr = worker.stdout, worker.stderr
    assert status == 0, stderr
    assert stderr == ""
    _check(stdout, log_path, run, [f"{run}-{n:06d}" for n in range(JOBS)])
    records, _ = read_records(log_path)
    messages = [r["message"] for r in records]
    assert messages.count(f"worker {run} stopping after {JOBS} jobs") == 1


def test_sigterm_stops_the_worker_with_every_logged_job_in_the_file(tmp_path: Path) -> None:
    """SIGTERM half-way: the worker stops, and every job it logged is in the file exactly once."""
    argv = dockerfile_cmd(SAMPLE / "Dockerfile")
    log_path = tmp_path / "app.log"
    run = uuid.uuid4().hex[:8]
    env = _start_env(log_path, run, WORKER_INTERVAL="0.001")
    with running(argv, SAMPLE, env, tmp_path) as worker:
        worker.wait_for(f"job {run}-000300 ")
        status = worker.stop(signal.SIGTERM)
        stdout, stderr = worker.stdout, worker.stderr
    assert status == 0, stderr
    done = int(re.findall(rf"worker {run} stopping after (\d+) jobs", stdout)[-1])
    assert done > 300
    messages = [r["message"] for r in read_records(log_path)[0]]
    assert messages.count(f"worker {run} stopping after {done} jobs") == 1
    _check(stdout, log_path, run, [f"{run}-{n:06d}" for n in range(done)])
