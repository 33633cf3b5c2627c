"""Processes rotating one file under CPU contention, round after round, started every way
a server or a job queue starts them: every id exactly once, no torn line, in every round."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT
from tests.helpers.group import run_group
from tests.helpers.logfiles import files, read_records

if TYPE_CHECKING:
    from collections.abc import Iterator

ROUNDS = 10
# Small files and a long chain: every round rotates dozens of times.
OPTIONS = ["max_bytes=6KB", "keep=100000"]


@pytest.fixture
def cpu_burner() -> Iterator[None]:
    """A process that keeps one core busy, so writers are preempted mid-rotation."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def check_rounds(output: str) -> int:
    """Check each round the driver printed; return the rotations seen in all."""
    rounds = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(rounds) == ROUNDS
    rotated = 0
    for number, round_ in enumerate(rounds):
        path = Path(round_["path"])
        records, torn = read_records(path)
        counts = collections.Counter(r["message"].split()[0] for r in records)
        expected = set(round_["ids"])
        assert torn == [], f"round {number}: torn lines"
        assert expected - set(counts) == set(), f"round {number}: lost"
        assert set(counts) - expected == set(), f"round {number}: unknown ids"
        assert max(counts.values()) == 1, f"round {number}: duplicated"
        rotated += len(files(path)) - 1
    return rotated


@pytest.mark.parametrize(
    ("scenario", "queue"),
    [
        ("after_fork", "true"),
        ("after_fork", "false"),
        ("before_fork", "true"),
        ("before_fork", "false"),
        ("spawn", "true"),
        ("forkserver", "true"),
        ("pool", "true"),
    ],
)
def test_every_round_keeps_every_record_once(
    tmp_path: Path, cpu_burner: None, scenario: str, queue: str
) -> None:
    """10 rounds of 4 processes x 300 records, a rotation every ~50: 0 lost, doubled or torn."""
    proc = run_group(
        [
            sys.executable,
            "-m",
            "tests.helpers.contention",
            scenario,
            str(tmp_path),
            str(ROUNDS),
            "4",
            "300",
            f"queue={queue}",
            *OPTIONS,
        ],
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dual_log:" not in proc.stderr  # no fault, no drop, no failed rotation
    assert check_rounds(proc.stdout) >= ROUNDS * 20


@pytest.mark.e2e
def test_gunicorn_recycling_workers_under_traffic(tmp_path: Path, cpu_burner: None) -> None:
    """10 rounds of the Flask sample, 4 workers retired every ~15 requests, --preload every
    other round: every request's record once in the rotated files, none torn."""
    from tests.e2e.servers import SAMPLES, get, running, sample_environment
    from tests.e2e.test_web_samples import _argv

    for round_ in range(ROUNDS):
        preload = round_ % 2 == 0
        argv, cmd_args = _argv("flask_app", preload)
        logs = tmp_path / f"round-{round_}"
        base, env = sample_environment(
            logs, workers=4, cmd_args=f"{cmd_args} --max-requests 15 --max-requests-jitter 5",
            DUAL_LOG_MAX_BYTES="3KiB", DUAL_LOG_KEEP="100000",
        )  # fmt: skip
        ids = [f"r{round_}-{n:03d}" for n in range(120)]
        with running(argv, SAMPLES / "flask_app", env, logs) as server:
            server.wait_until_serving(f"{base}/?id=ready")
            with ThreadPoolExecutor(4) as pool:
                answers = [status for status, _ in pool.map(get, [f"{base}/?id={i}" for i in ids])]
            assert server.stop() == 0, server.stderr
            stdout, stderr = server.stdout, server.stderr
        assert answers == [200] * len(ids)
        assert "dual_log:" not in stderr
        # gunicorn's own records go through dual_log: workers were retired and replaced.
        assert stdout.count("Booting worker") > 4
        records, torn = read_records(logs / "app.log")
        assert torn == [], f"round {round_}"
        seen = collections.Counter(
            r["message"].split("=")[1].split()[0]
            for r in records
            if str(r.get("message", "")).startswith(f"GET /?id=r{round_}-")
        )
        assert seen == dict.fromkeys(ids, 1), f"round {round_}"
