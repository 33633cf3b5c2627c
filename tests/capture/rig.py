"""A real nats-server, a real capture process, and a publisher of platform-shaped lines.

``NatsServer`` runs Debian's ``nats-server`` on a free loopback port with a user and a
password, and can be killed, restarted on the same port, or frozen (SIGSTOP) like a
server that hangs. ``CaptureProcess`` runs ``python -m dual_log.capture`` against it,
reads its stderr and its health endpoint. ``publish`` sends messages shaped as the
platform's log shipper sees them, each carrying a unique id as the first word of its
message, so a test can tell exactly which reached the file; it speaks the protocol on a
plain socket, apart from the capture's own client.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from helpers.logfiles import read_records

USER = "test-org"
PASSWORD = "test-token"
# Generous: the machine is shared; a hung process must fail the test, not the run.
TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, timeout: float = TIMEOUT, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something true; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class NatsServer:
    """``nats-server`` on 127.0.0.1 with user ``test-org`` and password ``test-token``."""

    def __init__(self, workdir: Path, config: str = "") -> None:
        binary = shutil.which("nats-server")
        assert binary, "nats-server is not installed: scripts/run-tests installs it"
        self.binary = binary
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = workdir / "nats-server.log"
        self.config = workdir / "nats-server.conf"
        self.config.write_text(config)  # e.g. 'ping_interval: "100ms"'
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again, on the same port) and wait until it accepts connections."""
        argv = [self.binary, "-c", str(self.config), "-a", "127.0.0.1", "-p", str(self.port)]
        argv += ["--user", USER, "--pass", PASSWORD]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

        def accepting() -> bool:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                return sock.recv(4).startswith(b"INFO")
            return False

        wait_until(accepting, what=f"nats-server on port {self.port}")

    def kill(self) -> None:
        """End it at once (SIGKILL), as a crashed server ends."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGCONT)
                self.proc.kill()
            self.proc.wait(TIMEOUT)
            self.proc = None

    def freeze(self) -> None:
        """Stop it (SIGSTOP): connections stay open, nothing flows."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def fly_body(
    rid: str, app: str, region: str, machine: str, level: str = "info", when: float | None = None
) -> bytes:
    """A message body as the platform's log stream carries it, with ``rid`` first in it."""
    return wrap(f"{rid} a line from {app} on {machine}", app, region, machine, level, when)


def wrap(
    line: str, app: str, region: str, machine: str, level: str = "info", when: float | None = None
) -> bytes:
    """The body the platform makes of ``line``, printed by ``app`` on ``machine``."""
    moment = datetime.fromtimestamp(time.time() if when is None else when, tz=timezone.utc)
    return json.dumps(
        {
            "event": {"provider": "app"},
            "fly": {"app": {"instance": machine, "name": app}, "region": region},
            "host": f"host-{machine}",
            "log": {"level": level},
            "message": line,
            # Nanoseconds, as the platform writes them.
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
        }
    ).encode()


def subject(app: str, region: str, machine: str) -> str:
    """The subject the platform publishes an app's lines on."""
    return f"logs.{app}.{region}.{machine}"


def publish(
    url: str, items: list[tuple[str, bytes]], headers: dict[str, str] | None = None
) -> None:
    """Publish ``(subject, body)`` pairs and wait until the server has them all.

    Written here on a plain socket, a few lines of the protocol: PING goes after the last
    PUB, so its PONG means the server has every message, and has handed each one to the
    subscribers. (nats-py 2.16's ``flush()`` writes its PING ahead of publishes still in
    its buffer, so it may return before the server has them.)
    """
    address = url.removeprefix("nats://").rsplit(":", 1)
    with socket.create_connection((address[0], int(address[1])), timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"INFO ")
        login = {"verbose": False, "pedantic": False, "user": USER, "pass": PASSWORD}
        sock.sendall(b"CONNECT " + json.dumps({**login, "headers": True}).encode() + b"\r\n")
        head = b""
        if headers:
            head = (
                b"NATS/1.0\r\n"
                + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
                + b"\r\n"
            )
        frames = []
        for topic, body in items:
            if head:
                sizes = b"%d %d" % (len(head), len(head) + len(body))
                frames.append(b"HPUB " + topic.encode() + b" " + sizes + b"\r\n" + head + body)
            else:
                frames.append(b"PUB " + topic.encode() + b" %d\r\n" % len(body) + body)
            frames.append(b"\r\n")
            if len(frames) >= 2000:
                sock.sendall(b"".join(frames))
                frames.clear()
        sock.sendall(b"".join(frames) + b"PING\r\n")
        while True:
            line = reader.readline()
            assert line, "the server closed the connection"
            assert not line.startswith(b"-ERR"), line
            if line == b"PONG\r\n":
                return
            if line == b"PING\r\n":
                sock.sendall(b"PONG\r\n")


def rid_of(record: dict[str, Any]) -> str:
    """The id a record carries: the first word of its message (or of its raw body)."""
    text = record.get("message", record.get("raw", ""))
    return str(text).split(" ", 1)[0]


def ids_in(path: Path, torn_allowed: int = 0) -> collections.Counter[str]:
    """How often each id occurs in ``path`` and its rotated siblings.

    A line cut by a full disk is allowed only where ``torn_allowed`` says, and only as a
    line of its own (the file sink's promise), never glued to the next.
    """
    records, torn = read_records(path) if path.exists() else ([], [])
    assert len(torn) <= torn_allowed, torn[:3]
    assert all(line.startswith("{") and line.count('"message"') <= 1 for line in torn), torn
    return collections.Counter(rid_of(r) for r in records)


class CaptureProcess:
    """``python -m dual_log.capture`` in its own process, with a health endpoint."""

    def __init__(
        self,
        server: NatsServer,
        path: Path,
        *args: str,
        env: dict[str, str] | None = None,
        stall: float = 0,
        strace: list[str] | None = None,
    ) -> None:
        self.path = path
        self.health_port = free_port()
        self.stderr_path = path.parent.parent / f"capture-{path.stem}-{self.health_port}.stderr.txt"
        argv = [*(strace or []), sys.executable, "-m", "dual_log.capture", "--path", str(path)]
        argv += ["--server", server.url, "--reconnect-wait", "0.5", "--connect-timeout", "1"]
        argv += ["--stall-seconds", str(stall), "--stop-timeout", "10"]
        argv += ["--health-port", str(self.health_port), "--health-host", "127.0.0.1", *args]
        environment = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DUAL_LOG_", "FLY_"))
            and k not in ("NATS_URL", "ORG", "ACCESS_TOKEN", "SUBJECT", "QUEUE")
        }
        environment.update(ORG=USER, ACCESS_TOKEN=PASSWORD, PYTHONDONTWRITEBYTECODE="1")
        environment.update(env or {})
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115  # closed in wait()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=self._stderr, env=environment
        )
        self.returncode: int | None = None

    def stderr(self) -> str:
        """Everything it said on stderr so far."""
        return self.stderr_path.read_text("utf-8", "replace")

    def wait_for(self, pattern: str, count: int = 1, timeout: float = TIMEOUT) -> list[str]:
        """The stderr lines matching ``pattern``, once there are ``count`` of them."""

        def found() -> list[str]:
            assert self.proc.poll() is None or self.returncode is not None, (
                f"capture exited ({self.proc.returncode}):\n{self.stderr()}"
            )
            lines = [line for line in self.stderr().splitlines() if re.search(pattern, line)]
            return lines if len(lines) >= count else []

        try:
            return list(wait_until(found, timeout, f"{pattern!r} on stderr"))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; stderr:\n{self.stderr()}") from None

    def ready(self) -> CaptureProcess:
        """Wait until it has subscribed."""
        self.wait_for(r"capture: subscribed to ")
        return self

    def health(self) -> tuple[int, dict[str, Any]]:
        """The health endpoint's status code and JSON body."""
        url = f"http://127.0.0.1:{self.health_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:  # loopback
                return int(answer.status), dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            return int(error.code), dict(json.loads(error.read()))

    def written_reaches(self, count: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Wait until the capture has received and written ``count`` lines in all."""

        def done() -> dict[str, Any] | None:
            _, body = self.health()
            return body if body["written"] + body["missed"] >= count else None

        return dict(wait_until(done, timeout, f"{count} lines handled"))

    def stop(self, timeout: float = TIMEOUT) -> int:
        """SIGTERM, then wait for the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to end; kill it (and fail) if it does not."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
            raise AssertionError(f"capture did not exit in {timeout}s:\n{self.stderr()}") from None
        finally:
            self._stderr.close()
        return self.returncode
