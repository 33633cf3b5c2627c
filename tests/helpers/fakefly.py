"""A stand-in for flyctl, answering the two commands ``dual-log fetch`` runs from local folders.

Installed by the tests as an executable named ``fly`` first on PATH. ``FAKE_FLY_ROOT``
holds ``machines.json`` (what ``fly machine list --json`` prints: the real output's
shape, trimmed) and one folder per machine id standing for that machine's file system.
Every call is appended to ``FAKE_FLY_ROOT/calls.jsonl``.

- ``fly machine list --app APP --json``: prints machines.json; an app other than the
  one in ``FAKE_FLY_ROOT/app`` fails as flyctl does for an unknown app.
- ``fly ssh console --app APP --machine ID --command CMD``: runs CMD with ``sh`` with the
  machine's folder standing for ``/`` (``-C /logs`` becomes ``-C <root>/<id>/logs``);
  a machine without a folder cannot be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _option(argv: list[str], *names: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg in names and index + 1 < len(argv):
            return argv[index + 1]
        for name in names:
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def main(argv: list[str]) -> int:
    root = os.environ["FAKE_FLY_ROOT"]
    with open(os.path.join(root, "calls.jsonl"), "a", encoding="utf-8") as calls:
        calls.write(json.dumps(argv) + "\n")
    with open(os.path.join(root, "app"), encoding="utf-8") as known:
        app = known.read().strip()
    if _option(argv, "--app", "-a") != app:
        print(f'Error: Could not find App "{_option(argv, "--app", "-a")}"', file=sys.stderr)
        return 1
    if argv[:2] in (["machine", "list"], ["machines", "list"]) and "--json" in argv:
        with open(os.path.join(root, "machines.json"), encoding="utf-8") as machines:
            sys.stdout.write(machines.read())
        return 0
    if argv[:2] == ["ssh", "console"]:
        machine = _option(argv, "--machine") or ""
        command = _option(argv, "--command", "-C") or ""
        home = os.path.join(root, machine)
        if not machine or not os.path.isdir(home):
            print(f"Error: ssh: connect to {machine}: dial tcp: i/o timeout", file=sys.stderr)
            return 1
        local = command.replace(" -C /", f" -C {home}/")
        return subprocess.run(["sh", "-c", local], check=False).returncode
    print(f"Error: unknown command {argv!r} for the stand-in fly", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
