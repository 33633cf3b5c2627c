"""Running the fault suite's application in a real process, and checking what it wrote.

``App`` starts ``app.py`` with dual_log set up as a test asks, sends it commands one at
a time (so a test can mount, fill, delete or signal between two of them), and reads back
its stdout, its stderr and its counters. ``Outcome`` compares the ids the application
logged with those found on stdout and in the file, so every test can check that dual_log's
missed count is the number of records actually missing. ``tmpfs`` mounts the small file
systems that make a full or read-only volume real.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.logfiles import read_records

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

APP = Path(__file__).with_name("app.py")
# Generous: the machine is shared, and a hung process must fail the test, not the run.
COMMAND_TIMEOUT = 60.0
NOBODY = 65534
_STDOUT_ID = re.compile(r" record (\S+)(?: |$)")


class AppFailed(AssertionError):
    """The application died or stopped answering; carries its stderr."""


class App:
    """The application in its own process, driven one command at a time.

    Args:
        workdir: where its stdout, stderr and control files go.
        options: passed to ``dual_log.setup(**options)``.
        stdout: ``"file"`` (a file in ``workdir``) or ``"pipe"`` (read by the test).
        user: run as this uid/gid (via setpriv), so file permissions apply as they do to
            an application that is not root.
        prior_handlers: install SIGTERM/SIGINT handlers before dual_log (they write
            ``workdir/prior-handler`` and exit with 70 + the signal number).
        env: extra environment variables.
        config: more of ``app.py``'s configuration (e.g. ``signal_mid_rotation``).
    """

    def __init__(
        self,
        workdir: Path,
        options: dict[str, Any],
        *,
        stdout: str = "file",
        user: int | None = None,
        prior_handlers: bool = False,
        env: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.prior_marker = workdir / "prior-handler"
        self.signal_report = workdir / "signal-report.json"
        ack_read, ack_write = os.pipe()
        config = {
            "ack_fd": ack_write,
            "options": options,
            "prior_handlers": str(self.prior_marker) if prior_handlers else None,
            "signal_report": str(self.signal_report),
            **(config or {}),
        }
        argv = [sys.executable, str(APP), json.dumps(config)]
        if user is not None:
            argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
        self._stdout_file = None if stdout == "pipe" else open(self.stdout_path, "wb")  # noqa: SIM115
        self._stderr_file = open(self.stderr_path, "wb")  # noqa: SIM115
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DUAL_LOG_")}
        environment.pop("PYTHONUNBUFFERED", None)  # stdout buffered, as in production
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment.update(env or {})
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if stdout == "pipe" else self._stdout_file,
            stderr=self._stderr_file,
            pass_fds=(ack_write,),
            env=environment,
            cwd=workdir,
        )
        os.close(ack_write)
        self._ack = ack_read
        self._pending = b""
        self.returncode: int | None = None
        self.ready = self.answer()

    # Talking to it ------------------------------------------------------------------

    def answer(self, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """The next answer line, or AppFailed if none comes within ``timeout``."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AppFailed(f"no answer within {timeout}s; stderr:\n{self.stderr()}")
            ready, _, _ = select.select([self._ack], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self._ack, 65536)
                if not chunk:
                    self.wait(10)
                    raise AppFailed(
                        f"the application exited ({self.returncode}); stderr:\n{self.stderr()}"
                    )
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return dict(json.loads(line))

    def send(self, op: str, *, wait: bool = True, **fields: Any) -> dict[str, Any]:
        """Send one command; return its answer (or ``{}`` with ``wait=False``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self.proc.stdin.flush()
        return self.answer() if wait else {}

    def log(
        self, tag: str, count: int, threads: int = 1, pad: int = 0, flush: bool = True
    ) -> dict[str, Any]:
        """Log ``count`` records ``<tag>0..`` (then flush); return the counters after."""
        return self.send("log", tag=tag, count=count, threads=threads, pad=pad, flush=flush)

    def recover(self, tag: str, timeout: float = 20.0) -> dict[str, Any]:
        """Log until the file sink works again; return how long and how many records it took."""
        return self.send("recover", tag=tag, timeout=timeout)

    def finish(self, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """Flush, read the final counters, let the application exit normally."""
        counters = self.send("exit")
        self.wait(timeout)
        return counters

    def wait(self, timeout: float = COMMAND_TIMEOUT) -> int:
        """Wait for the process to end (AppFailed if it does not) and return its exit code."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AppFailed(f"did not exit within {timeout}s; stderr:\n{self.stderr()}") from None
        self.close()
        return self.returncode

    def kill(self) -> None:
        """End the process (used only when it hangs), its stacks dumped to stderr first."""
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)
        time.sleep(0.5)
        for pid in _children(self.proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(10)
        self.close()

    def close(self) -> None:
        """Close the test's ends of the pipes."""
        for stream in (self.proc.stdin, self.proc.stdout, self._stdout_file, self._stderr_file):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._ack >= 0:
            os.close(self._ack)
            self._ack = -1

    # What it wrote ------------------------------------------------------------------

    def stdout(self) -> str:
        """Everything it wrote to stdout (when stdout is a file)."""
        return self.stdout_path.read_text("utf-8", "replace")

    def stderr(self) -> str:
        """Everything it wrote to stderr."""
        return self.stderr_path.read_text("utf-8", "replace")

    def dual_log_lines(self) -> list[str]:
        """dual_log's own diagnostics on stderr."""
        return [line for line in self.stderr().splitlines() if line.startswith("dual_log:")]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (forked workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as stat_file:
                    fields = stat_file.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry))
    return found


def stdout_ids(text: str) -> list[str]:
    """The record ids on the text lines of stdout, in order."""
    found = (_STDOUT_ID.search(line) for line in text.splitlines())
    return [m.group(1) for m in found if m]


def expected_ids(tag: str, count: int) -> list[str]:
    """The ids ``App.log(tag, count)`` logs."""
    return [f"{tag}{n}" for n in range(count)]


@dataclasses.dataclass
class Outcome:
    """What reached the file, compared with what the application logged."""

    logged: list[str]
    in_file: collections.Counter[str]
    torn: list[str]

    @classmethod
    def read(cls, path: Path, logged: Sequence[str]) -> Outcome:
        """Read every file of ``path`` (rotated ones too) for the ids of ``logged``."""
        records, torn = read_records(path)
        return cls(list(logged), collections.Counter(str(r.get("rid")) for r in records), torn)

    @property
    def missing(self) -> list[str]:
        """Logged ids absent from the file."""
        return [rid for rid in self.logged if rid not in self.in_file]

    @property
    def duplicated(self) -> list[str]:
        """Ids found more than once."""
        return [rid for rid, n in self.in_file.items() if n > 1]

    @property
    def unknown(self) -> list[str]:
        """Ids in the file that were never logged."""
        logged = set(self.logged)
        return [rid for rid in self.in_file if rid not in logged]


def recovery_lines(lines: Sequence[str], path: Path) -> list[str]:
    """The 'works again' lines for ``path``."""
    return [line for line in lines if f"the log file {path} works again" in line]


def fault_lines(lines: Sequence[str], path: Path) -> list[str]:
    """The lines that announce a new fault of ``path`` (not the reminders)."""
    return [line for line in lines if f"cannot write to the log file {path}:" in line]


def reported_held(lines: Sequence[str]) -> int:
    """The total of 'N records held meanwhile are written now' over recovery lines."""
    found = (re.search(r"; (\d+) records? held meanwhile", line) for line in lines)
    return sum(int(m.group(1)) for m in found if m)


# File systems ---------------------------------------------------------------------------


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


_MOUNT_PROBE: list[str] = []


def mount_unavailable() -> str:
    """Why tmpfs mounts cannot be made here, or ``""`` when they can."""
    if not _MOUNT_PROBE:
        reason = ""
        if os.geteuid() != 0:
            reason = "mounting a tmpfs needs root (CAP_SYS_ADMIN); the tests run as a user"
        else:
            probe = tempfile.mkdtemp(prefix="dual_log-mount-probe-")
            done = _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe)
            if done.returncode != 0:
                reason = f"this machine refuses a tmpfs mount: {done.stderr.strip()}"
            else:
                _run("umount", probe)
            os.rmdir(probe)
        _MOUNT_PROBE.append(reason)
    return _MOUNT_PROBE[0]


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "1m", *, read_only: bool = False) -> Iterator[Path]:
    """Mount a fresh tmpfs of ``size`` at ``where`` (created if needed); unmount after."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if read_only else "")
    done = _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where))
    assert done.returncode == 0, done.stderr
    try:
        yield where
    finally:
        unmount(where)


def unmount(where: Path) -> None:
    """Unmount ``where``; lazily if a process still holds a file open on it."""
    if _run("umount", str(where)).returncode != 0:
        _run("umount", "-l", str(where))


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte; return the filler file."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError:
                break
        while True:  # the last few bytes, so not even a short record fits
            try:
                out.write(b"\0")
            except OSError:
                break
    return filler


@contextlib.contextmanager
def shared_folder(prefix: str) -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def leftovers(path: Path) -> list[Path]:
    """``.rotate.`` files: a rotation's segment renamed aside and not yet numbered."""
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".rotate."))


# Measurements -----------------------------------------------------------------------------


class Measurements:
    """Appends one JSON line per measured scenario to ``$DUAL_LOG_RELIABILITY_OUT`` (if set)."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self.target = os.environ.get("DUAL_LOG_RELIABILITY_OUT")

    def record(self, scenario: str, **values: Any) -> None:
        """Record ``values`` for ``scenario`` (a row of docs/RELIABILITY.md)."""
        if not self.target:
            return
        row = {"scenario": scenario, "nodeid": self.nodeid, **values}
        with open(self.target, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
