"""Run a program that starts processes of its own, and on a timeout end all of them.

``subprocess.run(..., timeout=...)`` kills only the program, then waits for its output
pipes to close: a child of its (a pool worker, a forked process) that still holds them
keeps that wait, and the test run, going for ever. Here the program leads a process group
of its own, and a timeout kills the group.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any


def run_group(
    argv: list[str], *, timeout: float, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to its end, output captured as text; past ``timeout`` seconds, kill it
    and every process of its group, then raise ``subprocess.TimeoutExpired``."""
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **options,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
        return subprocess.CompletedProcess(argv, process.returncode, out, err)
