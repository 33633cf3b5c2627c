"""``dual-log fetch``: copy the log folder of every machine of a Fly app, one sub-folder each.

It runs the ``fly`` command the user already has, logged in. The two flyctl commands it
relies on are built here and nowhere else (the README's "Reading the files" quotes them):

- ``fly machine list --app APP --json``: a JSON array with, per machine, ``id`` (the
  sub-folder's name), ``state`` (only ``started`` machines are copied), and ``name`` and
  ``region`` (shown).
- ``fly ssh console --app APP --machine ID --command "tar -C FOLDER -czf - ."``: the folder
  as a gzipped tar on stdout. With ``--command``, flyctl allocates no terminal, so the
  bytes arrive as they are. The image needs ``tar`` (Debian and Alpine images have it).

Each machine's archive is unpacked into ``DEST/<id>/`` with ``tarfile``'s ``data`` filter
(no absolute paths, links out of the folder or device files). A machine that is stopped,
or that cannot be reached, is listed and skipped; ``dual-log cat DEST`` then reads
whatever arrived.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from typing import Any

from dual_log._read.discover import warn


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


def _copy(fly: str, app: str, machine: str, folder: str, dest: str, timeout: float) -> str | None:
    """Copy one machine's folder into ``dest``; None, or why it failed.

    A non-zero exit status with an archive that unpacks whole is not a failure: GNU tar
    exits 1 when a file grew while it was read, which a live log file does.
    """
    command = copy_command(fly, app, machine, folder)
    with tempfile.TemporaryFile() as archive:
        try:
            done = subprocess.run(
                command, stdout=archive, stderr=subprocess.PIPE, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exc}"
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        failed = f"exit status {done.returncode}" + (f": {error[-1]}" if error else "")
        if archive.tell() == 0:
            return failed if done.returncode else "it sent nothing"
        archive.seek(0)
        os.makedirs(dest, exist_ok=True)
        try:
            with tarfile.open(fileobj=archive, mode="r:gz") as tar:
                _extract(tar, dest)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            reason = failed if done.returncode else f"the archive is damaged ({exc})"
            return f"{reason}; what arrived before the damage is in {dest}"
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


def run(app: str, dest: str, *, folder: str, fly: str | None, timeout: float) -> int:
    """Fetch every started machine's ``folder`` into ``dest/<id>``; 0, or 1 if none came."""
    program = find_fly(fly)
    if program is None:
        warn("cannot find flyctl ('fly' or 'flyctl') on PATH: https://fly.io/docs/flyctl/install/")
        return 1
    machines = _machines(program, app)
    if isinstance(machines, str):
        warn(f"cannot list the machines of {app}: {machines}")
        return 1
    fetched = skipped = 0
    for machine in machines:
        ident = str(machine["id"])
        about = f"{ident} ({machine.get('name', '?')}, {machine.get('region', '?')})"
        state = machine.get("state")
        if ident in (".", "..") or os.sep in ident:
            print(f"skipped  {about}: not a usable machine id", flush=True)
            skipped += 1
            continue
        if state != "started":
            print(
                f"skipped  {about}: {state}; start it to fetch its logs "
                f"(fly machine start {ident} --app {app})",
                flush=True,
            )
            skipped += 1
            continue
        target = os.path.join(dest, ident)
        problem = _copy(program, app, ident, folder, target, timeout)
        if problem:
            print(f"failed   {about}: {problem}", flush=True)
            skipped += 1
        else:
            print(f"fetched  {about} -> {target}", flush=True)
            fetched += 1
    print(
        f"{fetched} of {len(machines)} machine(s) fetched into {dest}"
        + (f"; {skipped} listed above were not" if skipped else "")
        + (f". Read them with: dual-log cat {shlex.quote(dest)}" if fetched else ""),
        flush=True,
    )
    if not fetched:
        print(f"dual-log: nothing fetched from {app}", file=sys.stderr)
        return 1
    return 0
