"""Running one measurement in a process of its own, and reading back what it found.

Each configuration is measured in a fresh interpreter whose stdout is a real sink (never a
terminal): the child writes its figures to a JSON file, its stderr is kept for the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(
    module: str,
    args: list[str],
    *,
    what: str,
    result: str,
    timeout: float,
    stdout: int = subprocess.DEVNULL,
) -> dict[str, Any]:
    """Run ``python -m module args...`` (which writes its figures to ``result``) and return
    them, with its stderr under ``"stderr"``; RuntimeError naming ``what`` if it failed."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    said = completed.stderr.decode(errors="replace")
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed ({completed.returncode}): {said[-2000:]}")
    with open(result, encoding="utf-8") as data:
        out: dict[str, Any] = json.load(data)
    out["stderr"] = said.strip()
    return out
