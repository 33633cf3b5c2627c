"""Faults of stdout under a running application: a reader that goes away, a closed stream.

The file must go on with every record, stderr must say it once (no traceback per record),
the stdout counter must equal the records that did not reach the reader, and the
application must exit 0.
"""

from __future__ import annotations

import select
import time
from typing import TYPE_CHECKING, Any

import pytest

from faults.harness import App, Outcome, expected_ids, stdout_ids

if TYPE_CHECKING:
    from pathlib import Path

    from faults.harness import Measurements

pytestmark = pytest.mark.faults

BATCH = 200


def read_lines(app: App, count: int, timeout: float = 30.0) -> list[str]:
    """Read ``count`` lines from the application's stdout pipe."""
    assert app.proc.stdout is not None
    fd = app.proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            chunk = app.proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()


def check(
    app: App,
    path: Path,
    final: dict[str, Any],
    seen: list[str],
    measure: Measurements,
    scenario: str,
    mode: str,
    error: str,
) -> None:
    """The file kept everything; stdout's counter equals what the reader did not get."""
    logged = [*expected_ids("a", BATCH), *expected_ids("b", BATCH)]
    out = Outcome.read(path, logged)
    stderr = app.stderr()
    lines = app.dual_log_lines()
    assert app.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert out.missing == []
    assert out.duplicated == []
    assert out.torn == []
    assert final["file_missed"] == 0
    assert seen == expected_ids("a", BATCH)
    not_seen = len(logged) - len(seen)
    assert final["stdout_missed"] == not_seen  # the counter is honest
    assert final["stdout_written"] == len(seen)
    stdout_faults = [line for line in lines if "cannot write to stdout" in line]
    assert len(stdout_faults) == 1, lines
    assert error in stdout_faults[0]
    assert len(lines) == 1, lines
    measure.record(
        scenario,
        mode=mode,
        logged=len(logged),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        reported=final["file_missed"],
        stdout=len(seen),
        stdout_missed=final["stdout_missed"],
        stderr_lines=len(lines),
        exit=app.returncode,
    )


def test_broken_pipe_on_stdout(tmp_path: Path, queue: bool, measure: Any) -> None:
    """The reader of stdout goes away (EPIPE): the file gets every record, the app exits 0."""
    path = tmp_path / "app.log"
    app = App(tmp_path / "app", {"path": str(path), "queue": queue}, stdout="pipe")
    try:
        app.log("a", BATCH)
        seen = stdout_ids("\n".join(read_lines(app, BATCH)))
        assert app.proc.stdout is not None
        app.proc.stdout.close()  # the shipper dies
        app.log("b", BATCH)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    check(app, path, final, seen, measure, "stdout a pipe whose reader closes (EPIPE)",
          "queue" if queue else "sync", "EPIPE")  # fmt: skip


def test_stdout_closed_by_the_application(tmp_path: Path, queue: bool, measure: Any) -> None:
    """``sys.stdout`` closed mid-run: the file gets every record, no traceback, exit 0."""
    path = tmp_path / "app.log"
    app = App(tmp_path / "app", {"path": str(path), "queue": queue})
    try:
        app.log("a", BATCH)
        app.send("close_stdout")
        app.log("b", BATCH)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    seen = stdout_ids(app.stdout())
    check(app, path, final, seen, measure, "sys.stdout closed by the application",
          "queue" if queue else "sync", "closed file")  # fmt: skip
