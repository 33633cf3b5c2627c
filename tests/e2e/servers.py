"""Running a sample project the way its Dockerfile does, on a loopback port, for tests."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from email.message import Message

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_projects"
BOOT_SECONDS = 40.0
STOP_SECONDS = 30.0


def dockerfile_cmd(dockerfile: Path) -> list[str]:
    """The last ``CMD`` of a Dockerfile as an argv: the exec form as is, the shell form under sh."""
    text = re.sub(r"\\\r?\n", " ", dockerfile.read_text())
    commands = [
        line.strip()[3:].strip()
        for line in text.splitlines()
        if re.match(r"^\s*CMD\s", line, re.IGNORECASE)
    ]
    assert commands, f"{dockerfile} has no CMD"
    command = commands[-1]
    if command.startswith("["):
        argv = json.loads(command)
        assert isinstance(argv, list)
        assert all(isinstance(a, str) for a in argv)
        return argv
    return ["/bin/sh", "-c", command]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(**extra: str) -> dict[str, str]:
    """This environment without DUAL_LOG_* and FLY_*, the venv first on PATH, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DUAL_LOG_", "FLY_", "GUNICORN_", "DJANGO_", "WEB_CONCURRENCY"))
    }
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def sample_environment(
    logs: Path, *, workers: int, cmd_args: str, **extra: str
) -> tuple[str, dict[str, str]]:
    """A free loopback port's base URL, and the environment that serves a sample there
    with ``workers`` gunicorn workers, logging to ``logs/app.log`` (the folder is made)."""
    logs.mkdir()
    port = free_port()
    env = environment(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        GUNICORN_CMD_ARGS=cmd_args,
        DUAL_LOG_PATH=str(logs / "app.log"),
        **extra,
    )
    return f"http://127.0.0.1:{port}", env


def gunicorn_cmd_args(*args: str) -> str:
    """``GUNICORN_CMD_ARGS`` for tests: ``args``, and no control socket shared between runs."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        args = (*args, "--no-control-socket")
    return " ".join(args)


class Process:
    """A sample started in its folder, its stdout and stderr going to files.

    Args:
        argv: the command, e.g. from ``dockerfile_cmd``.
        cwd: the sample's folder.
        env: its environment.
        out: where its stdout and stderr files go.
    """

    def __init__(self, argv: list[str], cwd: Path, env: Mapping[str, str], out: Path) -> None:
        self.stdout_path = out / "stdout.txt"
        self.stderr_path = out / "stderr.txt"
        self._files: list[IO[bytes]] = [
            open(self.stdout_path, "ab"),  # noqa: SIM115  # closed in stop()
            open(self.stderr_path, "ab"),  # noqa: SIM115
        ]
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._files[0],
            stderr=self._files[1],
            start_new_session=True,
        )

    @property
    def stdout(self) -> str:
        """What it wrote to stdout so far."""
        return self.stdout_path.read_text(errors="backslashreplace")

    @property
    def stderr(self) -> str:
        """What it wrote to stderr so far."""
        return self.stderr_path.read_text(errors="backslashreplace")

    def wait_until_serving(self, url: str, timeout: float = BOOT_SECONDS) -> None:
        """Poll ``url`` until it answers; fail with its stderr if it exits or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}:\n{self.stderr}")
            # S310: the tests build these http://127.0.0.1 URLs themselves.
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
            time.sleep(0.1)
        raise AssertionError(f"not serving {url} after {timeout}s:\n{self.stderr}")

    def wait_for(self, text: str, timeout: float = BOOT_SECONDS) -> None:
        """Wait until its stdout contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stdout:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on stdout:\n{self.stderr[-3000:]}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_SECONDS) -> int:
        """Send ``signum``, wait for the exit, and return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def wait(self, timeout: float = STOP_SECONDS) -> int:
        """Wait for it to exit by itself and return the exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        """Kill what is left of its process group (its own session) and close the files."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        for file in self._files:
            file.close()


@contextlib.contextmanager
def running(argv: list[str], cwd: Path, env: Mapping[str, str], out: Path) -> Iterator[Process]:
    """A started ``Process`` that is killed on the way out if the test did not stop it."""
    process = Process(argv, cwd, env, out)
    try:
        yield process
    finally:
        process.kill()


def get(url: str, timeout: float = 15.0) -> tuple[int, str]:
    """GET ``url``: the status and the body, also for an error status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # as above
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def fetch(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 15.0
) -> tuple[int, dict[str, str], str]:
    """GET ``url`` sending ``headers``: the status, the response headers (lower-case names)
    and the body, also for an error status."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310  # as above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, _headers(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, _headers(error.headers), error.read().decode()


def _headers(message: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in message.items()}
