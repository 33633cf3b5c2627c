"""``dual-log tail``: the last records, and following the live file across rotations made by
several writer processes."""

from __future__ import annotations

import collections
import gzip
import json
import re
import selectors
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.cli import (
    DUAL_LOG,
    ROOT,
    records,
    run,
    start_paced,
    start_writer,
    write_machine,
)

# 1,000 records a second in all, for 10 s, from two processes.
RATE = 500
PER_WRITER = 5000


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


def _read_until(
    process: subprocess.Popen[bytes], expected: int, limit: float, quiet: float = 0
) -> list[str]:
    """Lines printed by ``process`` until ``expected`` came, ``limit`` seconds passed, or
    (with ``quiet``) nothing more came for that long after a first line."""
    lines: list[str] = []
    deadline = time.monotonic() + limit
    last = deadline
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        buffered = b""
        while len(lines) < expected and time.monotonic() < deadline:
            if quiet and lines and time.monotonic() - last > quiet:
                break
            if selector.select(timeout=0.2):
                last = time.monotonic()
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


def _stop(process: subprocess.Popen[bytes]) -> str:
    """Stop a follower with SIGTERM; what it said on stderr (it must exit 0)."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    assert process.stdout is not None
    said = process.stderr.read().decode()
    process.stderr.close()
    process.stdout.close()
    return said


def _paced(log: Path, follower: subprocess.Popen[bytes], *options: str) -> list[str]:
    """Two processes logging RATE records a second each; what ``follower`` printed, read
    as it comes (a pipe left full would hold the follower up) until all came or it was
    quiet for 10 s after the writers ended."""
    writers = [start_paced(log, "m-one", f"w{n}", PER_WRITER, RATE, *options) for n in range(2)]
    seen: list[str] = []
    reader = threading.Thread(
        target=lambda: seen.extend(_read_until(follower, 2 * PER_WRITER, 60, quiet=6))
    )
    reader.start()
    for writer in writers:
        assert writer.wait(timeout=90) == 0
    reader.join(timeout=70)
    return seen


@pytest.mark.paced  # 10 s at 1,000 records/s
def test_follow_from_before_the_file_exists_prints_every_record_once_in_time_order(
    tmp_path: Path,
) -> None:
    """tail -f -n 0 started before the file exists, two processes logging 1,000 records/s in
    all for 10 s into 64 KiB files, keep 3, gzipped: every record once, in time order, though
    most files were rotated past keep long before the end."""
    log = tmp_path / "app.log"
    follower = _follow(log)
    time.sleep(0.5)  # it has looked, and found nothing
    seen = _paced(log, follower, "max_bytes=64KiB", "keep=3", "compress=true")
    said = _stop(follower)
    oldest = gzip.decompress((tmp_path / "app.log.3.gz").read_bytes())
    assert b"w0-000000" not in oldest
    assert b"w1-000000" not in oldest
    found = [json.loads(line) for line in seen]
    messages = collections.Counter(r["message"] for r in found)
    assert len(messages) == 2 * PER_WRITER
    assert max(messages.values()) == 1
    times = [r["time"] for r in found]
    assert times == sorted(times)
    assert said.splitlines() == [f"dual-log: {log} is not there yet; waiting for it"]


@pytest.mark.paced  # 10 s at 1,000 records/s
def test_files_rotated_past_keep_before_they_could_be_read_are_counted(tmp_path: Path) -> None:
    """With 4 KiB files and keep 3 at 1,000 records/s, one batch of a writer rotates several
    files past keep under its lock: tail -f prints every record still to be had, once, and
    says how many files were gone, with about as many records as are missing."""
    log = tmp_path / "app.log"
    follower = _follow(log)
    time.sleep(0.5)
    seen = _paced(log, follower, "max_bytes=4KiB", "keep=3", "compress=true")
    said = _stop(follower)
    messages = collections.Counter(json.loads(line)["message"] for line in seen)
    assert max(messages.values()) == 1
    missing = 2 * PER_WRITER - len(messages)
    assert missing > 0  # about half: each batch rotates about six files, three are kept
    waiting, first, *_, last = said.splitlines()
    assert waiting.endswith("is not there yet; waiting for it")
    assert "rotated file(s) were removed before they could be read" in first
    (found,) = re.findall(r"in all, (\d+) rotated file\(s\) \(about (\d+) records", last)
    files, about = map(int, found)
    # Each file held about 20 records: the estimate is off by at most one a file.
    assert files > 0
    assert abs(about - missing) <= files


def test_started_during_a_rotation_reads_the_newest_rotated_file_then_the_new_one(
    tmp_path: Path,
) -> None:
    """Started while the live file is renamed away (only app.log.1 there), tail -n 3 prints
    the last 3 records of app.log.1, and tail -f -n 0 prints the new live file whole."""
    write_machine(tmp_path, "m-one", 50)
    (tmp_path / "app.log").rename(tmp_path / "app.log.1")
    done = run("tail", "-n", "3", str(tmp_path / "app.log"), "--json")
    assert done.returncode == 0, done.stderr
    assert [r["message"].rsplit("-", 1)[1] for r in records(done.stdout)] == ["47", "48", "49"]
    follower = _follow(tmp_path / "app.log")
    time.sleep(0.5)
    write_machine(tmp_path, "m-two", 20)
    seen = _read_until(follower, 20, 20)
    assert _stop(follower) == ""
    assert [json.loads(line)["fly_machine"] for line in seen] == ["m-two"] * 20


def test_last_records_reach_into_the_newest_rotated_file(tmp_path: Path) -> None:
    """tail -n 10 when the live file holds 4 records: 6 from app.log.1, then the 4."""
    write_machine(tmp_path, "m-one", 30)
    (tmp_path / "app.log").rename(tmp_path / "app.log.1")
    write_machine(tmp_path, "m-two", 4)
    done = run("tail", "-n", "10", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    assert [r["fly_machine"] for r in found] == ["m-one"] * 6 + ["m-two"] * 4
    assert [r["message"].rsplit("-", 1)[1] for r in found[:6]] == [str(n) for n in range(24, 30)]
