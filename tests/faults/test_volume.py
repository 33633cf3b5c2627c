"""Faults of the volume under a running application: missing, read-only, full, deleted.

Each test runs the application (``app.py``) in its own process, logs a batch of records,
makes the fault real, logs another batch, takes the fault away, logs until the file
works again, and logs a last batch. Then it checks dual_log's promises against the ids:
stdout has every record, the process exited 0 without a traceback, stderr has one fault
line naming the path and the OS error and one recovery line, and every record is in the
file, exactly once and whole: the ones logged during the fault were held and written
when it went away.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from faults.harness import (
    NOBODY,
    App,
    Measurements,
    Outcome,
    expected_ids,
    fault_lines,
    fill,
    mount_unavailable,
    recovery_lines,
    reported_held,
    shared_folder,
    stdout_ids,
    tmpfs,
    unmount,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.faults

BATCH = 40


@dataclasses.dataclass
class Run:
    """What one fault scenario did and what came of it."""

    app: App
    path: Path
    logged: list[str]
    recovery: dict[str, Any]
    final: dict[str, Any]
    outcome: Outcome


def exercise(
    app: App,
    path: Path,
    fault: Callable[[], None] | None,
    heal: Callable[[], None],
) -> Run:
    """Log, break (unless already broken), log, heal, log until it works, log; then exit."""
    try:
        app.log("a", BATCH)
        if fault is not None:
            fault()
        app.log("b", BATCH)
        heal()
        recovery = app.recover("r")
        app.log("c", BATCH)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    logged = [
        *expected_ids("a", BATCH),
        *expected_ids("b", BATCH),
        *expected_ids("r", recovery["records"]),
        *expected_ids("c", BATCH),
    ]
    return Run(app, path, logged, recovery, final, Outcome.read(path, logged))


def check(
    run: Run,
    measure: Measurements,
    scenario: str,
    mode: str,
    error: str,
    *,
    torn_allowed: bool = False,
) -> None:
    """The promises every volume fault must keep, checked against the ids; then measured."""
    app, out = run.app, run.outcome
    stderr = app.stderr()
    lines = app.dual_log_lines()
    assert app.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stdout_ids(app.stdout()) == run.logged  # stdout kept every record, in order
    assert run.final["stdout_missed"] == 0
    assert run.recovery["recovered"], stderr
    assert not run.final["file_failing"]
    faults = fault_lines(lines, run.path)
    assert len(faults) == 1, lines
    assert error in faults[0]
    assert out.duplicated == []
    assert out.unknown == []
    if not torn_allowed:
        assert out.torn == []
    assert out.missing == []  # held through the fault, written after it: none lost
    assert run.final["file_missed"] == 0
    recovered = recovery_lines(lines, run.path)
    assert len(recovered) == 1, lines
    assert len(lines) == 2, lines  # one line when it broke, one when it healed: no flood
    assert reported_held(recovered) > 0  # the fault was real: records waited for the file
    measure.record(
        scenario,
        mode=mode,
        logged=len(run.logged),
        in_file=sum(out.in_file.values()),
        missing=len(out.missing),
        held=reported_held(recovered),
        reported=run.final["file_missed"],
        duplicated=len(out.duplicated),
        torn=len(out.torn),
        stdout=len(stdout_ids(app.stdout())),
        stderr_lines=len(lines),
        recover_s=round(run.recovery["seconds"], 2),
        **(
            {"deleted_with_folder": len(run.logged) - len(out.logged)}
            if out.logged != run.logged
            else {}
        ),
    )


def mode_name(queue: bool) -> str:
    return "queue" if queue else "sync"


def test_missing_folder_at_start_then_mounted(tmp_path: Path, queue: bool, measure: Any) -> None:
    """A volume missing at start-up is reported once; every record reaches it once mounted."""
    folder = tmp_path / "volume"
    path = folder / "app.log"
    app = App(tmp_path / "app", {"path": str(path), "queue": queue})
    run = exercise(app, path, None, folder.mkdir)
    check(run, measure, "volume folder missing at start-up, created later", mode_name(queue),
          "ENOENT")  # fmt: skip
    assert "is the volume mounted?" in fault_lines(app.dual_log_lines(), path)[0]


def test_folder_deleted_mid_run_then_restored(tmp_path: Path, queue: bool, measure: Any) -> None:
    """The log folder deleted under the running app: reported, held, written once it is back."""
    folder = tmp_path / "volume"
    folder.mkdir()
    path = folder / "app.log"
    app = App(tmp_path / "app", {"path": str(path), "queue": queue})
    run = exercise(app, path, lambda: shutil.rmtree(folder), folder.mkdir)
    # The first batch went with the deleted folder; only b, r and c can be read back.
    run.outcome = Outcome.read(path, run.logged[BATCH:])
    check(run, measure, "log folder deleted mid-run, then restored", mode_name(queue), "ENOENT")


def test_log_path_replaced_by_a_directory(tmp_path: Path, queue: bool, measure: Any) -> None:
    """A folder where the log file was (EISDIR) is a fault like any other, and heals."""
    folder = tmp_path / "volume"
    folder.mkdir()
    path = folder / "app.log"
    saved = folder / "saved.log"

    def fault() -> None:
        path.rename(saved)
        path.mkdir()

    def heal() -> None:
        path.rmdir()

    app = App(tmp_path / "app", {"path": str(path), "queue": queue})
    run = exercise(app, path, fault, heal)
    # The first batch is in the file moved aside: read both.
    saved.rename(folder / "app.log.99")
    run.outcome = Outcome.read(path, run.logged)
    check(run, measure, "log path replaced by a directory", mode_name(queue), "EISDIR")


def test_disk_full_then_space_freed(tmp_path: Path, queue: bool, measure: Any) -> None:
    """ENOSPC on a full tmpfs: records held, no part of one left, all written once freed."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    folder = tmp_path / "volume"
    with tmpfs(folder, "256k"):
        path = folder / "app.log"
        # A max_bytes the volume can hold twice: a bigger one is made to fit, and said.
        options = {"path": str(path), "queue": queue, "min_free": 0, "max_bytes": "100KiB"}
        app = App(tmp_path / "app", options)
        filler: list[Path] = []
        run = exercise(app, path, lambda: filler.append(fill(folder)), lambda: filler[0].unlink())
        check(run, measure, "disk full (ENOSPC on a 256 KiB tmpfs), then space freed",
              mode_name(queue), "ENOSPC")  # fmt: skip


def test_dev_full_as_the_log_file(tmp_path: Path, queue: bool, measure: Any) -> None:
    """A log path that is a symlink to a full device: ENOSPC counted, the device left alone."""
    folder = tmp_path / "volume"
    folder.mkdir()
    device = tmp_path / "full"
    try:  # our own /dev/full node, so the system's is never touched
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except OSError as exc:
        pytest.skip(f"cannot create a /dev/full device node here: {exc}")
    os.chmod(device, 0o666)  # noqa: S103  # as the real /dev/full is
    path = folder / "app.log"
    path.symlink_to(device)
    app = App(tmp_path / "app", {"path": str(path), "queue": queue})
    run = exercise(app, path, None, path.unlink)
    check(run, measure, "log path a symlink to /dev/full (ENOSPC), then a regular file",
          mode_name(queue), "ENOSPC")  # fmt: skip
    # Permissions are for the files dual_log creates, never for the device a link points to.
    assert stat.S_IMODE(device.stat().st_mode) == 0o666


# A read-only volume ----------------------------------------------------------------------


def _loop_unavailable(probe: Path) -> str:
    if reason := mount_unavailable():
        return reason
    if shutil.which("mkfs.ext4") is None or shutil.which("e2fsck") is None:
        return "mkfs.ext4/e2fsck are not installed, so no ext4 volume can be made"
    image = probe / "probe.img"
    with open(image, "wb") as out:
        out.truncate(1 << 21)
    done = subprocess.run(
        ["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, timeout=30, check=False
    )
    if done.returncode != 0:
        return "mkfs.ext4 failed: " + done.stderr.decode(errors="replace")
    mount = probe / "mnt"
    mount.mkdir()
    argv = ["mount", "-o", "loop", str(image), str(mount)]
    done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        return "this machine cannot mount a loop device: " + done.stderr.decode(errors="replace")
    unmount(mount)
    return ""


@pytest.fixture
def ext4_volume(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A 4 MiB ext4 volume on a loop device, mounted with errors=remount-ro."""
    probe = tmp_path / "probe"
    probe.mkdir()
    if reason := _loop_unavailable(probe):
        pytest.skip(reason)
    image = tmp_path / "volume.img"
    with open(image, "wb") as out:
        out.truncate(4 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, timeout=30)
    folder = tmp_path / "volume"
    folder.mkdir()
    subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(folder)], check=True, timeout=30
    )
    try:
        yield image, folder
    finally:
        unmount(folder)


def test_volume_turns_read_only_then_remounted(
    ext4_volume: tuple[Path, Path], tmp_path: Path, queue: bool, measure: Any
) -> None:
    """An ext4 volume the kernel turns read-only under the app (EROFS) heals once remounted."""
    image, folder = ext4_volume
    source = subprocess.run(
        ["findmnt", "-no", "SOURCE", str(folder)], capture_output=True, text=True, check=True
    ).stdout.strip()
    trigger = Path("/sys/fs/ext4") / Path(source).name / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"this kernel has no {trigger} to make ext4 fail into read-only mode")
    path = folder / "app.log"

    def fault() -> None:
        # What a failing disk does with errors=remount-ro: open files can no longer be written.
        # Records accepted before are synced first: what the kernel had not yet written back
        # when the disk failed is lost below dual_log (see "Known limits" in RELIABILITY.md).
        os.sync()
        trigger.write_text("1")

    def heal() -> None:
        # What an operator does: unmount (dual_log closed its files, so it can), check, mount.
        subprocess.run(["umount", str(folder)], check=True, timeout=30)
        subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, timeout=60, check=False)
        subprocess.run(
            ["mount", "-o", "loop,errors=remount-ro", str(image), str(folder)],
            check=True,
            timeout=30,
        )

    # A max_bytes the 4 MiB volume can hold twice: a bigger one is made to fit, and said.
    app = App(tmp_path / "app", {"path": str(path), "queue": queue, "max_bytes": "1MiB"})
    run = exercise(app, path, fault, heal)
    check(run, measure, "volume turns read-only (ext4 errors=remount-ro), then remounted",
          mode_name(queue), "EROFS")  # fmt: skip


# Permissions: the application runs as an unprivileged user, so they apply ----------------


@pytest.fixture
def nobody_folder() -> Iterator[Path]:
    """A log folder owned by the unprivileged user the application runs as."""
    if os.geteuid() != 0:
        pytest.skip("changing the application's user needs root; the tests run as a user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed, so the app cannot drop privileges")
    with shared_folder("dual_log-faults-") as base:
        folder = base / "volume"
        folder.mkdir()
        os.chown(folder, NOBODY, NOBODY)
        yield folder


def test_lock_file_not_writable(
    nobody_folder: Path, tmp_path: Path, queue: bool, measure: Any
) -> None:
    """A lock file the app may not open (left by root) is reported, and heals when fixed."""
    path = nobody_folder / "app.log"
    lock = nobody_folder / ".__app.lock"
    lock.touch()
    lock.chmod(0o600)  # root's, as a process run once as root would leave it

    def heal() -> None:
        os.chown(lock, NOBODY, NOBODY)

    app = App(tmp_path / "app", {"path": str(path), "queue": queue}, user=NOBODY)
    run = exercise(app, path, None, heal)
    check(run, measure, "lock file not writable (owned by root, app runs as nobody)",
          mode_name(queue), "EACCES")  # fmt: skip
    assert str(lock) in fault_lines(run.app.dual_log_lines(), path)[0]


def test_lock_folder_not_writable(
    nobody_folder: Path, tmp_path: Path, queue: bool, measure: Any
) -> None:
    """A folder where the lock file cannot be created (0555) is reported, and heals."""
    path = nobody_folder / "app.log"
    path.touch()
    os.chown(path, NOBODY, NOBODY)
    nobody_folder.chmod(0o555)
    app = App(tmp_path / "app", {"path": str(path), "queue": queue}, user=NOBODY)
    run = exercise(app, path, None, lambda: nobody_folder.chmod(0o755))
    check(run, measure, "lock file's folder not writable (0555, app runs as nobody)",
          mode_name(queue), "EACCES")  # fmt: skip
    # The folder's fault, named as such: not the lock file's, not an unmounted volume.
    (fault,) = fault_lines(app.dual_log_lines(), path)
    assert f"cannot create files in {nobody_folder}" in fault
    assert "mounted" not in fault


def test_rotation_that_cannot_rename_is_reported_once(
    nobody_folder: Path, tmp_path: Path, queue: bool
) -> None:
    """A folder that refuses renames stops rotation: said once on stderr, and again when healed."""
    path = nobody_folder / "app.log"
    for own in (path, nobody_folder / ".__app.lock"):
        own.touch()
        os.chown(own, NOBODY, NOBODY)
    os.chown(nobody_folder, 0, 0)  # the app may write its files, not rename them
    options = {"path": str(path), "queue": queue, "max_bytes": "2KiB", "keep": 50}
    app = App(tmp_path / "app", options, user=NOBODY)
    try:
        app.log("a", BATCH, pad=100)
        app.log("b", BATCH, pad=100)
        os.chown(nobody_folder, NOBODY, NOBODY)
        app.log("c", BATCH, pad=100)
        final = app.finish()
    finally:
        if app.returncode is None:
            app.kill()
    assert app.returncode == 0, app.stderr()
    lines = app.dual_log_lines()
    assert len(lines) == 2, lines
    assert "did not rotate" in lines[0]
    assert f"renaming it in {nobody_folder} failed" in lines[0]
    assert lines[1] == f"dual_log: the log file {path} rotates again."
    logged = [*expected_ids("a", BATCH), *expected_ids("b", BATCH), *expected_ids("c", BATCH)]
    out = Outcome.read(path, logged)
    assert out.missing == []
    assert out.duplicated == []
    assert final["file_missed"] == 0
    assert (nobody_folder / "app.log.1").exists()
