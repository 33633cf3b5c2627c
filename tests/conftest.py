"""Shared fixtures: every test leaves logging, signals and dual_log as it found them."""

from __future__ import annotations

import logging
import signal
import sys
import uuid
from pathlib import Path

import pytest

from dual_log import _sinks
from dual_log._write import lifecycle as _lifecycle

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Give SIGINT its usual meaning when the run inherited it ignored.

    A shell without job control starts background commands with SIGINT ignored; Python
    then keeps it ignored, and so does every child the tests start, so the tests of what
    Ctrl-C does would see nothing happen. A handler (unlike SIG_IGN) is not inherited
    across exec, so the children start with the default again.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    """Restore the root logger's handlers and level, and SIGTERM/SIGINT, after each test."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    signals = {s: signal.getsignal(s) for s in _lifecycle.SIGNALS}
    yield
    _sinks.detach(root)
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for signum, previous in signals.items():
        signal.signal(signum, previous)
    _lifecycle._previous.clear()
    _lifecycle._claims.clear()
    _lifecycle._unowned = False
    _lifecycle._watch.stop()


@pytest.fixture
def logger() -> logging.Logger:
    """A logger no other test uses, propagating to the root logger."""
    return logging.getLogger(f"test.{uuid.uuid4().hex[:12]}")


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """A log file path in a folder that exists."""
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder / "app.log"


@pytest.fixture
def python() -> str:
    """The interpreter running the tests, for subprocesses."""
    return sys.executable
