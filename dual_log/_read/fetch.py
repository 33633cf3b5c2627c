"""``dual-log fetch``: copy the log folder of every machine of a Fly app, one sub-folder each.

It runs the ``fly`` command the user already has, logged in. The two flyctl commands it
relies on are built here and nowhere else (the README's "Reading the files" quotes them):

- ``fly machine list --app APP --json``: a JSON array with, per machine, ``id`` (the
  sub-folder's name), ``state`` (only ``started`` machines are copied), and ``name`` and
  ``region`` (shown).
- ``fly ssh console --app APP --machine ID --command "tar -C FOLDER -czf - ."``: the folder
  as a gzipped tar on stdout. With ``--command``, flyctl allocates no terminal, so the
  bytes arrive as they are. The image needs ``tar`` (Debian and Alpine images have it).

Machines are copied ``jobs`` at a time, each in a thread waiting on its own flyctl. One
line is printed as each starts and as each ends (its bytes and seconds), and a summary.
Each archive is unpacked with ``tarfile``'s ``data`` filter (no absolute paths, links out of
the folder or device files) into a hidden ``DEST/.<id>.incoming/``, which becomes
``DEST/<id>/`` only once the archive unpacked whole, replacing an earlier copy. A copy that
failed part-way keeps what arrived in ``DEST/<id>.partial/``, which ``dual-log cat DEST``
does not read (name it to read it), and an earlier good copy stays as it was.
The exit status is 1 when any started machine could not be copied whole.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import zlib
from typing import Any

from dual_log._read.discover import PARTIAL, warn
from dual_log._report import size_text

_PRINTING = threading.Lock()


def list_command(fly: str, app: str) -> list[str]:
    """The flyctl command listing the app's machines as JSON."""
    return [fly, "machine", "list", "--app", app, "--json"]


def copy_command(fly: str, app: str, machine: str, folder: str) -> list[str]:
    """The flyctl command writing ``folder`` of ``machine`` to stdout as a .tar.gz."""
    remote = f"tar -C {shlex.quote(folder)} --exclude=./lost+found -czf - ."
    return [fly, "ssh", "console", "--app", app, "--machine", machine, "--command", remote]


def find_fly(given: str | None) -> str | None:
    """The flyctl program: ``given``, else ``fly``, else ``flyctl`` on PATH."""
    if given:
        return given
    return shutil.which("fly") or shutil.which("flyctl")


def say(line: str) -> None:
    """Print one line of progress at once, whole, whichever thread says it."""
    with _PRINTING:
        print(line, flush=True)


def _machines(fly: str, app: str) -> list[dict[str, Any]] | str:
    """The machines of ``app``, or why they could not be listed."""
    command = list_command(fly, app)
    try:
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{shlex.join(command)}: {exc}"
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip()
        return f"{shlex.join(command)} failed ({done.returncode}): {error}"
    try:
        machines = json.loads(done.stdout)
    except ValueError:
        return f"{shlex.join(command)} did not print JSON"
    if not isinstance(machines, list) or not all(
        isinstance(m, dict) and isinstance(m.get("id"), str) for m in machines
    ):
        return f"{shlex.join(command)}: expected a JSON list of machines with an 'id'"
    return machines


class Copy:
    """One machine's copy: how it went.

    Attributes:
        about: how lines name the machine: ``id (name, region)``.
        size: bytes of archive received.
        seconds: how long it took.
        problem: why it failed, or None.
    """

    def __init__(self, ident: str, about: str) -> None:
        self.ident = ident
        self.about = about
        self.size = 0
        self.seconds = 0.0
        self.problem: str | None = None


def _fetch(program: str, app: str, folder: str, dest: str, copy: Copy, timeout: float) -> None:
    """Copy one machine's folder into ``dest/<id>``; what happened goes in ``copy``."""
    say(f"fetching {copy.about}")
    start = time.monotonic()
    incoming = os.path.join(dest, f".{copy.ident}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        copy.problem = _copy(program, app, copy, folder, incoming, timeout)
    except OSError as exc:  # the destination refuses: the copy failed, the others go on
        copy.problem = f"cannot write in {dest}: {exc.strerror or exc}"
    copy.seconds = time.monotonic() - start
    took = f"{size_text(copy.size)} in {copy.seconds:.1f} s"
    target = os.path.join(dest, copy.ident)
    if copy.problem is None:
        _replace(incoming, target)
        shutil.rmtree(target + PARTIAL, ignore_errors=True)
        say(f"fetched  {copy.about}: {took} -> {target}")
        return
    kept = ""
    if os.path.isdir(incoming) and os.listdir(incoming):
        _replace(incoming, target + PARTIAL)
        kept = f"; what arrived is in {target + PARTIAL}"
    shutil.rmtree(incoming, ignore_errors=True)
    say(f"failed   {copy.about}: {copy.problem} ({took}){kept}")


def _replace(source: str, target: str) -> None:
    """Put the folder ``source`` at ``target``, an earlier one there going only once the
    new one is in place."""
    old = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.old")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.lexists(target):
        os.rename(target, old)
    os.rename(source, target)
    shutil.rmtree(old, ignore_errors=True)


def _copy(
    program: str, app: str, copy: Copy, folder: str, incoming: str, timeout: float
) -> str | None:
    """Run flyctl and unpack what it sends into ``incoming``; None, or why it failed.

    A non-zero exit status with an archive that unpacks whole is not a failure: GNU tar
    exits 1 when a file grew while it was read, which a live log file does.
    """
    command = copy_command(program, app, copy.ident, folder)
    os.makedirs(os.path.dirname(incoming) or ".", exist_ok=True)
    with tempfile.TemporaryFile(dir=os.path.dirname(incoming) or ".") as archive:
        try:
            done = subprocess.run(
                command, stdout=archive, stderr=subprocess.PIPE, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            failed: str | None = f"no end after {timeout:g} s (--timeout)"
        except OSError as exc:
            return f"cannot run {program}: {exc.strerror or exc}"
        else:
            error = done.stderr.decode("utf-8", "replace").strip().splitlines()
            failed = None
            if done.returncode:
                failed = f"exit status {done.returncode}" + (f": {error[-1]}" if error else "")
        copy.size = archive.tell()
        if copy.size == 0:
            return failed or "it sent nothing"
        archive.seek(0)
        os.makedirs(incoming)
        try:
            with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                _extract(tar, incoming)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            return failed or f"the archive is damaged ({exc})"
    return None


def _extract(tar: tarfile.TarFile, dest: str) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    # Python versions before the extraction filters: regular files and folders only,
    # with names that stay inside dest.
    for member in tar:
        target = os.path.realpath(os.path.join(dest, member.name))
        inside = target.startswith(os.path.realpath(dest) + os.sep)
        if inside and (member.isfile() or member.isdir()):
            tar.extract(member, dest)  # checked just above


def _about(machine: dict[str, Any]) -> str:
    return f"{machine['id']} ({machine.get('name', '?')}, {machine.get('region', '?')})"


def _started(machines: list[dict[str, Any]], app: str) -> tuple[list[Copy], int]:
    """The copies to make; the machines skipped are said at once, and counted."""
    copies, skipped = [], 0
    for machine in machines:
        ident, about = str(machine["id"]), _about(machine)
        if ident in (".", "..") or os.sep in ident or ident.endswith(PARTIAL):
            say(f"skipped  {about}: not a usable machine id")
            skipped += 1
        elif machine.get("state") != "started":
            say(
                f"skipped  {about}: {machine.get('state')}; start it to fetch its logs "
                f"(fly machine start {ident} --app {app})"
            )
            skipped += 1
        else:
            copies.append(Copy(ident, about))
    return copies, skipped


def run(app: str, dest: str, *, folder: str, fly: str | None, timeout: float, jobs: int = 4) -> int:
    """Fetch every started machine's ``folder`` into ``dest/<id>``, ``jobs`` at a time;
    0, or 1 if a started machine could not be copied whole, or none was."""
    program = find_fly(fly)
    if program is None:
        warn("cannot find flyctl ('fly' or 'flyctl') on PATH: https://fly.io/docs/flyctl/install/")
        return 1
    machines = _machines(program, app)
    if isinstance(machines, str):
        warn(f"cannot list the machines of {app}: {machines}")
        return 1
    start = time.monotonic()
    copies, skipped = _started(machines, app)
    if copies:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for done in [
                pool.submit(_fetch, program, app, folder, dest, c, timeout) for c in copies
            ]:
                done.result()
    fetched = [c for c in copies if c.problem is None]
    failed = len(copies) - len(fetched)
    size = sum(c.size for c in fetched)
    say(
        f"{len(fetched)} of {len(machines)} machine(s) fetched into {dest} "
        f"({size_text(size)} in {time.monotonic() - start:.1f} s)"
        + (f"; {skipped} skipped" if skipped else "")
        + (f"; {failed} failed" if failed else "")
        + (f". Read them with: dual-log cat {shlex.quote(dest)}" if fetched else "")
    )
    if failed:
        warn(f"{failed} started machine(s) of {app} could not be fetched whole (see above)")
        return 1
    if not fetched:
        warn(f"nothing fetched from {app}: no machine is started")
        return 1
    return 0
