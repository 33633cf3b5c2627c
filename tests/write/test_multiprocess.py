"""Several processes, and forked children, writing and rotating one file: nothing lost,
duplicated or torn."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers.group import run_group
from tests.helpers.logfiles import files, read_records

WRITER = [sys.executable, "-m", "tests.helpers.writer"]


def _ids(tag: str, pid: int, threads: int, count: int) -> set[str]:
    return {f"{tag}-{pid}.{t}-{n}" for t in range(threads) for n in range(count)}


def _check(path: Path, expected: set[str], reports: list[dict[str, int]]) -> None:
    records, torn = read_records(path)
    counts = collections.Counter(r["message"] for r in records)
    assert torn == []
    assert set(counts) == expected, f"lost {len(expected - set(counts))}"
    assert max(counts.values()) == 1, "duplicated"
    assert sum(r["written"] for r in reports) == len(expected)
    assert sum(r["missed"] for r in reports) == 0


def _reports(stderr: str) -> list[dict[str, int]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("queue", ["true", "false"])
def test_four_processes_through_twenty_rotations(log_path: Path, queue: str) -> None:
    """4 processes x 20,000 records, rotating 20+ times: 0 lost, 0 duplicated, 0 torn."""
    count = 20_000
    options = [f"queue={queue}", "max_bytes=400KB", "keep=60"]
    procs = [
        subprocess.Popen(
            [*WRITER, str(log_path), f"p{i}", str(count), *options],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    reports = []
    expected: set[str] = set()
    for i, proc in enumerate(procs):
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        (report,) = _reports(err)
        reports.append(report)
        expected |= _ids(f"p{i}", report["pid"], 1, count)
    _check(log_path, expected, reports)
    assert len(files(log_path)) - 1 >= 20  # rotated files, beside the live one


@pytest.mark.parametrize("queue", ["true", "false"])
def test_fork_after_setup_like_gunicorn_preload(log_path: Path, queue: str) -> None:
    """Handlers used before fork() work in 3 children and the parent: none lost or doubled."""
    count = 5_000
    pre = 2_000
    proc = run_group(
        [
            *WRITER,
            str(log_path),
            "f",
            str(count),
            f"queue={queue}",
            "max_bytes=200KB",
            "keep=60",
            "--pre",
            str(pre),
            "--fork",
            "3",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    reports = _reports(proc.stderr)
    assert len(reports) == 4
    expected = {f"f-pre-{n}" for n in range(pre)}
    for report in reports:
        expected |= _ids("f", report["pid"], 2, count)
    # The parent's counters include what it logged before the fork; the children's do not.
    _check(log_path, expected, reports)
    assert len(files(log_path)) > 10
