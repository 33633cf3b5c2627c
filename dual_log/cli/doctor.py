"""``dual-log doctor``: is the log folder there, a volume, writable and big enough?

The options are resolved by ``Settings.resolve``, as ``setup()`` resolves them (options
given > ``DUAL_LOG_*`` variables > defaults), so the check is of the file ``setup()``
would write. Each check prints one line, ``ok``, ``warn`` or ``FAIL``; any ``FAIL``
makes the exit status 1. The doctor creates no file of the log itself (a lock file
made by root could lock out an application running as another user): only a scratch
file, removed at once, to prove the folder takes new files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import stat
import time
from typing import TYPE_CHECKING, Any

from dual_log._facts import SEGMENT_MARK, STRANDED_AFTER, lock_path
from dual_log._options import OPTIONS, Settings
from dual_log._report import size_text
from dual_log.cli._common import seconds

if TYPE_CHECKING:
    import argparse

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@dataclasses.dataclass
class Check:
    """One line of the report."""

    name: str
    verdict: str  # "ok", "warn" or "fail"
    detail: str


def _mount_point(folder: str) -> str:
    path = os.path.realpath(folder)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def _log_files(folder: str, name: str) -> list[str]:
    return sorted(
        os.path.join(folder, n) for n in os.listdir(folder) if n == name or n.startswith(name + ".")
    )


def _write_test(folder: str, mode: int) -> str | None:
    """Create, append to, rename and remove a scratch file; the first error, or None."""
    scratch = os.path.join(folder, f".__dual_log_doctor.{os.getpid()}.{time.monotonic_ns()}")
    moved = scratch + ".renamed"
    step = "create"
    try:
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            step = "write to"
            os.write(fd, b"dual-log doctor\n")
        finally:
            os.close(fd)
        step = "append to"
        fd = os.open(scratch, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"appended\n")
        finally:
            os.close(fd)
        step = "rename"
        os.rename(scratch, moved)
        step = "remove"
        os.remove(moved)
    except OSError as exc:
        for leftover in (scratch, moved):
            if os.path.lexists(leftover):
                with contextlib.suppress(OSError):
                    os.remove(leftover)
        return f"cannot {step} a file in {folder}: {exc.strerror or exc}"
    return None


def checks(settings: Settings, stale_after: float = STRANDED_AFTER) -> list[Check]:
    """Every check of ``settings``' log folder, in order; segments older than
    ``stale_after`` seconds count as left by an interrupted rotation."""
    path = os.path.abspath(settings.path)
    folder, name = os.path.split(path)
    found = [
        Check(
            "settings",
            "ok",
            f"path={path} max_bytes={settings.max_bytes} keep={settings.keep} "
            f"compress={settings.compress} file_mode={settings.file_mode:04o}",
        ),
        _folder_check(folder, settings.create_dirs),
    ]
    if found[-1].verdict != "ok":
        return found
    found.append(_volume_check(folder))
    problem = _write_test(folder, settings.file_mode)
    found.append(
        Check("write", "fail", problem)
        if problem
        else Check("write", "ok", f"this user can create, append to and rename files in {folder}")
    )
    found += [_file_check(label, target, problem is None) for label, target in
              (("log file", path), ("lock file", lock_path(path)))]  # fmt: skip
    files = _log_files(folder, name)
    found += [
        _space_check(settings, folder, files),
        _segments_check(files, stale_after),
        _modes_check([*files, lock_path(path)], settings.file_mode),
    ]
    return found


def _folder_check(folder: str, create_dirs: bool) -> Check:
    if os.path.isdir(folder):
        return Check("folder", "ok", f"{folder} exists")
    if os.path.exists(folder):
        return Check("folder", "fail", f"{folder} is not a folder")
    if create_dirs:
        return Check(
            "folder",
            "warn",
            f"{folder} does not exist; setup() will create it (create_dirs), on whatever "
            "disk holds its parent: is the volume mounted?",
        )
    return Check(
        "folder",
        "fail",
        f"{folder} does not exist: is the volume mounted there? (fly.toml: [[mounts]] "
        f"destination = '{folder}')",
    )


def _volume_check(folder: str) -> Check:
    mount = _mount_point(folder)
    if mount == "/":
        return Check(
            "volume",
            "warn",
            f"{folder} is on the root file system, not a mounted volume: the files go to "
            "the machine's own disk and are lost with it",
        )
    return Check("volume", "ok", f"{folder} is on the volume mounted at {mount}")


def _file_check(label: str, target: str, writable: bool) -> Check:
    if not os.path.lexists(target):
        verdict = "ok" if writable else "fail"
        what = "creates it" if writable else "cannot create it"
        return Check(label, verdict, f"{target} not there yet; the first write {what}")
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        return Check(label, "fail", f"cannot open {target}: {exc.strerror or exc}")
    return Check(label, "ok", f"{target} opens for appending")


def _space_check(settings: Settings, folder: str, files: list[str]) -> Check:
    """Whether the volume holds ``keep`` + 1 files of ``max_bytes`` above ``min_free``;
    if it cannot hold two, the file rotates sooner (as the writer does), which is said."""
    used = sum(os.stat(f).st_size for f in files if os.path.isfile(f))
    usage = shutil.disk_usage(folder)
    keep_free = settings.min_free.bytes_of(usage.total)
    if settings.max_bytes == 0:
        return Check(
            "free space",
            "warn",
            f"{size_text(usage.free)} free; max_bytes=0 sets no size limit, so the file "
            "grows until only min_free is left, then writing pauses",
        )
    need = settings.max_bytes * (settings.keep + 1)
    detail = (
        f"{size_text(usage.free)} free + {size_text(used)} used by the log; it needs up to "
        f"{size_text(need)} (max_bytes x (keep + 1))"
    )
    if settings.min_free:
        detail += f" + {size_text(keep_free)} kept free (min_free={settings.min_free})"
    usable = usage.total - keep_free
    if usable < 2 * settings.max_bytes:
        limit = usable // (2 if settings.keep else 1)
        detail += (
            f"; the volume cannot hold two files of max_bytes, so the file rotates at "
            f"{size_text(limit)}"
        )
    enough = usage.free + used >= need + keep_free
    return Check("free space", "ok" if enough else "warn", detail)


def _segments_check(files: list[str], stale_after: float) -> Check:
    segments = [f for f in files if SEGMENT_MARK in os.path.basename(f)]
    stale = [f for f in segments if os.stat(f).st_ctime <= time.time() - stale_after]
    if not stale:
        return Check("segments", "ok", "no segment left by an interrupted rotation")
    return Check(
        "segments",
        "warn",
        f"{', '.join(os.path.basename(f) for f in stale)}: left by a rotation that was "
        "interrupted; its records are there (dual-log cat reads them)",
    )


def _modes_check(targets: list[str], file_mode: int) -> Check:
    modes = []
    for target in targets:
        try:
            info = os.stat(target)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            modes.append((os.path.basename(target), stat.S_IMODE(info.st_mode)))
    odd = [f"{n} {m:04o}" for n, m in modes if m != file_mode]
    if odd:
        return Check("file modes", "warn", f"{', '.join(odd)}; file_mode is {file_mode:04o}")
    text = f"{len(modes)} file(s), all {file_mode:04o}" if modes else "no file yet"
    return Check("file modes", "ok", text)


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``doctor`` subcommand and its options."""
    parser = commands.add_parser(
        "doctor",
        help="check the log folder: there, a volume, writable, big enough",
        description="Resolve the options as setup() does (options given here > DUAL_LOG_* "
        "variables > defaults) and check the log folder. One line per check, then a verdict; "
        "exit status 1 when a check failed.",
    )
    parser.add_argument(
        "--stale-after",
        type=seconds,
        default=STRANDED_AFTER,
        metavar="SECONDS",
        help="a rotation segment unchanged for this long was left by an interrupted "
        f"rotation (default: {STRANDED_AFTER:g})",
    )
    options = parser.add_argument_group(
        "setup()'s options",
        "each as setup() takes it; default its DUAL_LOG_* variable, else its default",
    )
    for option in OPTIONS:
        options.add_argument(
            f"--{option.name.replace('_', '-')}",
            dest=option.name,
            metavar="VALUE",
            help=f"{option.doc.replace('`', '')} ({option.env}; default {option.shown})".replace(
                "%", "%%"
            ),
        )
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log doctor`` with parsed ``args``; its exit status."""
    given = {option.name: getattr(args, option.name) for option in OPTIONS}
    return report(given, stale_after=args.stale_after)


def report(options: dict[str, Any], *, stale_after: float = STRANDED_AFTER) -> int:
    """Resolve ``options`` as setup() does, print every check and a verdict; 0 or 1."""
    try:
        settings = Settings.resolve(**options)
    except (TypeError, ValueError) as exc:
        print(f"{MARKS['fail']}  settings     {str(exc).removeprefix('dual_log: ')}")
        print("verdict: FAIL (the options do not resolve; setup() would raise the same error)")
        return 1
    report = checks(settings, stale_after)
    for check in report:
        print(f"{MARKS[check.verdict]}  {check.name:<12} {check.detail}")
    failed = sum(c.verdict == "fail" for c in report)
    warned = sum(c.verdict == "warn" for c in report)
    if failed:
        print(f"verdict: FAIL ({failed} check(s) failed, {warned} warning(s))")
        return 1
    print("verdict: OK" + (f" ({warned} warning(s))" if warned else ""))
    return 0
