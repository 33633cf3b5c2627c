"""The drop-in files in integrations/, each loaded by the real program that reads it.

gunicorn and uvicorn run as real servers on a loopback port, celery's real signal and a
real worker are used, and the dictConfig and fileConfig files are read by the stdlib. Each
test checks the two promises these files exist for: every record reaches both sinks, and
none is printed or written twice.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers.logfiles import files, read_records

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
INTEGRATIONS = ROOT / "integrations"

# Seconds a server gets to start, and to stop after SIGTERM, before the test gives up.
START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
REQUESTS = 100
CLIENTS = 6


# Helpers ----------------------------------------------------------------------------------


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def text(path: Path) -> str:
    """The file's text so far, or "" when it does not exist yet."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def get(port: int, target: str) -> int:
    """Send one GET to 127.0.0.1:port and return the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``process`` and wait for it; SIGKILL its group if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
        pytest.fail(f"{process.args!r} did not stop within {STOP_TIMEOUT}s of SIGTERM")


def start(
    args: list[str], cwd: Path, env: dict[str, str], out: Path, err: Path
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group, stdout and stderr appended to files.

    The files are opened in append mode: each process writes a whole line per write() at
    the end of the file, as the workers of a real server share one stdout.
    """
    with out.open("ab") as stdout, err.open("ab") as stderr:
        return subprocess.Popen(
            args, cwd=cwd, env=env, stdout=stdout, stderr=stderr, start_new_session=True
        )


def server_env(log_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a server: the test's own, with dual_log options and none of Fly's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
    env.update(DUAL_LOG_PATH=str(log_path), PYTHONPATH=str(ROOT), **extra)
    return env


def new_ids(count: int) -> list[str]:
    """Unique request ids."""
    return [uuid.uuid4().hex for _ in range(count)]


# gunicorn -------------------------------------------------------------------------------

WSGI_APP = """
import logging
{setup}
log = logging.getLogger("app")
log.info("app module imported")


def app(environ, start_response):
    log.info("handled %s", environ.get("QUERY_STRING", ""))
    body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [body]
"""


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("preload", "app_calls_setup"),
    [(False, False), (True, False), (True, True)],
    ids=["fork-then-import", "preload", "preload-app-calls-setup"],
)
def test_gunicorn_conf_sends_error_access_and_app_logs_to_both_sinks_once(
    tmp_path: Path, log_path: Path, python: str, preload: bool, app_calls_setup: bool
) -> None:
    """gunicorn.conf.py: each access line and app line is once on stdout, once in the files."""
    setup = "import dual_log; dual_log.setup()" if app_calls_setup else ""
    (tmp_path / "wsgi_app.py").write_text(WSGI_APP.format(setup=setup))
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = server_env(log_path, DUAL_LOG_MAX_BYTES="4096", DUAL_LOG_KEEP="200")
    args = [python, "-m", "gunicorn", "-c", str(INTEGRATIONS / "gunicorn.conf.py")]
    args += ["--workers", "3", "--bind", "127.0.0.1:0", "--graceful-timeout", "10"]
    args += ["--preload"] if preload else []
    ids = new_ids(REQUESTS)
    server = start([*args, "wsgi_app:app"], tmp_path, env, out, err)
    try:
        listening = wait_for(
            lambda: re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text(out)),
            START_TIMEOUT,
            f"gunicorn to listen; stderr: {text(err)[-2000:]}",
        )
        port = int(listening.group(1))
        # Several clients at once, so that workers write and rotate the file concurrently.
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(lambda i: get(port, f"/r?id={i}"), ids))
    finally:
        stop(server)
    assert statuses == [200] * REQUESTS
    assert server.returncode == 0, text(err)

    stdout = text(out).splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    assert len(files(log_path)) > 3, "the file should have rotated several times"
    for request_id in ids:
        access = f"GET /r?id={request_id} HTTP/1.1"
        handled = f"handled id={request_id}"
        assert sum(" gunicorn.access " in line and access in line for line in stdout) == 1
        assert sum(line.endswith(f" app {handled}") for line in stdout) == 1
        access_records = [r for r in records if access in r["message"]]
        assert [r["logger"] for r in access_records] == ["gunicorn.access"]
        assert sum(r["logger"] == "app" and r["message"] == handled for r in records) == 1

    # The workers' own lines from gunicorn.error: once each in both sinks, none on stderr.
    booted = [r for r in records if r["message"].startswith("Booting worker with pid")]
    assert len(booted) == 3
    assert {r["logger"] for r in booted} == {"gunicorn.error"}
    assert sum("Booting worker with pid" in line for line in stdout) == 3
    assert "Booting worker" not in text(err)
    # The master writes its last lines at exit too.
    assert sum(r["message"] == "Shutting down: Master" for r in records) == 1
    # Imported once in the master with --preload, once per worker without.
    imports = 1 if preload else 3
    assert sum(r["message"] == "app module imported" for r in records) == imports
    assert sum(line.endswith(" app app module imported") for line in stdout) == imports
    assert "dual_log:" not in text(err)
