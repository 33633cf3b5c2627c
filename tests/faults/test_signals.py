"""SIGTERM and SIGINT in the middle of a burst of records, in each write mode.

What the application logged before the signal must be in the file (the queue is written
out first), and the signal must still do what it did without dual_log: kill the process
by that signal, raise KeyboardInterrupt, or run the handler the application installed.
"""

from __future__ import annotations

import json
import signal
import time
from typing import TYPE_CHECKING, Any

import pytest

from faults.harness import App, Outcome, expected_ids, stdout_ids

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.faults

BURST = 400_000  # far more than is logged before the signal lands
BEFORE_SIGNAL = 200_000  # bytes of stdout (about 3000 records) before the signal is sent


def wait_for_output(app: App, size: int, timeout: float = 30.0) -> None:
    """Wait until the application has written ``size`` bytes to stdout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.stdout_path.stat().st_size >= size:
            return
        time.sleep(0.01)
    raise AssertionError(f"no burst on stdout within {timeout}s:\n{app.stderr()}")


@pytest.mark.parametrize("prior", [False, True], ids=["default-action", "app-handler"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_burst(
    tmp_path: Path, queue: bool, signum: int, prior: bool, measure: Any
) -> None:
    """A signal mid-burst: every record logged before it is in the file; it is not swallowed."""
    path = tmp_path / "app.log"
    options = {"path": str(path), "queue": queue, "max_bytes": 0}
    app = App(tmp_path / "app", options, prior_handlers=prior)
    try:
        assert app.send("burst", tag="s", count=BURST)["bursting"]
        wait_for_output(app, BEFORE_SIGNAL)
        app.proc.send_signal(signum)
        code = app.wait(60)
    finally:
        if app.returncode is None:
            app.kill()
    name = signal.Signals(signum).name
    stderr = app.stderr()
    if prior:  # the application's own handler ran, after the flush
        assert code == 70 + signum, stderr
        assert app.prior_marker.read_text() == f"{name}\n"
    elif signum == signal.SIGINT:  # KeyboardInterrupt, and Python's exit by SIGINT
        assert code == -signal.SIGINT, stderr
        assert "KeyboardInterrupt" in stderr
    else:  # killed by SIGTERM itself, as without dual_log
        assert code == -signal.SIGTERM, stderr
    on_stdout = stdout_ids(app.stdout())
    assert 0 < len(on_stdout) < BURST  # the signal landed mid-burst
    assert on_stdout == expected_ids("s", len(on_stdout))
    out = Outcome.read(path, on_stdout)
    assert out.duplicated == []
    assert out.torn == []
    assert out.unknown == []
    # The record whose logging call the signal interrupted may have reached stdout and
    # not the file; every record before it is in the file.
    assert len(out.missing) <= 1
    assert set(out.missing) <= {on_stdout[-1]}
    report: dict[str, Any] = {}
    if app.signal_report.exists():
        report = json.loads(app.signal_report.read_text())
        assert report["left_after_flush"] == 0
    else:  # dual_log installs no handler in sync mode: nothing is queued there
        assert not queue
    measure.record(
        f"{name} mid-burst, " + ("app's own handler first" if prior else "default action"),
        mode="queue" if queue else "sync",
        logged=len(on_stdout),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        queued_at_signal=report.get("queued_at_signal", 0),
        exit=code,
    )
