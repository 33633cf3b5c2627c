"""min_free: the logs never take the last free space of a volume they share with a database."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import pytest

import dual_log
from faults.harness import mount_unavailable, tmpfs
from tests.helpers.logfiles import files, read_records

pytestmark = pytest.mark.faults

CHUNK = b"d" * 4096


def _record(n: int) -> logging.LogRecord:
    return logging.LogRecord("shop", logging.INFO, "f", 1, "order %06d %s", (n, "x" * 80), None)


def test_a_growing_database_never_gets_enospc_because_of_the_logs(
    tmp_path: Path, queue: bool, capsys: pytest.CaptureFixture[str], measure: Any
) -> None:
    """On a 1 MiB tmpfs with min_free=256KiB, a database grows to 760 KiB beside busy logs.

    Its writes never fail; the logs delete their oldest rotated files, then pause (records
    held, said once), and write every held record once the space comes back.
    """
    if reason := mount_unavailable():
        pytest.skip(reason)
    folder = tmp_path / "volume"
    with tmpfs(folder, "1m"):
        path = folder / "app.log"
        handler = dual_log.FileHandler(
            path, max_bytes="32KiB", keep=1000, min_free="256KiB", queue=queue
        )
        database = folder / "shop.sqlite"
        sent = 0
        with database.open("wb", buffering=0) as db:
            for _ in range(190):  # 190 x 4 KiB = 760 KiB
                for _ in range(40):
                    handler.handle(_record(sent))
                    sent += 1
                handler.flush(timeout=1)
                try:
                    db.write(CHUNK)
                except OSError as exc:  # the promise broken: say how full the logs made it
                    used = sum(p.stat().st_size for p in files(path))
                    pytest.fail(f"the database got {errno.errorcode[exc.errno]}; logs use {used}")
        paused = handler.pending
        assert paused > 0  # the last records wait for space
        assert handler.failing
        database.unlink()  # the operator frees space (or grows the volume)
        for _ in range(100):
            if handler.flush(timeout=0.5):
                break
        handler.close()
        records, torn = read_records(path)
        numbers = [int(r["message"].split()[1]) for r in records]
        assert torn == []
        assert len(numbers) == len(set(numbers))  # none twice
        # The newest records are all there, held ones included; only whole rotated
        # files, oldest first, made room for the database.
        newest = sorted(numbers)[-paused:]
        assert newest == list(range(sent - paused, sent))
        assert (handler.missed, handler.written) == (0, handler.written)
    err = capsys.readouterr().err
    assert err.count("below") + err.count("min_free") >= 1
    assert err.count("cannot write to the log file") == 1
    assert err.count("held meanwhile are written now") == 1
    measure.record(
        "a database grows beside the logs on a 1 MiB tmpfs (min_free 256 KiB)",
        mode="queue" if queue else "sync",
        logged=sent,
        held_while_paused=paused,
        in_file=len(numbers),
        missing_newest=0,
    )
