"""The Django and Flask samples under real gunicorn: every request's line once in each sink.

Each sample is started with its Dockerfile's CMD, from its folder, on a loopback port,
with 3 workers and a tiny DUAL_LOG_MAX_BYTES so the file rotates many times while
concurrent clients send requests with unique ids. After SIGTERM, every id must be on
stdout exactly once and in the live and rotated files exactly once, with no torn line.
"""

from __future__ import annotations

import collections
import re
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.e2e.servers import (
    SAMPLES,
    dockerfile_cmd,
    environment,
    free_port,
    get,
    gunicorn_cmd_args,
    running,
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
    logs = tmp_path / "logs"
    logs.mkdir()
    log_path = logs / "app.log"
    port = free_port()
    env = environment(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(WORKERS),
        GUNICORN_CMD_ARGS=cmd_args,
        DUAL_LOG_PATH=str(log_path),
        DUAL_LOG_MAX_BYTES="4KiB",
        DUAL_LOG_KEEP="500",
    )
    run = uuid.uuid4().hex[:8]
    ids = [f"e2e-{run}-{n:04d}" for n in range(REQUESTS)]
    base = f"http://127.0.0.1:{port}"

    with running(argv, SAMPLES / sample, env, tmp_path) as server:
        server.wait_until_serving(f"{base}/?id=ready")
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda i: get(f"{base}/?id={i}"), ids))
        status = server.stop(signal.SIGTERM)
        stdout, stderr = server.stdout, server.stderr

    assert answers == [(200, f"hello {i}") for i in ids]
    assert status == 0, stderr
    assert stderr.count("Booting worker") >= WORKERS
    assert "dual_log:" not in stderr

    # stdout: every id on exactly one line, and that line whole.
    logger = REQUEST_LOGGER[sample]
    line = re.compile(
        rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} INFO {re.escape(logger)} "
        rf"GET /\?id=(e2e-{run}-\d{{4}}) 200$"
    )
    on_stdout = collections.Counter(re.findall(rf"e2e-{run}-\d{{4}}", stdout))
    assert on_stdout == dict.fromkeys(ids, 1)
    whole = [m.group(1) for m in map(line.match, stdout.splitlines()) if m]
    assert sorted(whole) == ids

    # The file: rotated at least 3 times, no torn line, every id in exactly one record.
    rotated = [p for p in files(log_path) if p != log_path]
    assert len(rotated) >= 3
    records, torn = read_records(log_path)
    assert torn == []
    mine = [r for r in records if f"e2e-{run}-" in str(r.get("message"))]
    assert sorted(r["message"] for r in mine) == [f"GET /?id={i} 200" for i in ids]
    assert {r["logger"] for r in mine} == {logger}
    assert len({r["pid"] for r in mine}) >= 2  # several workers shared the file
