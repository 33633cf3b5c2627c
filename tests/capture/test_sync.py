"""--fsync-interval's rounds, watched: which inodes are fsynced, and when sync() is called."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dual_log._capture._files import Output
from dual_log._capture._sync import Syncer

if TYPE_CHECKING:
    from pathlib import Path

LINE = b'{"time":"2026-11-24T09:30:41.854+00:00","message":"' + b"x" * 48 + b'"}\n'


class Watched:
    """os.fsync and os.sync, called for real, each call noted (the inode for fsync)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def fsync(self, descriptor: int) -> None:
        self.calls.append(("fsync", os.fstat(descriptor).st_ino))
        os.fsync(descriptor)

    def sync(self) -> None:
        self.calls.append(("sync", 0))
        os.sync()


def written(output: Output, count: int) -> None:
    for _ in range(count):
        output.write(LINE)
    assert output.flush(10)


def test_rounds_fsync_the_file_and_once_more_the_one_rotated_away(tmp_path: Path):
    """A first round fsyncs the file and calls sync() for its new name; a round with nothing
    written does nothing; after a rotation, the old file is fsynced through the descriptor
    kept, the new one too, and sync() covers the renames."""
    path = tmp_path / "fly.log"
    output = Output(str(path), per_app=False, file_options={"max_bytes": 4000, "keep": 5})
    watched = Watched()
    syncer = Syncer(output, 3600, fsync=watched.fsync, sync=watched.sync)
    open_before = len(os.listdir("/proc/self/fd"))
    written(output, 10)
    syncer.sync_now()
    first = os.stat(path).st_ino
    assert watched.calls == [("fsync", first), ("sync", 0)]
    assert syncer.synced == 10
    watched.calls.clear()
    syncer.sync_now()
    assert watched.calls == []  # nothing written since
    written(output, 40)  # 4,000 bytes more: the file rotates
    second = os.stat(path).st_ino
    assert second != first
    assert (tmp_path / "fly.log.1").exists()
    syncer.sync_now()
    assert watched.calls == [("fsync", first), ("fsync", second), ("sync", 0)]
    assert syncer.synced == 50
    syncer.stop()
    output.close()
    assert len(os.listdir("/proc/self/fd")) <= open_before, "every descriptor held is closed"


def test_one_file_per_app_each_synced_when_written(tmp_path: Path):
    """With a file per app, a round fsyncs only the files written since the last one."""
    output = Output(str(tmp_path / "fly.log"), per_app=True, file_options={})
    watched = Watched()
    syncer = Syncer(output, 3600, fsync=watched.fsync, sync=watched.sync)
    output.write(LINE, "web")
    output.write(LINE, "api")
    assert output.flush(10)
    syncer.sync_now()
    assert sorted(c[1] for c in watched.calls if c[0] == "fsync") == sorted(
        os.stat(tmp_path / f"{app}.log").st_ino for app in ("web", "api")
    )
    watched.calls.clear()
    output.write(LINE, "web")
    assert output.flush(10)
    syncer.sync_now()
    assert watched.calls == [("fsync", os.stat(tmp_path / "web.log").st_ino)]
    assert syncer.synced == 3
    syncer.stop()
    output.close()


def test_a_file_gone_is_said_once_and_counted(tmp_path: Path, capfd):
    """A file that cannot be fsynced (its folder removed): said once, counted each round,
    and ``synced`` stays where it was."""
    folder = tmp_path / "volume"
    folder.mkdir()
    output = Output(str(folder / "fly.log"), per_app=False, file_options={})
    syncer = Syncer(output, 3600)
    written(output, 5)
    syncer.sync_now()
    assert syncer.synced == 5
    written(output, 5)
    (folder / "fly.log").unlink()
    syncer.sync_now()
    syncer.sync_now()
    assert (syncer.failures, syncer.synced) == (2, 5)
    err = capfd.readouterr().err
    assert err.count("capture: cannot fsync") == 1
    assert "fly.log" in err
    syncer.stop()
    output.close()
