"""Fixtures of the capture tests: a real nats-server per test, stopped after it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from capture.rig import CaptureProcess, NatsServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A running nats-server on a free loopback port, with a user and a password."""
    server = NatsServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def start_capture(nats_server: NatsServer) -> Iterator[Callable[..., CaptureProcess]]:
    """Starts capture processes against ``nats_server``; kills any left running after."""
    started: list[CaptureProcess] = []

    def start(path: Path, *args: str, **options: Any) -> CaptureProcess:
        process = CaptureProcess(nats_server, path, *args, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()
