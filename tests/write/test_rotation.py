"""Rotation by size and time, gzip of rotated files, and retention by age."""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from pathlib import Path

import pytest

import dual_log
from tests.helpers.logfiles import files, read_records


def _fill(handler: logging.Handler, count: int, size: int = 200) -> None:
    logger = logging.getLogger("rotation")
    for i in range(count):
        handler.handle(
            logger.makeRecord("rotation", logging.INFO, "f", 1, "%05d " + "x" * size, (i,), None)
        )


@pytest.mark.parametrize("queue", [True, False])
def test_size_rotation_keeps_n_files_in_order(log_path: Path, queue: bool) -> None:
    """max_bytes and keep give app.log.1..N, newest first, the oldest beyond N deleted."""
    handler = dual_log.FileHandler(log_path, max_bytes="8KB", keep=3, queue=queue)
    _fill(handler, 400)
    handler.close()
    assert [p.name for p in files(log_path)] == ["app.log", "app.log.1", "app.log.2", "app.log.3"]
    numbers = [
        [int(json.loads(line)["message"][:5]) for line in p.read_text().splitlines()]
        for p in files(log_path)
    ]
    assert numbers[0][-1] == 399
    assert max(numbers[1]) < min(numbers[0])
    assert max(numbers[3]) < min(numbers[2])


def test_rotated_files_are_gzipped(log_path: Path) -> None:
    """compress=True leaves app.log.N.gz files that decompress to whole JSON lines."""
    handler = dual_log.FileHandler(log_path, max_bytes="8KB", keep=2, compress=True, queue=False)
    _fill(handler, 200)
    handler.close()
    names = [p.name for p in files(log_path)]
    assert names == ["app.log", "app.log.1.gz", "app.log.2.gz"]
    text = gzip.decompress((log_path.parent / "app.log.1.gz").read_bytes()).decode()
    assert all(line.startswith('{"time"') for line in text.splitlines())


def test_time_rotation(log_path: Path) -> None:
    """when='S' starts a new file each second; every record stays readable."""
    handler = dual_log.FileHandler(log_path, when="S", keep=10, queue=False)
    logger = logging.getLogger("timed")
    sent = 0
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        handler.handle(logger.makeRecord("timed", logging.INFO, "f", 1, "tick %d", (sent,), None))
        sent += 1
        time.sleep(0.05)
    handler.close()
    rotated = [p for p in files(log_path) if p != log_path]
    assert len(rotated) >= 2
    records, torn = read_records(log_path)
    assert torn == []
    assert sorted(int(r["message"].split()[1]) for r in records) == list(range(sent))


def test_max_age_days_runs_after_a_time_rotation(log_path: Path) -> None:
    """With when=, a rotated file that ages past max_age_days goes at the next rotation."""
    handler = dual_log.FileHandler(log_path, when="S", keep=20, max_age_days=1, queue=False)
    _fill(handler, 3)
    old = log_path.parent / "app.log.9"  # appears while the handler is open
    old.write_text("{}\n")
    ancient = time.time() - 3 * 86400
    os.utime(old, (ancient, ancient))
    time.sleep(1.1)  # into the next second: the next record rotates
    _fill(handler, 3)
    handler.close()
    names = [p.name for p in files(log_path)]
    assert "app.log.9" not in names
    assert "app.log.10" not in names
    assert "app.log.1" in names


def test_max_age_days_deletes_old_rotated_files_only(log_path: Path) -> None:
    """Rotated files older than max_age_days go; recent ones and the live file stay."""
    old = log_path.parent / "app.log.7"
    old.write_text("{}\n")
    ancient = time.time() - 10 * 86400
    os.utime(old, (ancient, ancient))
    os.utime(log_path.parent, None)
    handler = dual_log.FileHandler(log_path, max_bytes="8KB", keep=20, max_age_days=3, queue=False)
    _fill(handler, 100)
    handler.close()
    names = [p.name for p in files(log_path)]
    assert "app.log.7" not in names
    assert "app.log" in names
    assert "app.log.1" in names


def test_file_and_lock_get_restrictive_permissions(log_path: Path) -> None:
    """The log, lock and rotated files are created 0640 whatever the umask."""
    previous = os.umask(0)
    try:
        handler = dual_log.FileHandler(log_path, max_bytes="4KB", keep=2, queue=False)
        _fill(handler, 60)
        handler.close()
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in log_path.parent.iterdir()}
    assert modes == {"app.log": 0o640, "app.log.1": 0o640, "app.log.2": 0o640, ".__app.lock": 0o640}


def test_segment_left_by_an_interrupted_rotation_is_reported_once(
    log_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An old app.log.rotate.<n> (a rotation killed half-way) is named on stderr, once."""
    from dual_log._write import rotation

    stranded = log_path.parent / "app.log.rotate.8812"
    stranded.write_text('{"message": "kept aside"}\n')
    monkeypatch.setattr(rotation, "STRANDED_AFTER", -1.0)  # as if its inode were a minute old
    handler = dual_log.FileHandler(log_path, queue=False)
    _fill(handler, 3)
    handler.close()
    _fill(handler, 3)  # reopened after close: the same segment is not reported again
    handler.close()
    err = capsys.readouterr().err
    assert err.count("dual_log: ") == 1
    assert f"found {stranded}: part of the log left aside by a rotation" in err
    assert stranded.read_text() == '{"message": "kept aside"}\n'


def test_segment_of_a_rotation_going_on_is_not_reported(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh app.log.rotate.<n> may belong to another process's rotation: no report."""
    (log_path.parent / "app.log.rotate.77").write_text("")
    handler = dual_log.FileHandler(log_path, queue=False)
    _fill(handler, 3)
    handler.close()
    assert "dual_log" not in capsys.readouterr().err
