"""``dual-log fetch`` against a stand-in ``fly`` on PATH that answers from local folders, and
the command line's own shape (python -m, lazy imports, subcommands)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dual_log._read import fetch as _fetch
from tests.helpers.cli import ROOT, machine_env, records, run, write_machine

# What `fly machine list --json` prints, trimmed to the fields a machine always has.
MACHINES = [
    {"id": "148e21", "name": "shop-one", "state": "started", "region": "ams",
     "instance_id": "01H", "private_ip": "fdaa::2", "config": {"image": "shop:1"}},
    {"id": "3d8d9e", "name": "shop-two", "state": "started", "region": "cdg",
     "instance_id": "01J", "private_ip": "fdaa::3", "config": {"image": "shop:1"}},
    {"id": "9080e6", "name": "shop-stopped", "state": "stopped", "region": "ams",
     "instance_id": "01K", "private_ip": "fdaa::4", "config": {"image": "shop:1"}},
    {"id": "e78432", "name": "shop-gone", "state": "started", "region": "fra",
     "instance_id": "01L", "private_ip": "fdaa::5", "config": {"image": "shop:1"}},
]  # fmt: skip


def _stand_in(tmp_path: Path) -> dict[str, str]:
    """A `fly` executable first on PATH, answering for the app "shop-app"; its environment."""
    root = tmp_path / "fly"
    root.mkdir()
    (root / "app").write_text("shop-app")
    (root / "machines.json").write_text(json.dumps(MACHINES, indent=2))
    binary = tmp_path / "bin"
    binary.mkdir()
    fly = binary / "fly"
    source = (ROOT / "tests" / "helpers" / "fakefly.py").read_text()
    fly.write_text(f"#!{sys.executable}\n{source}")
    fly.chmod(fly.stat().st_mode | stat.S_IXUSR)
    env = machine_env("laptop")
    env.update(PATH=f"{binary}{os.pathsep}{env['PATH']}", FAKE_FLY_ROOT=str(root))
    return env


def test_fetch_copies_every_started_machine_and_lists_the_others(tmp_path: Path) -> None:
    """Each started machine's /logs lands in DEST/<id>/ (rotated, gzipped files included);
    the stopped and the unreachable machine are listed, not fatal; cat then reads DEST."""
    env = _stand_in(tmp_path)
    fly_root = Path(env["FAKE_FLY_ROOT"])
    for machine in ("148e21", "3d8d9e"):
        write_machine(fly_root / machine / "logs", machine, 300, 1, "max_bytes=5000",
                      "keep=100", "compress=true")  # fmt: skip
    (fly_root / "148e21" / "logs" / "lost+found").mkdir()
    dest = tmp_path / "fetched"
    done = run("fetch", "--app", "shop-app", "--dest", str(dest), env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"fetched  148e21 (shop-one, ams) -> {dest / '148e21'}" in lines
    assert any(line.startswith("skipped  9080e6 (shop-stopped, ams): stopped") for line in lines)
    assert any(line.startswith("failed   e78432 (shop-gone, fra): exit status 1") for line in lines)
    assert lines[-1].startswith(f"2 of 4 machine(s) fetched into {dest}; 2 listed above")
    assert sorted(p.name for p in dest.iterdir()) == ["148e21", "3d8d9e"]
    assert list((dest / "148e21").glob("app.log.*.gz"))
    assert not (dest / "148e21" / "lost+found").exists()

    calls = [json.loads(c) for c in (fly_root / "calls.jsonl").read_text().splitlines()]
    assert calls[0] == _fetch.list_command("fly", "shop-app")[1:]
    assert calls[1] == _fetch.copy_command("fly", "shop-app", "148e21", "/logs")[1:]
    assert len(calls) == 4  # the list, and the three started machines

    read = run("cat", str(dest), "--json")
    assert read.returncode == 0, read.stderr
    found = records(read.stdout)
    assert len(found) == 600
    assert {r["fly_machine"] for r in found} == {"148e21", "3d8d9e"}
    times = [r["time"] for r in found]
    assert times == sorted(times)


def test_fetch_fails_clearly_when_the_machines_cannot_be_listed(tmp_path: Path) -> None:
    """An app flyctl does not know: flyctl's error on stderr and exit status 1."""
    env = _stand_in(tmp_path)
    done = run("fetch", "--app", "no-such-app", "--dest", str(tmp_path / "d"), env=env)
    assert done.returncode == 1
    assert "cannot list the machines of no-such-app" in done.stderr
    assert 'Could not find App "no-such-app"' in done.stderr
    assert not (tmp_path / "d").exists()


def test_import_dual_log_loads_no_part_of_the_command() -> None:
    """`import dual_log` imports neither the command line nor the reader."""
    code = (
        "import sys, dual_log\n"
        "print(sorted(m for m in sys.modules"
        " if m.startswith(('dual_log.cli', 'dual_log._read', 'dual_log.capture', 'nats'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_usage_errors_and_help() -> None:
    """No subcommand or an unknown one is a usage error (2); --help lists every subcommand,
    each with what it does."""
    assert run().returncode == 2
    unknown = run("frobnicate")
    assert unknown.returncode == 2
    assert "invalid choice: 'frobnicate'" in unknown.stderr
    helped = run("--help")
    assert helped.returncode == 0
    for command in ("cat", "tail", "doctor", "fetch", "capture"):
        listed = re.search(rf"^    {command} +(\S.*)$", helped.stdout, re.MULTILINE)
        assert listed is not None, command
        assert "--help" not in listed.group(1)  # a description, not a pointer elsewhere


@pytest.mark.parametrize("command", ["cat", "tail", "doctor", "fetch", "capture"])
def test_a_usage_error_is_the_subcommands_with_one_prefix(command: str) -> None:
    """An unknown option, or a bad value, is said with the subcommand's usage and one
    prefix (not "dual-log: error: dual_log: ...")."""
    needed = ["--app", "shop"] if command == "fetch" else []
    unknown = run(command, *needed, "--no-such-option")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(f"usage: dual-log {command} ")
    assert unknown.stderr.splitlines()[-1] == (
        f"dual-log {command}: error: unrecognized arguments: --no-such-option"
    )
    bad = {"cat": ["--level", "LOUD"], "tail": ["--level", "LOUD"], "doctor": ["--keep", "x"],
           "fetch": ["--app"], "capture": ["--level", "LOUD"]}[command]  # fmt: skip
    refused = run(command, *bad)
    if command == "doctor":  # a setting that does not resolve is a failed check
        assert refused.returncode == 1
        assert "FAIL  settings     invalid keep='x'; allowed: " in refused.stdout
        return
    assert refused.returncode == 2
    last = refused.stderr.splitlines()[-1]
    assert last.startswith(f"dual-log {command}: error: ")
    assert "dual_log:" not in last


def test_capture_is_a_subcommand_and_a_module_alike() -> None:
    """``dual-log capture`` and ``python -m dual_log.capture`` are one program: the same
    options, the same errors."""
    as_command = run("capture", "--help")
    as_module = subprocess.run(
        [sys.executable, "-m", "dual_log.capture", "--help"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert as_command.returncode == as_module.returncode == 0
    assert as_command.stdout == as_module.stdout
    assert "0640" in as_command.stdout  # modes as the rest of dual_log writes them
    assert "0o640" not in as_command.stdout
