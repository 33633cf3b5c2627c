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

What a test asks of the copies, in the environment:

- ``FAKE_FLY_HOLD``: a path; each copy waits until it exists (the test reads the progress
  printed meanwhile).
- ``FAKE_FLY_TOGETHER``: a number; the copies wait until that many run at once (which only
  copies run side by side can do), or 20 s. Each copy appends how many ran when it
  started to ``FAKE_FLY_ROOT/running.jsonl``.
- ``FAKE_FLY_CUT``: machine ids whose copy sends half its archive, then fails as a
  connection reset does.
- ``FAKE_FLY_REFUSE``: machine ids whose copy fails at once, as an ssh handshake does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable


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
        return _console(root, _option(argv, "--machine") or "", _option(argv, "--command", "-C"))
    print(f"Error: unknown command {argv!r} for the stand-in fly", file=sys.stderr)
    return 1


def _wait_for(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def _console(root: str, machine: str, command: str | None) -> int:
    home = os.path.join(root, machine)
    if not machine or not os.path.isdir(home):
        print(f"Error: ssh: connect to {machine}: dial tcp: i/o timeout", file=sys.stderr)
        return 1
    if machine in os.environ.get("FAKE_FLY_REFUSE", "").split(","):
        print("Error: ssh: handshake failed: EOF", file=sys.stderr)
        return 1
    running = os.path.join(root, "running")
    os.makedirs(running, exist_ok=True)
    mine = os.path.join(running, machine)
    open(mine, "w").close()  # an empty marker
    with open(os.path.join(root, "running.jsonl"), "a", encoding="utf-8") as log:
        log.write(json.dumps({"machine": machine, "running": len(os.listdir(running))}) + "\n")
    try:
        if hold := os.environ.get("FAKE_FLY_HOLD"):
            _wait_for(lambda: os.path.exists(hold), 30)
        if together := int(os.environ.get("FAKE_FLY_TOGETHER", "0")):
            met = os.path.join(root, "together")
            if len(os.listdir(running)) >= together:
                open(met, "w").close()  # an empty marker
            _wait_for(lambda: os.path.exists(met), 20)
        local = (command or "").replace(" -C /", f" -C {home}/")
        if machine in os.environ.get("FAKE_FLY_CUT", "").split(","):
            sent = subprocess.run(["sh", "-c", local], capture_output=True, check=False).stdout
            sys.stdout.buffer.write(sent[: len(sent) // 2])
            sys.stdout.flush()
            print("Error: ssh: read: connection reset by peer", file=sys.stderr)
            return 1
        return subprocess.run(["sh", "-c", local], check=False).returncode
    finally:
        os.remove(mine)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
