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
from tests.helpers.cli import DUAL_LOG, ROOT, machine_env, records, run, write_machine

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


def _write_logs(env: dict[str, str], *machines: str) -> Path:
    """Rotated, gzipped logs in each machine's /logs; the stand-in's root."""
    fly_root = Path(env["FAKE_FLY_ROOT"])
    for machine in machines:
        write_machine(fly_root / machine / "logs", machine, 300, 1, "max_bytes=5000",
                      "keep=100", "compress=true")  # fmt: skip
    return fly_root


def test_fetch_copies_every_started_machine_and_fails_honestly(tmp_path: Path) -> None:
    """Each started machine's /logs lands in DEST/<id>/ (rotated, gzipped files included),
    with its bytes and seconds; the stopped machine is skipped; the started one that cannot
    be reached fails, which makes the exit status 1; cat then reads DEST."""
    env = _stand_in(tmp_path)
    fly_root = _write_logs(env, "148e21", "3d8d9e")
    (fly_root / "148e21" / "logs" / "lost+found").mkdir()
    dest = tmp_path / "fetched"
    done = run("fetch", "--app", "shop-app", "--dest", str(dest), env=env)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("skipped  9080e6 (shop-stopped, ams): stopped")
    target = re.escape(str(dest / "148e21"))
    assert re.search(
        rf"^fetched  148e21 \(shop-one, ams\): [0-9.]+ KiB in [0-9.]+ s -> {target}$",
        done.stdout,
        re.MULTILINE,
    )
    assert "failed   e78432 (shop-gone, fra): exit status 1: Error: ssh: connect to e78432: " \
        "dial tcp: i/o timeout (0 B in " in done.stdout  # fmt: skip
    assert sum(line.startswith("fetching ") for line in lines) == 3
    assert re.match(
        rf"2 of 4 machine\(s\) fetched into {re.escape(str(dest))} \([0-9.]+ KiB in [0-9.]+ s\); "
        r"1 skipped; 1 failed\. Read them with: dual-log cat ",
        lines[-1],
    )
    assert "1 started machine(s) of shop-app could not be fetched whole" in done.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["148e21", "3d8d9e"]
    assert list((dest / "148e21").glob("app.log.*.gz"))
    assert not (dest / "148e21" / "lost+found").exists()

    calls = [json.loads(c) for c in (fly_root / "calls.jsonl").read_text().splitlines()]
    assert calls[0] == _fetch.list_command("fly", "shop-app")[1:]
    assert _fetch.copy_command("fly", "shop-app", "148e21", "/logs")[1:] in calls
    assert len(calls) == 4  # the list, and the three started machines

    read = run("cat", str(dest), "--json")
    assert read.returncode == 0, read.stderr
    found = records(read.stdout)
    assert len(found) == 600
    assert {r["fly_machine"] for r in found} == {"148e21", "3d8d9e"}
    times = [r["time"] for r in found]
    assert times == sorted(times)


def test_progress_is_printed_as_each_machine_starts_before_any_ends(tmp_path: Path) -> None:
    """While the copies are held up, the skipped machine and one line per copy started are
    already printed, no more copies at once than --jobs; then each ends with its line."""
    env = _stand_in(tmp_path)
    fly_root = _write_logs(env, "148e21", "3d8d9e")
    hold = tmp_path / "go"
    env["FAKE_FLY_HOLD"] = str(hold)
    dest = tmp_path / "fetched"
    with subprocess.Popen(
        [DUAL_LOG, "fetch", "--app", "shop-app", "--dest", str(dest), "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True,
    ) as fetching:  # fmt: skip
        assert fetching.stdout is not None
        early = [fetching.stdout.readline().rstrip("\n") for _ in range(3)]
        assert early[0].startswith("skipped  9080e6")
        assert sorted(early[1:]) == ["fetching 148e21 (shop-one, ams)",
                                     "fetching 3d8d9e (shop-two, cdg)"]  # fmt: skip
        hold.touch()
        rest = fetching.stdout.read().splitlines()
        assert fetching.wait(timeout=60) == 1  # e78432 cannot be reached
    # Each copy's end, e78432's start and end, the summary; in whichever order they came.
    assert sorted(line.split()[0] for line in rest) == [
        "2", "failed", "fetched", "fetched", "fetching",
    ]  # fmt: skip
    running = [json.loads(line) for line in (fly_root / "running.jsonl").read_text().splitlines()]
    assert max(r["running"] for r in running) <= 2


@pytest.mark.parametrize("jobs", [2, 3])
def test_machines_are_copied_side_by_side_up_to_jobs(tmp_path: Path, jobs: int) -> None:
    """Copies that each wait until JOBS of them run at once all finish: they ran side by side,
    and never more than --jobs at once."""
    env = _stand_in(tmp_path)
    fly_root = _write_logs(env, "148e21", "3d8d9e", "e78432")
    env["FAKE_FLY_TOGETHER"] = str(jobs)
    done = run("fetch", "--app", "shop-app", "--dest", str(tmp_path / "d"), "--jobs", str(jobs),
               env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (fly_root / "together").exists()
    running = [json.loads(line) for line in (fly_root / "running.jsonl").read_text().splitlines()]
    assert max(r["running"] for r in running) == jobs


def test_a_copy_cut_short_is_kept_apart_and_an_earlier_copy_stays(tmp_path: Path) -> None:
    """A copy whose connection drops half-way: exit status 1, what arrived in
    DEST/<id>.partial/ (read when named, never with DEST), the earlier good copy untouched;
    a handshake that fails leaves nothing."""
    env = _stand_in(tmp_path)
    _write_logs(env, "148e21", "3d8d9e", "e78432")
    env.update(FAKE_FLY_CUT="3d8d9e", FAKE_FLY_REFUSE="e78432")
    dest = tmp_path / "fetched"
    (dest / "3d8d9e").mkdir(parents=True)
    earlier = b'{"time": "2026-01-01T00:00:00.000+00:00", "level": "INFO", "message": "earlier"}\n'
    (dest / "3d8d9e" / "app.log").write_bytes(earlier)
    done = run("fetch", "--app", "shop-app", "--dest", str(dest), env=env)
    assert done.returncode == 1
    partial = dest / "3d8d9e.partial"
    assert re.search(
        r"^failed   3d8d9e \(shop-two, cdg\): exit status 1: Error: ssh: read: connection reset "
        rf"by peer \([0-9.]+ KiB in [0-9.]+ s\); what arrived is in {re.escape(str(partial))}$",
        done.stdout,
        re.MULTILINE,
    )
    assert "failed   e78432 (shop-gone, fra): exit status 1: Error: ssh: handshake failed: EOF" \
        in done.stdout  # fmt: skip
    assert sorted(p.name for p in dest.iterdir()) == ["148e21", "3d8d9e", "3d8d9e.partial"]
    assert (dest / "3d8d9e" / "app.log").read_bytes() == earlier
    whole = records(run("cat", str(dest), "--json").stdout)
    assert {r.get("fly_machine") for r in whole} == {"148e21", None}
    assert len(whole) == 301
    arrived = records(run("cat", str(partial), "--json").stdout)
    assert 0 < len(arrived) < 300
    assert {r["fly_machine"] for r in arrived} == {"3d8d9e"}


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
