"""``dual-log doctor``: the checks on a good volume, a plain folder, a missing folder and a
read-only volume, with the options resolved as setup() resolves them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faults.harness import mount_unavailable, tmpfs

from tests.helpers.cli import run


def _env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUAL_LOG_")}
    env.update(variables)
    return env


def _lines(stdout: str) -> dict[str, str]:
    """Each check's line by its name, and the verdict."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("verdict:"):
            found["verdict"] = line
        else:
            found[line[6:19].strip()] = line
    return found


@pytest.fixture
def volume(tmp_path: Path) -> object:
    """A real mounted file system (tmpfs) standing for the Fly volume."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    with tmpfs(tmp_path / "logs", "4m") as mounted:
        yield mounted


def test_a_good_volume_passes_every_check(volume: Path) -> None:
    """On a mounted, writable volume with room, every check is ok and the exit status 0;
    the path comes from DUAL_LOG_PATH, as setup() would take it."""
    env = _env(DUAL_LOG_PATH=str(volume / "app.log"), DUAL_LOG_MAX_BYTES="500k", DUAL_LOG_KEEP="3")
    done = run("doctor", env=env)
    assert done.returncode == 0, done.stdout
    checks = _lines(done.stdout)
    assert checks["verdict"] == "verdict: OK"
    assert f"path={volume / 'app.log'} max_bytes=500000 keep=3" in checks["settings"]
    assert f"mounted at {volume}" in checks["volume"]
    assert checks["write"].startswith("ok")
    assert checks["free space"].startswith("ok")
    assert "needs up to 1.9 MiB" in checks["free space"]
    assert os.listdir(volume) == []  # the doctor leaves nothing behind


def test_small_volume_odd_modes_and_stale_segments_warn(volume: Path) -> None:
    """Too little room for max_bytes x (keep + 1), a file of another mode and a segment left
    by an interrupted rotation are warnings, not failures; options given win over variables."""
    (volume / "app.log").write_text("{}\n")
    (volume / "app.log.1").write_text("{}\n")
    os.chmod(volume / "app.log.1", 0o600)
    (volume / "app.log.rotate.1234").write_text("{}\n")
    env = _env(DUAL_LOG_PATH=str(volume / "other.log"), DUAL_LOG_KEEP="2")
    done = run("doctor", "--path", str(volume / "app.log"), "--max-bytes", "2MB",
               "--file-mode", "644", "--stale-after", "0", env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout
    checks = _lines(done.stdout)
    assert checks["verdict"] == "verdict: OK (3 warning(s))"
    assert checks["free space"].startswith("warn")
    assert "needs up to 5.7 MiB" in checks["free space"]
    assert checks["file modes"].startswith("warn")
    assert "app.log.1 0600" in checks["file modes"]
    assert "app.log.rotate.1234" in checks["segments"]


def test_read_only_volume_fails(tmp_path: Path) -> None:
    """A volume mounted read-only fails the write check: exit status 1."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as mounted:
        done = run("doctor", "--path", str(mounted / "app.log"), env=_env())
    assert done.returncode == 1
    checks = _lines(done.stdout)
    assert checks["write"].startswith("FAIL")
    assert "Read-only file system" in checks["write"]
    assert checks["verdict"].startswith("verdict: FAIL (")


def test_missing_folder_plain_folder_and_bad_options(tmp_path: Path) -> None:
    """A missing folder fails (is the volume mounted?); a folder on the root file system is
    a warning; a bad DUAL_LOG_* value fails with setup()'s own message."""
    missing = run("doctor", "--path", str(tmp_path / "nowhere" / "app.log"), env=_env())
    assert missing.returncode == 1
    assert "is the volume mounted there?" in _lines(missing.stdout)["folder"]

    plain = run("doctor", "--path", str(tmp_path / "app.log"), env=_env())
    assert plain.returncode == 0, plain.stdout
    volume_line = _lines(plain.stdout)["volume"]
    mount = str(tmp_path)
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    assert volume_line.startswith("warn" if mount == "/" else "ok")

    bad = run("doctor", "--path", str(tmp_path / "app.log"), env=_env(DUAL_LOG_KEEP="many"))
    assert bad.returncode == 1
    assert "invalid keep (from DUAL_LOG_KEEP)='many'" in bad.stdout
    unknown = run("doctor", "--colour", "red", env=_env())
    assert unknown.returncode == 2
    assert "unrecognized arguments: --colour" in unknown.stderr
