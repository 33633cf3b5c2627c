"""Rotation by logrotate instead of dual_log, as the README's "Rotated by logrotate" says.

dual_log writes under an exclusive ``flock`` on ``.__app.lock`` and follows its path:
a file renamed away (logrotate's default, ``create``) is reopened at the next batch,
and nothing is lost. ``copytruncate`` copies the file and then empties it: what is
written between the two is in neither file, unless the copy and the truncation run
holding that lock, which makes the writers wait (their records queued) for them.
Each test uses the real ``logrotate`` against an application writing all along.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import dual_log
from tests.conftest import ROOT
from tests.helpers.logfiles import read_records

pytestmark = pytest.mark.faults

COUNT = 3000

WRITER = r"""
import logging, sys, time
import dual_log

dual_log.setup(path=sys.argv[1], stdout=False, max_bytes=0)  # logrotate rotates
log = logging.getLogger("app")
for n in range(int(sys.argv[2])):
    log.info("record %d", n)
    if n % 10 == 0:
        time.sleep(0.005)
"""


def _logrotate() -> str:
    found = shutil.which("logrotate") or shutil.which("logrotate", path="/usr/sbin:/sbin")
    if found is None:  # scripts/run-tests installs it; say so rather than pass
        pytest.fail("logrotate is not installed (scripts/run-tests installs it with apt)")
    return found


def _rotate_while_writing(tmp_path: Path, config: str, *, locked: bool) -> list[int]:
    """Start the writer, run logrotate with ``config`` a third of the way through (under
    the lock file's flock if ``locked``), and return the record numbers found."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "app.log"
    conf = tmp_path / "logrotate.conf"
    conf.write_text(f"{path} {{\n{config}\n}}\n")
    command = [_logrotate(), "-f", "-s", str(tmp_path / "state"), str(conf)]
    if locked:
        command = ["flock", str(folder / ".__app.lock"), *command]
    with subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(COUNT)], cwd=ROOT) as app:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a third of the records are in the file
            if path.exists() and path.stat().st_size > COUNT // 3 * 100:
                break
            time.sleep(0.01)
        rotated = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert app.wait(60) == 0
    assert rotated.returncode == 0, rotated.stderr
    assert (folder / "app.log.1").exists(), rotated.stderr  # it did rotate
    records, torn = read_records(path)  # app.log and app.log.1
    assert torn == []
    return [int(r["message"].split()[1]) for r in records]


def test_logrotate_create_loses_nothing(tmp_path: Path, measure: Any) -> None:
    """logrotate's default: rename, then a new file. dual_log reopens the path: every
    record is in app.log.1 or app.log, once."""
    found = _rotate_while_writing(tmp_path, "rotate 5\ncreate 0640\nmissingok", locked=False)
    assert sorted(found) == list(range(COUNT))
    measure.record("logrotate (create) while the app writes", mode="queue", logged=COUNT,
                   in_file=len(found), missing=COUNT - len(set(found)), duplicated=0)  # fmt: skip


def test_logrotate_copytruncate_under_the_lock_loses_nothing(tmp_path: Path, measure: Any) -> None:
    """copytruncate run under ``flock .__app.lock``: the writers wait for the copy and
    the truncation, their records held; every record is in one of the files, once."""
    found = _rotate_while_writing(tmp_path, "rotate 5\ncopytruncate\nmissingok", locked=True)
    assert sorted(found) == list(range(COUNT))
    measure.record("logrotate (copytruncate) under flock .__app.lock while the app writes",
                   mode="queue", logged=COUNT, in_file=len(found),
                   missing=COUNT - len(set(found)), duplicated=0)  # fmt: skip


def test_copytruncate_without_the_lock_loses_what_comes_between(tmp_path: Path) -> None:
    """What copytruncate does, step by step: records written after the copy and before the
    truncation are in neither file. This is why the README says to take the lock."""
    path = tmp_path / "app.log"
    handler = dual_log.FileHandler(path, max_bytes=0)
    for n in range(10):
        handler.handle(_record(n))
    assert handler.flush()
    shutil.copyfile(path, tmp_path / "app.log.1")  # logrotate's copy
    for n in range(10, 15):  # written in between
        handler.handle(_record(n))
    assert handler.flush()
    path.write_bytes(b"")  # logrotate's truncation
    for n in range(15, 20):
        handler.handle(_record(n))
    handler.close()
    records, torn = read_records(path)
    assert torn == []
    found = sorted(int(r["message"].split()[1]) for r in records)
    assert found == [*range(10), *range(15, 20)]  # 10 to 14 are gone


def _record(n: int) -> logging.LogRecord:
    return logging.LogRecord("app", logging.INFO, "f", 1, "record %d", (n,), None)
