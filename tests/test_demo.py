"""The demo a newcomer runs first: it is light to install and prints what it promises."""

from __future__ import annotations

import gzip
import re
import shlex
import subprocess
from pathlib import Path

from tests.conftest import ROOT

DEMO = ROOT / "examples" / "demo.py"


def run_demo(python: str, folder: Path) -> str:
    """Run examples/demo.py with ``python``, writing into ``folder``; return its stdout."""
    done = subprocess.run(
        [python, str(DEMO), str(folder)],
        cwd=folder.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def check_demo_output(stdout: str, folder: Path) -> None:
    """The counts the demo prints are those of the files it leaves in ``folder``."""
    files = sorted(folder.glob("demo.log*"))
    lines: dict[str, list[str]] = {}
    for file in files:
        data = file.read_bytes()
        text = gzip.decompress(data).decode() if file.suffix == ".gz" else data.decode()
        lines[file.name] = text.splitlines()
    assert len(files) >= 3  # it rotated, as it says it does

    listing = stdout.split("== files in ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [line.split()[0] for line in listing] == [
        "demo.log",
        *(f"demo.log.{n}.gz" for n in range(1, len(files))),
    ]

    promised = re.search(r"== the last (\d+) records", stdout)
    assert promised
    shown = stdout.split(promised.group(0), 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert len(shown) == int(promised.group(1)) == 3
    # Newest last: the live file's last record closes the list.
    assert shown[-1].split()[0] == "demo.log:"
    assert lines["demo.log"][-1][:60] in shown[-1]

    summary = re.search(r"== (\d+) records on stdout, (\d+) across (\d+) files", stdout)
    assert summary
    total = sum(len(v) for v in lines.values())
    assert (int(summary.group(2)), int(summary.group(3))) == (total, len(files))
    assert int(summary.group(1)) == total == 43


def test_demo_shows_the_last_three_records_and_true_counts(python: str, tmp_path: Path) -> None:
    """The demo's 'last 3 records' are three lines, and its counts match the files it wrote."""
    folder = tmp_path / "demo-logs"
    check_demo_output(run_demo(python, folder), folder)


def test_scripts_demo_installs_the_package_alone() -> None:
    """scripts/demo installs dual_log without extras or the dev group; run-tests installs both."""

    def installs(script: str) -> list[str]:
        calls = [
            shlex.split(line)[2:]
            for line in map(str.strip, (ROOT / "scripts" / script).read_text().splitlines())
            if line.startswith("install_into_venv ")
        ]
        assert len(calls) == 1, script
        return calls[0]

    assert installs("demo") == ["-e", "."]
    tests = installs("run-tests")
    assert tests[:2] == ["-e", ".[$EXTRAS]"]
    assert "--group" in tests
    assert "dev" in tests
