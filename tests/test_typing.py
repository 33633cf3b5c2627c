"""Typed options: a type checker catches a misspelt option or a wrong type before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_type_hints

import dual_log
from dual_log._options import OPTION_NAMES

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
import logging
import dual_log
import dual_log.django
from dual_log.flask import DualLogExtension

dual_log.setup(level="DEBUG", keep=5, max_bytes="10MiB", redact_keys=["pin"], path=None)
dual_log.setup(logger=logging.getLogger("app"), stdout=False)
config: dict[str, object] = dual_log.logging_config(when="MIDNIGHT", compress=True)
dual_log.django.logging_config(db_queries=True, stdout_format="json")
DualLogExtension(keep=3, queue_timeout=0.5)
"""

BAD = """
import dual_log
import dual_log.django
from dual_log.flask import DualLogExtension

dual_log.setup(levl="DEBUG")
dual_log.setup(keep="five")
dual_log.logging_config(compres=True)
dual_log.django.logging_config(keep="five")
DualLogExtension(queue="yes please")
"""


def test_mypy_catches_a_misspelt_option_and_a_wrong_type(tmp_path: Path) -> None:
    """mypy --strict reports each bad call (setup, the builder, Django, Flask) and accepts the
    good ones."""
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text(BAD)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         str(tmp_path / "cache"), "good.py", "bad.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={"MYPYPATH": str(ROOT), "PATH": ""},
    )  # fmt: skip
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert not [e for e in errors if e.startswith("good.py")], done.stdout
    lines = sorted({int(e.split(":")[1]) for e in errors if e.startswith("bad.py")})
    assert lines == [6, 7, 8, 9, 10], done.stdout
    assert '"levl"' in done.stdout


def test_the_typed_options_are_the_options() -> None:
    """dual_log.Options names exactly the options OPTIONS parses, in the same order."""
    assert tuple(get_type_hints(dual_log.Options)) == OPTION_NAMES
    assert dual_log.Options.__optional_keys__ == frozenset(OPTION_NAMES)
