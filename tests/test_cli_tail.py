"""``dual-log tail``: the last records, and following the live file across rotations made by
several writer processes."""

from __future__ import annotations

import collections
import json
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.cli import DUAL_LOG, ROOT, records, run, start_writer, write_machine


def test_last_records_of_the_live_file(tmp_path: Path) -> None:
    """tail -n N prints the last N records of the live file; filters apply first."""
    write_machine(tmp_path, "m-one", 50)
    done = run("tail", "-n", "3", str(tmp_path / "app.log"), "--json")
    assert done.returncode == 0, done.stderr
    assert [r["message"].rsplit("-", 1)[1] for r in records(done.stdout)] == ["47", "48", "49"]
    folder = run("tail", "-n", "2", str(tmp_path), r"--grep=-1\d$", "--json")
    assert [r["message"].rsplit("-", 1)[1] for r in records(folder.stdout)] == ["18", "19"]
    missing = run("tail", str(tmp_path / "nothing.log"))
    assert missing.returncode == 1


def _follow(path: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [DUAL_LOG, "tail", "-f", "-n", "0", "--interval", "0.2", "--json", str(path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip


def _read_until(process: subprocess.Popen[bytes], expected: int, limit: float) -> list[str]:
    """Lines printed by ``process`` until ``expected`` came or ``limit`` seconds passed."""
    lines: list[str] = []
    deadline = time.monotonic() + limit
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        buffered = b""
        while len(lines) < expected and time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                data = process.stdout.read1(65536)  # type: ignore[attr-defined]
                if not data:
                    break
                buffered += data
                *complete, buffered = buffered.split(b"\n")
                lines += [c.decode() for c in complete]
    return lines


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_follow_across_rotations_by_several_processes(tmp_path: Path, stop: int) -> None:
    """tail -f prints every record of three rotating writers exactly once, in each writer's
    order, across many rotations (several between two looks), and exits 0 when stopped."""
    log = tmp_path / "app.log"
    log.touch()
    everything = _follow(log)
    only_w1 = _follow(log, "--grep", "^m-onew1-")
    time.sleep(0.5)  # both have opened the file
    count = 1500
    writers = [
        start_writer(
            log, "m-one", f"m-onew{n}", count, "max_bytes=6000", "keep=1000", "compress=true"
        )
        for n in range(3)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    assert len(list(tmp_path.glob("app.log.*.gz"))) > 50, "the writers must have rotated often"
    seen = _read_until(everything, 3 * count, 20)
    filtered = _read_until(only_w1, count, 10)
    for process in (everything, only_w1):
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert process.stderr.read() == b""
        process.stderr.close()
        assert process.stdout is not None
        process.stdout.close()
    messages = [json.loads(line)["message"] for line in seen]
    counts = collections.Counter(messages)
    assert len(messages) == 3 * count
    assert max(counts.values()) == 1
    for n in range(3):
        numbers = [int(m.rsplit("-", 1)[1]) for m in messages if m.startswith(f"m-onew{n}-")]
        assert numbers == list(range(count))
    w1 = [json.loads(line)["message"] for line in filtered]
    assert w1 == [m for m in messages if m.startswith("m-onew1-")]
