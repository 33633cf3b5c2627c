"""The Django and Flask samples under real gunicorn: every record once in each sink.

Each sample is started with its Dockerfile's CMD, from its folder, on a loopback port,
with 3 workers and a tiny DUAL_LOG_MAX_BYTES so the file rotates many times while
concurrent clients send requests with unique ids. After SIGTERM, every id must be on
stdout exactly once and in the live and rotated files exactly once, with no torn line,
both in the app's request line and in gunicorn's access line; gunicorn's own records
("Booting worker", "Worker exiting", a worker timeout) must be in both sinks too, and
the same record must show the same instant on both.
"""

from __future__ import annotations

import collections
import re
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.e2e.servers import (
    SAMPLES,
    dockerfile_cmd,
    get,
    gunicorn_cmd_args,
    running,
    sample_environment,
)
from tests.helpers.logfiles import files, read_records

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

REQUESTS = 300
CLIENTS = 6
WORKERS = 3
# The logger each sample writes its per-request line to.
REQUEST_LOGGER = {"django_app": "mysite.requests", "flask_app": "app"}
ACCESS_LOGGER = "gunicorn.access"
# A text line on stdout: '<UTC time> <LEVEL> <logger> <message>', then the request's id
# (test_request_ids.py checks those).
TEXT_LINE = re.compile(r"^(\S+) ([A-Z]+) (\S+) (.*?)(?: request_id=\S+)?$")


def _lines(stdout: str, logger: str) -> list[tuple[datetime, str]]:
    """The (time, message) of each stdout line of ``logger``."""
    found = []
    for line in stdout.splitlines():
        match = TEXT_LINE.match(line)
        if match and match.group(3) == logger:
            found.append((datetime.fromisoformat(match.group(1)), match.group(4)))
    return found


def _gunicorn_messages(records: list[dict[str, object]]) -> list[str]:
    return [str(r["message"]) for r in records if r.get("logger") == "gunicorn.error"]


def _argv(sample: str, preload: bool) -> tuple[list[str], str]:
    """The Dockerfile's CMD, and GUNICORN_CMD_ARGS turning --preload on when the CMD lacks it."""
    argv = dockerfile_cmd(SAMPLES / sample / "Dockerfile")
    has_preload = "--preload" in argv[-1]
    if has_preload and not preload:
        argv = [*argv[:-1], argv[-1].replace(" --preload", "")]
    extra = ("--preload",) if preload and not has_preload else ()
    return argv, gunicorn_cmd_args(*extra)


@pytest.mark.parametrize(
    ("sample", "preload"),
    [
        pytest.param("django_app", False, id="django"),
        pytest.param("django_app", True, id="django-preload"),
        pytest.param("flask_app", True, id="flask-preload"),
        pytest.param("flask_app", False, id="flask"),
    ],
)
def test_every_request_once_on_stdout_and_once_across_rotated_files(
    sample: str, preload: bool, tmp_path: Path
) -> None:
    """300 requests to 3 gunicorn workers: each id once on stdout, once in the rotated files."""
    argv, cmd_args = _argv(sample, preload)
    assert "gunicorn" in argv[-1]
    assert ("--preload" in argv[-1] or "--preload" in cmd_args) is preload
    log_path = tmp_path / "logs" / "app.log"
    base, env = sample_environment(
        log_path.parent, workers=WORKERS, cmd_args=cmd_args,
        DUAL_LOG_MAX_BYTES="4KiB", DUAL_LOG_KEEP="500",
    )  # fmt: skip
    run = uuid.uuid4().hex[:8]
    ids = [f"e2e-{run}-{n:04d}" for n in range(REQUESTS)]

    with running(argv, SAMPLES / sample, env, tmp_path) as server:
        server.wait_until_serving(f"{base}/?id=ready")
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda i: get(f"{base}/?id={i}"), ids))
        status = server.stop(signal.SIGTERM)
        stdout, stderr = server.stdout, server.stderr

    assert answers == [(200, f"hello {i}") for i in ids]
    assert status == 0, stderr
    assert "dual_log:" not in stderr
    assert "Booting worker" not in stderr  # gunicorn's records go through dual_log only

    # stdout: every id once in the app's request line, once in gunicorn's access line.
    logger = REQUEST_LOGGER[sample]
    app_lines = _lines(stdout, logger)
    access_lines = _lines(stdout, ACCESS_LOGGER)
    pattern = rf"e2e-{run}-\d{{4}}"
    assert sorted(m for _, m in app_lines if run in m) == [f"GET /?id={i} 200" for i in ids]
    assert collections.Counter(re.findall(pattern, stdout)) == dict.fromkeys(ids, 2)
    assert sorted(i for _, m in access_lines for i in re.findall(pattern, m)) == ids
    gunicorn_lines = [m for _, m in _lines(stdout, "gunicorn.error")]
    assert sum(m.startswith("Booting worker with pid: ") for m in gunicorn_lines) >= WORKERS
    assert sum(m.startswith("Worker exiting (pid: ") for m in gunicorn_lines) >= WORKERS

    # The file: rotated at least 3 times, no torn line, every id in exactly one record
    # of each logger, and gunicorn's records as on stdout.
    rotated = [p for p in files(log_path) if p != log_path]
    assert len(rotated) >= 3
    records, torn = read_records(log_path)
    assert torn == []
    mine = [r for r in records if f"e2e-{run}-" in str(r.get("message"))]
    app_records = [r for r in mine if r["logger"] == logger]
    assert sorted(r["message"] for r in app_records) == [f"GET /?id={i} 200" for i in ids]
    access = [r for r in mine if r["logger"] == ACCESS_LOGGER]
    assert sorted(i for r in access for i in re.findall(pattern, r["message"])) == ids
    assert len(mine) == 2 * REQUESTS
    assert len({r["pid"] for r in app_records}) >= 2  # several workers shared the file
    in_file = _gunicorn_messages(records)
    assert sorted(m for m in in_file if m.startswith("Booting worker")) == sorted(
        m for m in gunicorn_lines if m.startswith("Booting worker")
    )
    assert sum(m.startswith("Worker exiting (pid: ") for m in in_file) >= WORKERS

    # One clock: each request line shows the same instant, with offset 0, on both sinks.
    file_times = {r["message"]: datetime.fromisoformat(r["time"]) for r in app_records}
    for when, message in app_lines:
        if run in message:
            assert when.utcoffset() == timedelta(0)
            assert when == file_times[message]


@pytest.mark.parametrize("sample", ["django_app", "flask_app"])
def test_a_worker_timeout_reaches_both_sinks(sample: str, tmp_path: Path) -> None:
    """A request past --timeout: WORKER TIMEOUT, the worker's exit and its replacement, in both."""
    argv = dockerfile_cmd(SAMPLES / sample / "Dockerfile")
    log_path = tmp_path / "logs" / "app.log"
    base, env = sample_environment(
        log_path.parent, workers=1, cmd_args=gunicorn_cmd_args("--timeout", "2")
    )
    with running(argv, SAMPLES / sample, env, tmp_path) as server:
        server.wait_until_serving(f"{base}/?id=ready")
        # The answer (a 500, or a closed connection) does not matter: gunicorn's log does.
        slow = threading.Thread(target=lambda: get(f"{base}/slow?seconds=60", timeout=30))
        slow.start()
        server.wait_for("WORKER TIMEOUT (pid:")
        server.wait_until_serving(f"{base}/?id=after")  # the replacement worker serves
        slow.join(30)
        status = server.stop(signal.SIGTERM)
        stdout, stderr = server.stdout, server.stderr
    assert status == 0, stderr

    gunicorn_lines = _levels(stdout)
    (timeout,) = [m for level, m in gunicorn_lines if level == "CRITICAL"]
    pid = re.fullmatch(r"WORKER TIMEOUT \(pid:(\d+)\)", timeout)
    assert pid
    messages = [m for _, m in gunicorn_lines]
    assert f"Worker exiting (pid: {pid.group(1)})" in messages
    assert sum(m.startswith("Booting worker with pid: ") for m in messages) == 2

    records, torn = read_records(log_path)
    assert torn == []
    critical = [r for r in records if r["level"] == "CRITICAL"]
    assert [(r["logger"], r["message"]) for r in critical] == [("gunicorn.error", timeout)]
    in_file = _gunicorn_messages(records)
    assert f"Worker exiting (pid: {pid.group(1)})" in in_file
    assert sum(m.startswith("Booting worker with pid: ") for m in in_file) == 2


def _levels(stdout: str) -> list[tuple[str, str]]:
    """The (level, message) of each stdout line of gunicorn's error log."""
    found = []
    for line in stdout.splitlines():
        match = TEXT_LINE.match(line)
        if match and match.group(3) == "gunicorn.error":
            found.append((match.group(2), match.group(4)))
    return found
