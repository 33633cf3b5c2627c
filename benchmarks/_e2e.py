"""End to end: a sample application under gunicorn, with dual_log and with stdout only.

gunicorn serves the sample with 4 workers on 127.0.0.1, stdout to /dev/null and the log
file in a temporary folder; a second process (``wrk`` when it is installed, else
``benchmarks._load``) sends requests for a warm-up second, then for ``seconds``, and
the requests per second of the timed part are reported. Each configuration runs the
same application; only its logging differs (see ``benchmarks._e2e_app``). After the
server stops, the file's lines are counted: each sample logs one line per request, so
they should match the requests answered (plus the few in flight when the load stopped).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 4
START_TIMEOUT = 60.0

# name -> (folder of the sample, its WSGI target, gunicorn options its Dockerfile's CMD
# gives besides workers and bind, a path it answers 200 on, with a query string)
APPS: dict[str, tuple[str | None, str | None, list[str], str]] = {
    "django": ("sample_projects/django_app", "mysite.wsgi:application", [], "/?id=bench"),
    "flask": ("sample_projects/flask_app", "app:create_app()", ["--preload"], "/?id=bench"),
    "minimal": (None, None, [], "/?id=bench"),
}
# name -> (label, environment); "stdout" swaps dual_log's handlers for a StreamHandler.
LOGGING = {
    "stdout": ("stdout only (StreamHandler)", {"BENCH_LOGGING": "stdout"}),
    "dual_queue": ("dual_log, queue=True (default)", {}),
    "dual_direct": ("dual_log, queue=False", {"DUAL_LOG_QUEUE": "false"}),
}


def available(name: str) -> bool:
    """Whether the sample ``name`` exists in this checkout."""
    folder = APPS[name][0]
    return folder is None or os.path.isdir(os.path.join(ROOT, folder))


def run(
    *,
    apps: list[str],
    seconds: float,
    connections: int,
    rounds: int = 3,
    progress: Any = None,
) -> dict[str, Any]:
    """Serve each app with each logging set-up, ``rounds`` times in turn; requests per second.

    A round serves one application with every logging set-up in turn, so a burst of load
    from elsewhere on the machine falls on all of them alike; a row keeps the median
    requests per second of its rounds.
    """
    loader = "wrk" if shutil.which("wrk") else "python"
    rows = []
    for app in apps:
        runs: dict[str, list[dict[str, Any]]] = {key: [] for key in LOGGING}
        for round_no in range(rounds):
            for logging_key, (_label, env) in LOGGING.items():
                runs[logging_key].append(_serve_and_load(app, env, seconds, connections, loader))
                if progress:
                    progress(f"end to end {app} round {round_no + 1}/{rounds}: {logging_key}")
        base: float | None = None
        for logging_key, (label, _env) in LOGGING.items():
            results = runs[logging_key]
            rps = statistics.median(r["rps"] for r in results)
            if logging_key == "stdout":
                base = rps
            rows.append(
                {
                    "app": app,
                    "logging": logging_key,
                    "label": label,
                    "rps": rps,
                    "runs": [r["rps"] for r in results],
                    "ratio": rps / base if base else None,
                    "requests": sum(r["served"] for r in results),
                    "file_lines": sum(r["file_lines"] for r in results),
                    "non_2xx": sum(r["non_2xx"] for r in results),
                    "errors": sum(r["errors"] for r in results),
                    "stderr": sorted({e for r in results for e in r["stderr"]}),
                }
            )
    return {
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "loader": loader,
        "workers": WORKERS,
        "rows": rows,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve_and_load(
    app: str, env: dict[str, str], seconds: float, connections: int, loader: str
) -> dict[str, Any]:
    folder, target, options, path = APPS[app]
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="dual_log-bench-e2e-") as scratch:
        log_path = os.path.join(scratch, "app.log")
        environ = {
            **os.environ,
            "DUAL_LOG_PATH": log_path,
            "DUAL_LOG_PLATFORM_FIELDS": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            **env,
        }
        if target:
            environ["BENCH_WSGI"] = target
        command = [
            sys.executable, "-m", "gunicorn", "benchmarks._e2e_app:app",
            "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
            "--graceful-timeout", "10", "--log-level", "warning",
            *options,
        ]  # fmt: skip
        if folder:
            command += ["--chdir", os.path.join(ROOT, folder)]
        with open(os.path.join(scratch, "stderr"), "w+b") as stderr:
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
            try:
                url = f"http://127.0.0.1:{port}{path}"
                _wait_until_serving(server, url, stderr)
                warm = _load(loader, url, 1.0, connections)  # imports, first requests
                result = _load(loader, url, seconds, connections)
            finally:
                _stop(server)
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace").strip()
        lines = _count_lines(scratch)
    return {
        **result,
        "rps": result["requests"] / result["seconds"],
        # Answered requests the loader counted, the readiness check's one included; a
        # request in flight when the loader stops is logged but not counted.
        "served": 1 + int(warm["requests"]) + int(result["requests"]),
        "file_lines": lines,
        "stderr": [errors[-2000:]] if errors else [],
    }


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, stderr: Any) -> None:
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr.seek(0)
            raise RuntimeError(
                "gunicorn exited at start: " + stderr.read().decode(errors="replace")[-2000:]
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 (loopback)
        ):
            response.read()
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {url} within {START_TIMEOUT}s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


_WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(\w+)")
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _load(loader: str, url: str, seconds: float, connections: int) -> dict[str, float]:
    timeout = seconds + 60
    if loader == "wrk":
        threads = min(2, connections)
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", url]
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=True
        ).stdout
        match = _WRK_REQUESTS.search(out)
        if match is None:
            raise RuntimeError(f"unexpected wrk output: {out}")
        non_2xx = _WRK_NON_2XX.search(out)
        errors = _WRK_ERRORS.search(out)
        # wrk reports a read error for each connection gunicorn's sync worker closes
        # after its response, so only connect, write and timeout errors are errors here.
        return {
            "requests": int(match.group(1)),
            "seconds": float(match.group(2)) * _UNITS[match.group(3)],
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "errors": sum(int(errors.group(i)) for i in (1, 3, 4)) if errors else 0,
        }
    command = [sys.executable, "-m", "benchmarks._load", url, str(seconds), str(connections)]
    out = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def _count_lines(folder: str) -> int:
    count = 0
    for name in os.listdir(folder):
        if name.startswith("app.log"):
            with open(os.path.join(folder, name), "rb") as file:
                count += file.read().count(b"\n")
    return count
