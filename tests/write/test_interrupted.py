"""An exception from a signal handler, wherever it strikes a write, loses and repeats nothing.

With ``queue=False`` the calling thread writes, and Python runs signal handlers in that
thread: an application's SIGTERM handler that raises ``SystemExit``, or Ctrl-C's
``KeyboardInterrupt``, may cut a write short, even after ``os.write`` returned and before
the lines are known to be written. The exit that follows writes what is left. CPython
runs signal handlers when a function starts and when a C function returns (and at loop
back-edges, which in dual_log's write path all call C functions too). These tests raise
``KeyboardInterrupt`` at each such point of one log call in dual_log's code, one run per
point, and check the files after ``close()``.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from dual_log import FileHandler
from tests.helpers.logfiles import read_records

PACKAGE = str(Path(__file__).resolve().parents[2] / "dual_log")


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("interrupted", logging.INFO, __file__, 1, message, None, None)


class Interrupter:
    """Raises KeyboardInterrupt at the ``at``-th point in dual_log's code (0: never)."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.points = 0

    def _strike(self, frame: FrameType) -> None:
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return
        self.points += 1
        if self.points == self.at:
            sys.setprofile(None)
            raise KeyboardInterrupt

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event in ("call", "c_return"):
            self._strike(frame)

    def run(self, handler: FileHandler, record: logging.LogRecord) -> bool:
        """Handle ``record`` with the interruption armed; whether it struck."""
        sys.setprofile(self.profile)
        try:
            handler.handle(record)
        except KeyboardInterrupt:
            return True
        finally:
            sys.setprofile(None)
        return False


def _log_interrupted(folder: Path, at: int, max_bytes: int) -> tuple[bool, int]:
    folder.mkdir()
    handler = FileHandler(folder / "app.log", queue=False, max_bytes=max_bytes, keep=50)
    try:
        for n in range(3):
            handler.handle(_record(f"before {n}"))
        interrupter = Interrupter(at)
        struck = interrupter.run(handler, _record("interrupted"))
        handler.handle(_record("after"))
    finally:
        handler.close()
    return struck, interrupter.points


def _messages(folder: Path) -> Counter[str]:
    records, torn = read_records(folder / "app.log")  # and its rotated siblings
    assert torn == []
    return Counter(record["message"] for record in records)


@pytest.mark.parametrize("max_bytes", [0, 300], ids=["plain", "rotating"])
def test_an_interrupted_write_is_finished_at_close_exactly_once(
    tmp_path: Path, max_bytes: int
) -> None:
    """Every record is in the file once; the interrupted one at most once, never torn."""
    _, points = _log_interrupted(tmp_path / "count", 0, max_bytes)
    assert points > 20  # the interruption is tried at each of them
    if max_bytes:  # the interrupted call rotates the file
        assert list((tmp_path / "count").glob("app.log.*"))
    for at in range(1, points + 1):
        folder = tmp_path / str(at)
        struck, _ = _log_interrupted(folder, at, max_bytes)
        assert struck
        seen = _messages(folder)
        assert [seen[f"before {n}"] for n in range(3)] == [1, 1, 1], at
        assert seen["after"] == 1, at
        assert seen["interrupted"] <= 1, at
        assert set(seen) <= {"before 0", "before 1", "before 2", "interrupted", "after"}
