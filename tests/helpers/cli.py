"""Running the ``dual-log`` console script and writing machine folders for its tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
# The console script pip installed beside the interpreter running the tests.
DUAL_LOG = str(Path(sys.executable).with_name("dual-log"))


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``dual-log ARGS`` and wait for it."""
    return subprocess.run(
        [DUAL_LOG, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=ROOT,
    )


def records(stdout: str) -> list[dict[str, Any]]:
    """Every line of ``dual-log ... --json`` output, parsed (each must be JSON)."""
    return [json.loads(line) for line in stdout.splitlines()]


def machine_env(machine: str) -> dict[str, str]:
    """The environment of a process on the simulated Fly machine ``machine``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
    env.update(FLY_MACHINE_ID=machine, FLY_APP_NAME="shop-app", FLY_REGION="ams")
    return env


def start_writer(
    path: Path, machine: str, tag: str, count: int, *options: str
) -> subprocess.Popen[bytes]:
    """Start ``tests.helpers.writer`` logging ``count`` records as machine ``machine``."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.writer", str(path), tag, str(count), *options],
        env=machine_env(machine),
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )


def write_machine(
    folder: Path, machine: str, count: int, processes: int = 1, *options: str
) -> None:
    """Fill ``folder/app.log`` (rotated, gzipped) with ``count`` records per process."""
    folder.mkdir(parents=True, exist_ok=True)
    writers = [
        start_writer(folder / "app.log", machine, f"{machine}w{n}", count, *options)
        for n in range(processes)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0


def start_paced(
    path: Path, machine: str, tag: str, count: int, rate: float, *options: str
) -> subprocess.Popen[bytes]:
    """Start ``tests.helpers.paced`` logging ``count`` records at ``rate`` a second."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.paced", str(path), tag, str(count), str(rate),
         *options],
        env=machine_env(machine),
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
