"""What lies at the log path and beside it: not a file, a volume too small, odd names, bugs.

- A FIFO or a socket at the log path: a FIFO opened for reading and writing takes 64 KiB
  and then nothing, and nobody may ever read it; the records must be held, not counted as
  written.
- A volume smaller than ``max_bytes``; a batch larger than the room left above
  ``min_free``; a record larger than the whole volume.
- A file beside the log whose name looks numbered to ``str.isdigit`` (``app.log.²``).
- An exception of dual_log's own in the write path: said, counted, and the writer goes on.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest

import dual_log
from faults.harness import (
    App,
    Outcome,
    expected_ids,
    fault_lines,
    mount_unavailable,
    tmpfs,
)
from faults.test_volume import check, exercise, mode_name
from tests.helpers.logfiles import files, read_records

pytestmark = pytest.mark.faults


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_socket(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    return listener


@pytest.mark.parametrize("kind", ["FIFO", "socket"])
def test_a_fifo_or_socket_at_the_log_path(
    tmp_path: Path, queue: bool, kind: str, measure: Any
) -> None:
    """Reported once as what it is; the records are held, counted as nothing written,
    and all written once a regular file can be made there."""
    folder = tmp_path / "volume"
    folder.mkdir()
    path = folder / "app.log"
    listener = _make_socket(path) if kind == "socket" else _make_fifo(path)
    app = App(tmp_path / "app", {"path": str(path), "queue": queue})

    def heal() -> None:
        if listener is not None:
            listener.close()
        path.unlink()

    run = exercise(app, path, None, heal)
    check(run, measure, f"a {kind} at the log path, then removed", mode_name(queue),
          "not a regular file" if kind == "FIFO" else "ENXIO")  # fmt: skip
    # check() found the records held, not counted as written into the FIFO.
    assert ("is a FIFO (named pipe)" if kind == "FIFO" else "leads to a socket") in (
        fault_lines(app.dual_log_lines(), path)[0]
    )


def test_a_volume_smaller_than_max_bytes_keeps_its_newest_records(
    tmp_path: Path, queue: bool, measure: Any
) -> None:
    """A 4 MiB volume with the default 10 MiB max_bytes and min_free: the file rotates at
    half of what the volume can hold (said once), the oldest rotated files make room, and
    no record is held for ever or given up at exit."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    folder = tmp_path / "volume"
    count = 30_500
    with tmpfs(folder, "4m"):
        path = folder / "app.log"
        app = App(tmp_path / "app", {"path": str(path), "queue": queue})
        try:
            app.log("s", count, pad=60)
            final = app.finish()
        finally:
            if app.returncode is None:
                app.kill()
        out = Outcome.read(path, expected_ids("s", count))
        on_disk = sum(p.stat().st_size for p in files(path))
    lines = app.dual_log_lines()
    assert final["file_missed"] == 0
    assert final["file_written"] == count
    assert out.duplicated == out.torn == out.unknown == []
    # Only the oldest are gone, with the rotated files deleted to keep min_free.
    kept = len(out.logged) - len(out.missing)
    assert out.missing == out.logged[: len(out.missing)]
    assert kept > count / 4
    assert len(lines) == 1, lines
    assert "cannot hold two files of max_bytes=10485760" in lines[0]
    measure.record(
        "a 4 MiB volume with the default max_bytes (10 MiB) and min_free",
        mode=mode_name(queue),
        logged=count,
        in_file=kept,
        evicted=len(out.missing),
        reported=final["file_missed"],
        stderr_lines=len(lines),
        bytes_on_volume=on_disk,
    )


def _record(n: int, size: int = 200) -> logging.LogRecord:
    return logging.LogRecord("files", logging.INFO, "f", 1, "rec %06d %s", (n, "x" * size), None)


def test_a_batch_larger_than_the_room_is_written_in_part(tmp_path: Path, queue: bool) -> None:
    """Room for part of a batch above min_free: that part is written at once, the rest is
    held until space is freed; every record once, in order."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    folder = tmp_path / "volume"
    with tmpfs(folder, "1m"):
        path = folder / "app.log"
        filler = folder / "filler"
        with filler.open("wb") as out:
            out.write(b"\0" * (600 * 1024))  # leaves about 424 KiB, 64 KiB of it kept
        handler = dual_log.FileHandler(
            path, queue=queue, min_free="64KiB", max_bytes=0, flush_interval=3600
        )
        for n in range(2000):  # about 430 KB: one batch, larger than the room
            handler.handle(_record(n))
        assert not handler.flush(10)
        written = handler.written
        assert 1000 < written < 2000  # the part that fits went at once
        assert handler.failing
        filler.unlink()
        assert handler.flush(10)  # a flush tries a failing file at once
        handler.close()
        records, torn = read_records(path)
    assert torn == []
    assert [int(r["message"].split()[1]) for r in records] == list(range(2000))
    assert (handler.written, handler.missed) == (2000, 0)


def test_a_record_larger_than_the_volume_is_dropped_alone(
    tmp_path: Path, queue: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 400 KB record on a 256 KiB volume can never fit: it is dropped, counted and said,
    and the records around it are written (held behind it, they would wait for ever)."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    folder = tmp_path / "volume"
    with tmpfs(folder, "256k"):
        path = folder / "app.log"
        handler = dual_log.FileHandler(path, queue=queue, min_free=0, max_bytes=0)
        handler.handle(_record(0))
        handler.handle(_record(1, 400_000))
        handler.handle(_record(2))
        assert handler.flush(10)
        handler.close()
        records, torn = read_records(path)
    assert torn == []
    assert [int(r["message"].split()[1]) for r in records] == [0, 2]
    assert (handler.written, handler.missed) == (2, 1)
    err = capsys.readouterr().err
    assert "1 record was too large to fit on the volume" in err
    assert "cannot write" not in err


def test_a_file_whose_name_looks_numbered_to_isdigit(tmp_path: Path, queue: bool) -> None:
    """``app.log.²`` beside the log: rotation goes on past it (it stopped the writer for
    good, and every later record with it); the file itself is left alone."""
    folder = tmp_path / "volume"
    folder.mkdir()
    path = folder / "app.log"
    odd = folder / "app.log.²"
    odd.write_text("not ours\n")
    app = App(tmp_path / "app", {"path": str(path), "queue": queue, "max_bytes": "8KiB",
                                 "keep": 1000})  # fmt: skip
    try:
        app.log("d", 3000, pad=20)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    odd.unlink()  # not a record: read_records would take it for a torn line
    out = Outcome.read(path, expected_ids("d", 3000))
    assert out.missing == out.duplicated == out.torn == []
    assert final["file_missed"] == final["file_errors"] == 0
    assert len(files(path)) > 20  # it rotated all along
    assert app.dual_log_lines() == []


def test_an_error_of_dual_logs_own_is_said_and_the_writer_goes_on(
    tmp_path: Path, queue: bool, measure: Any
) -> None:
    """A RuntimeError inside the write path (a bug, injected): one line names it and its
    place, it is counted in ``errors``, and no record is lost, before or after it."""
    path = tmp_path / "volume" / "app.log"
    path.parent.mkdir()
    app = App(tmp_path / "app", {"path": str(path), "queue": queue},
              config={"break_write_path": 3})  # fmt: skip
    try:
        for batch in range(6):
            app.log(f"b{batch}-", 50)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    logged = [rid for batch in range(6) for rid in expected_ids(f"b{batch}-", 50)]
    out = Outcome.read(path, logged)
    lines = app.dual_log_lines()
    assert out.missing == out.duplicated == out.torn == []
    assert final["file_errors"] == 1
    assert final["file_missed"] == 0
    said = [line for line in lines if "error of dual_log's own" in line]
    assert len(said) == 1, lines
    assert "RuntimeError: injected into the write path at app.py:" in said[0]
    measure.record(
        "an exception of dual_log's own in the write path (injected)",
        mode=mode_name(queue),
        logged=len(logged),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        reported=final["file_missed"],
        errors=final["file_errors"],
        stderr_lines=len(lines),
    )
