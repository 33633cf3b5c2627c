"""The drop-in files in integrations/, each loaded by the real program that reads it.

gunicorn and uvicorn run as real servers on a loopback port, celery's real signal and a
real worker are used, and the dictConfig and fileConfig files are read by the stdlib. Each
test checks the two promises these files exist for: every record reaches both sinks, and
none is printed or written twice.
"""

from __future__ import annotations

import http.client
import logging
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
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
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


def serve(
    args: list[str], cwd: Path, env: dict[str, str], ids: list[str], listening: str
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """Start a server, wait for its ``listening`` line, GET /r?id=<id> for every id, stop it.

    Several clients at once, so that workers write and rotate the file concurrently.
    Returns the stopped server and the files holding its stdout and stderr.
    """
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    server = start(args, cwd, env, out, err)
    try:
        found = wait_for(
            lambda: re.search(listening, text(out)),
            START_TIMEOUT,
            f"{args[2]} to listen; stderr: {text(err)[-2000:]}",
        )
        port = int(found.group(1))
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(lambda i: get(port, f"/r?id={i}"), ids))
    finally:
        stop(server)
    assert statuses == [200] * len(ids)
    return server, out, err


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
    env = server_env(log_path, DUAL_LOG_MAX_BYTES="4096", DUAL_LOG_KEEP="200")
    args = [python, "-m", "gunicorn", "-c", str(INTEGRATIONS / "gunicorn.conf.py")]
    args += ["--workers", "3", "--bind", "127.0.0.1:0", "--graceful-timeout", "10"]
    args += ["--preload"] if preload else []
    ids = new_ids(REQUESTS)
    server, out, err = serve(
        [*args, "wsgi_app:app"], tmp_path, env, ids, r"Listening at: http://127\.0\.0\.1:(\d+)"
    )
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


# dictConfig and fileConfig files ----------------------------------------------------------

# How a program loads each file; argv[1] is the file, the rest are job ids.
LOADERS = {
    "logging.yaml": "import yaml; logging.config.dictConfig(yaml.safe_load(open(sys.argv[1])))",
    "logging.json": "import json; logging.config.dictConfig(json.load(open(sys.argv[1])))",
    "uvicorn_log_config.json": (
        "import json; logging.config.dictConfig(json.load(open(sys.argv[1])))"
    ),
    "logging.ini": "logging.config.fileConfig(sys.argv[1], disable_existing_loggers=False)",
}

CONFIG_SCRIPT = """
import logging, logging.config, sys
library = logging.getLogger("library.made.at.import")
{load}
library.warning("library still logs")
for job_id in sys.argv[2:]:
    logging.getLogger("job").info("job id=%s", job_id)
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("job").exception("job failed")
"""


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_config_file_sends_every_record_to_both_sinks_once_and_rotates(
    tmp_path: Path, log_path: Path, python: str, name: str
) -> None:
    """Each dictConfig/fileConfig file: every record once on stdout, once in the rotated files."""
    # Each file, as shipped, takes the path, size and count from the environment.
    config = INTEGRATIONS / name
    env = server_env(log_path, DUAL_LOG_MAX_BYTES="4KiB", DUAL_LOG_KEEP="100")
    ids = new_ids(200)
    script = CONFIG_SCRIPT.format(load=LOADERS[name])
    done = subprocess.run(
        [python, "-c", script, str(config), *ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""

    stdout = done.stdout.splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    assert len(files(log_path)) > 3, "the file should have rotated several times"
    for job_id in ids:
        assert sum(line.endswith(f" INFO job job id={job_id}") for line in stdout) == 1
        assert sum(r["message"] == f"job id={job_id}" for r in records) == 1
    # A logger made before the configuration was loaded is not disabled.
    assert sum(line.endswith(" library still logs") for line in stdout) == 1
    assert [r["logger"] for r in records if r["message"] == "library still logs"] == [
        "library.made.at.import"
    ]
    # The traceback reaches both sinks; in the file it stays inside its one record.
    failed = [r for r in records if r["message"] == "job failed"]
    assert len(failed) == 1
    assert "ZeroDivisionError: division by zero" in failed[0]["exc_info"]
    assert "ZeroDivisionError: division by zero" in done.stdout
    assert len(records) == len(ids) + 2


SIGTERM_SCRIPT = """
import logging, logging.config, os, signal, sys, time
{load}
for number in range(int(sys.argv[2])):
    logging.getLogger("burst").info("record %d", number)
# At once, while the writer thread still has most of the burst to write.
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(60)
"""


@pytest.mark.parametrize("name", ["logging.yaml", "logging.json", "logging.ini"])
def test_config_file_writes_the_queue_out_when_sigterm_kills_the_process(
    log_path: Path, python: str, name: str
) -> None:
    """The config files: a process killed by SIGTERM's default action loses no record."""
    config = INTEGRATIONS / name
    count = 5000
    script = SIGTERM_SCRIPT.format(load=LOADERS[name])
    done = subprocess.run(
        [python, "-c", script, str(config), str(count)],
        env=server_env(log_path, DUAL_LOG_MAX_BYTES="64KiB", DUAL_LOG_KEEP="100"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # dual_log's handler wrote the queue out, then let SIGTERM's default action happen.
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.count(" INFO burst record ") == count
    records, torn = read_records(log_path)
    assert torn == []
    # Files are read newest first; what counts is that each record is there once.
    numbers = sorted(int(r["message"].removeprefix("record ")) for r in records)
    assert numbers == list(range(count))
    assert done.stderr == ""


# uvicorn --------------------------------------------------------------------------------

ASGI_APP = """
import logging

log = logging.getLogger("app")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    log.info("handled %s", scope["query_string"].decode())
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["uvicorn_log_config.json", "logging.ini"])
def test_uvicorn_log_config_sends_access_error_and_app_logs_to_both_sinks_once(
    tmp_path: Path, log_path: Path, python: str, name: str
) -> None:
    """uvicorn --log-config: each access line and app line is once on stdout, once in the files."""
    (tmp_path / "asgi_app.py").write_text(ASGI_APP)
    config = INTEGRATIONS / name
    env = server_env(log_path, DUAL_LOG_MAX_BYTES="4096", DUAL_LOG_KEEP="200")
    args = [python, "-m", "uvicorn", "--log-config", str(config), "--host", "127.0.0.1"]
    args += ["--port", "0", "asgi_app:app"]
    ids = new_ids(REQUESTS)
    server, out, err = serve(
        args, tmp_path, env, ids, r"Uvicorn running on http://127\.0\.0\.1:(\d+)"
    )
    # uvicorn shuts down, then raises the SIGTERM it caught again, to die of it.
    assert server.returncode == -signal.SIGTERM, text(err)

    stdout = text(out).splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    assert len(files(log_path)) > 3, "the file should have rotated several times"
    for request_id in ids:
        access = f'"GET /r?id={request_id} HTTP/1.1" 200'
        handled = f"handled id={request_id}"
        assert sum(" uvicorn.access " in line and access in line for line in stdout) == 1
        assert sum(line.endswith(f" app {handled}") for line in stdout) == 1
        access_records = [r for r in records if access in r["message"]]
        assert [r["logger"] for r in access_records] == ["uvicorn.access"]
        assert sum(r["logger"] == "app" and r["message"] == handled for r in records) == 1
    # uvicorn.error's lines, from start-up to the last one at exit: once in both sinks.
    for message in ("Application startup complete.", "Application shutdown complete."):
        assert sum(r["message"] == message for r in records) == 1
        assert [r["logger"] for r in records if r["message"] == message] == ["uvicorn.error"]
        assert sum(line.endswith(f" uvicorn.error {message}") for line in stdout) == 1
    assert sum(r["message"].startswith("Finished server process") for r in records) == 1
    assert text(err) == ""


# celery ---------------------------------------------------------------------------------


def load_celery_logging() -> Any:
    """integrations/celery_logging.py, imported from its file as a user's copy would be."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "celery_logging", INTEGRATIONS / "celery_logging.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def celery_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The celery integration, its signal receivers disconnected again after the test."""
    from celery.signals import (  # type: ignore[import-untyped]
        setup_logging,
        worker_process_shutdown,
    )

    for name in list(os.environ):
        if name.startswith(("DUAL_LOG_", "FLY_")):
            monkeypatch.delenv(name)
    module = load_celery_logging()
    try:
        yield module
    finally:
        setup_logging.disconnect(module.setup_dual_log)
        worker_process_shutdown.disconnect(module.flush_dual_log)


def test_celery_setup_logging_signal_sends_task_records_to_both_sinks(
    celery_logging: Any,
    log_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """celery_logging.py: once setup_logging fires, task records reach both sinks once."""
    from celery.signals import setup_logging
    from celery.utils.log import get_task_logger  # type: ignore[import-untyped]

    import dual_log

    monkeypatch.setenv("DUAL_LOG_PATH", str(log_path))
    receivers = setup_logging.send(
        sender=None, loglevel=logging.INFO, logfile=None, format="%(message)s", colorize=False
    )
    assert [receiver for receiver, _ in receivers] == [celery_logging.setup_dual_log]
    task_log = get_task_logger("proj.tasks")
    ids = new_ids(20)
    for task_id in ids:
        task_log.info("task ran id=%s", task_id)
    task_log.debug("below the worker's --loglevel")
    dual_log.flush_all(5.0)

    stdout = capsys.readouterr().out.splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    assert [r["message"] for r in records] == [f"task ran id={i}" for i in ids]
    assert {r["logger"] for r in records} == {"proj.tasks"}
    assert stdout == [line for line in stdout if " INFO proj.tasks task ran id=" in line]
    assert len(stdout) == len(ids)
    assert logging.getLogger().level == logging.INFO


def test_celery_logfile_option_names_the_file(
    celery_logging: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """celery_logging.py: the worker's --logfile becomes the file dual_log writes."""
    from celery.signals import setup_logging

    import dual_log

    logfile = tmp_path / "worker.log"
    setup_logging.send(
        sender=None, loglevel=logging.WARNING, logfile=str(logfile), format="", colorize=False
    )
    logging.getLogger("celery.worker").warning("worker warned")
    logging.getLogger("celery.worker").info("below --loglevel WARNING")
    dual_log.flush_all(5.0)
    records, torn = read_records(logfile)
    assert torn == []
    assert [(r["logger"], r["message"]) for r in records] == [("celery.worker", "worker warned")]
    assert capsys.readouterr().out.splitlines()[-1].endswith(" celery.worker worker warned")


CELERY_APP = """
from celery import Celery
from celery.utils.log import get_task_logger

import celery_logging  # noqa: F401

FOLDER = {folder!r}
app = Celery("jobs", broker="filesystem://")
app.conf.update(
    broker_transport_options={{
        "data_folder_in": FOLDER, "data_folder_out": FOLDER, "polling_interval": 0.05,
    }},
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
)
log = get_task_logger(__name__)


@app.task(name="jobs.work")
def work(job_id):
    log.info("task ran id=%s", job_id)
"""


@pytest.mark.e2e
@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_celery_worker_logs_go_to_both_sinks_once(
    tmp_path: Path, log_path: Path, python: str, pool: str
) -> None:
    """A real worker importing celery_logging.py: task and worker records once in each sink."""
    queue = tmp_path / "queue"
    queue.mkdir()
    (tmp_path / "jobs.py").write_text(CELERY_APP.format(folder=str(queue)))
    (tmp_path / "celery_logging.py").write_text((INTEGRATIONS / "celery_logging.py").read_text())
    env = server_env(log_path, DUAL_LOG_MAX_BYTES="8KiB", DUAL_LOG_KEEP="100")
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{ROOT}"
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    args = [python, "-m", "celery", "-A", "jobs", "worker", f"--pool={pool}", "--loglevel=INFO"]
    args += ["--concurrency=2", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    args += ["--hostname=jobs@localhost"]
    ids = new_ids(40)
    # Queued before the worker starts: kombu's filesystem transport can read a message
    # file its producer is still writing, which kills the worker with a JSON error.
    subprocess.run(
        [python, "-c", "import sys, jobs; [jobs.work.delay(i) for i in sys.argv[1:]]", *ids],
        cwd=tmp_path,
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
    )
    worker = start(args, tmp_path, env, out, err)
    try:
        wait_for(
            lambda: text(out).count(" task ran id=") >= len(ids),
            START_TIMEOUT,
            f"{len(ids)} tasks to run; stderr: {text(err)[-2000:]}",
        )
    finally:
        stop(worker)
    assert worker.returncode == 0, text(err)

    stdout = text(out).splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    assert len(files(log_path)) > 1, "the file should have rotated"
    for job_id in ids:
        assert sum(line.endswith(f" jobs task ran id={job_id}") for line in stdout) == 1
        assert sum(r["message"] == f"task ran id={job_id}" for r in records) == 1
    # The worker's own records: one "succeeded" per task from celery.app.trace, both sinks.
    succeeded = [r for r in records if " succeeded in " in r["message"]]
    assert len(succeeded) == len(ids)
    assert {r["logger"] for r in succeeded} == {"celery.app.trace"}
    assert sum(" succeeded in " in line for line in stdout) == len(ids)
    assert sum(r["message"] == "jobs@localhost ready." for r in records) == 1
    assert " task ran id=" not in text(err)
