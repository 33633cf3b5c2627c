"""Regenerate the measured table of docs/RELIABILITY.md from a real run of the fault suite.

    .venv/bin/python tests/faults/report.py             # run the suite, then write the table
    .venv/bin/python tests/faults/report.py --from F    # write the table from measurements F

The fault tests append one JSON line per measured scenario to the file named by
``DUAL_LOG_RELIABILITY_OUT`` (see ``harness.Measurements``). This script runs them with that
variable set, keeps the raw numbers in docs/reliability-run.jsonl, and replaces the part of
docs/RELIABILITY.md between the ``measured`` markers with a table built from them: nothing
in the table is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "RELIABILITY.md"
RAW = ROOT / "docs" / "reliability-run.jsonl"
START = "<!-- measured:start (tests/faults/report.py writes this part) -->"
END = "<!-- measured:end -->"

# What dual_log promises in each scenario, by test function.
PROMISES = {
    "test_missing_folder_at_start_then_mounted": (
        "stdout keeps every record; one stderr line names the path, ENOENT and 'is the volume "
        "mounted?', one says it works again; the records logged meanwhile are held and "
        "written once the folder exists: 0 missing"
    ),
    "test_folder_deleted_mid_run_then_restored": (
        "stdout keeps every record; one stderr line when it breaks, one when it heals; the "
        "records logged while the folder is gone are held and written to the recreated "
        "file: 0 missing (those written before went with the folder)"
    ),
    "test_log_path_replaced_by_a_directory": (
        "EISDIR reported once; records held, written once the folder is gone: 0 missing"
    ),
    "test_disk_full_then_space_freed": (
        "ENOSPC reported once; a write cut short is cut back to its last whole line, the "
        "rest held and written when space is freed: 0 missing, 0 torn"
    ),
    "test_dev_full_as_the_log_file": (
        "ENOSPC reported once, records held and written once the path is a file again; the "
        "device's permissions are left alone"
    ),
    "test_volume_turns_read_only_then_remounted": (
        "EROFS reported once; dual_log closes its files so the volume can be unmounted; "
        "records held and written after the remount"
    ),
    "test_lock_file_not_writable": "EACCES on the lock file reported, naming it; held; heals",
    "test_lock_folder_not_writable": (
        "EACCES creating the lock file reported as the folder's; held; heals"
    ),
    "test_a_growing_database_never_gets_enospc_because_of_the_logs": (
        "the database never gets ENOSPC; the logs delete their oldest rotated files, then "
        "pause with their records held (said once), and write them when space comes back"
    ),
    "test_broken_pipe_on_stdout": (
        "the file gets every record; one stderr line; stdout's missed count exact; exit 0"
    ),
    "test_stdout_closed_by_the_application": (
        "the file gets every record; one stderr line; stdout's missed count exact; exit 0"
    ),
    "test_signal_mid_burst": (
        "everything logged before the signal is in the file (the queue is written out); the "
        "signal still kills, raises KeyboardInterrupt, or runs the app's handler"
    ),
    "test_rotation_storm_eight_processes_with_threads": "0 lost, 0 duplicated, 0 torn",
    "test_worker_killed_mid_rotation": (
        "the other workers go on (no deadlock, the kernel frees the dead one's lock) and lose "
        "nothing; 0 duplicated, 0 torn"
    ),
    "test_fork_without_exec_after_setup": (
        "parent and children all write, each record once; children count their own records"
    ),
    "test_fork_while_another_thread_logs": (
        "no child hangs on a lock its parent's thread held at fork; each child's records "
        "in the file once"
    ),
    "test_a_fifo_or_socket_at_the_log_path": (
        "reported once as what it is; records held, none counted as written; all written "
        "once a regular file can be made there"
    ),
    "test_a_volume_smaller_than_max_bytes_keeps_its_newest_records": (
        "the file rotates at half of what the volume can hold (said once); the oldest "
        "rotated files make room; none held for ever, none given up at exit"
    ),
    "test_an_error_of_dual_logs_own_is_said_and_the_writer_goes_on": (
        "one stderr line names the exception and its place; counted in errors; the records "
        "are held and written: 0 missing"
    ),
    "test_a_signal_handler_that_logs_at_every_stage": (
        "the process ends; every record in the file once, whole; the handler's records with "
        "no gap; no fault, traceback or 'Logging error'"
    ),
    "test_logging_at_interpreter_exit_never_hangs": (
        "the process exits at once; the late record is written (through a second file "
        "object if a frozen thread holds the lock), or counted and said"
    ),
    "test_sigterm_during_the_exit_flush_waits_for_it": (
        "the signal waits for the exit flush: every record written, then SIGTERM ends the "
        "process as it would have"
    ),
    "test_a_pool_ends_with_every_record_written": ("every record of every task in the file, once"),
    "test_logrotate_create_loses_nothing": (
        "dual_log reopens the renamed path: every record in app.log.1 or app.log, once"
    ),
    "test_logrotate_copytruncate_under_the_lock_loses_nothing": (
        "the writers wait for the copy and the truncation (records held): every record once"
    ),
}

# The order of the table: the volume first, then stdout, signals, several processes.
ORDER = (
    "test_volume.py",
    "test_files.py",
    "test_min_free.py",
    "test_outside_rotation.py",
    "test_stdout.py",
    "test_signals.py",
    "test_signal_safety.py",
    "test_exit.py",
    "test_processes.py",
)

# The measured values, in the order and words the table shows them.
LABELS = (
    ("logged", "logged {}"),
    ("handler_records", "records of the signal handler {}"),
    ("stdout", "on stdout {}"),
    ("in_file", "in file {}"),
    ("deleted_with_folder", "written, then deleted with the folder {}"),
    ("missing", "missing {}"),
    ("held", "held during the fault {}"),
    ("held_while_paused", "held while paused {}"),
    ("evicted", "oldest deleted to keep min_free {}"),
    ("bytes_on_volume", "bytes on the volume {}"),
    ("reported", "reported missed {}"),
    ("survivors_missing", "survivors missing {}"),
    ("victim_lost", "killed worker lost {}"),
    ("aside", "segments left as .rotate. {}"),
    ("stdout_missed", "stdout missed (counted) {}"),
    ("errors", "errors counted {}"),
    ("late_record", "the __del__ record {}"),
    ("exit_s", "exited in {} s"),
    ("duplicated", "duplicated {}"),
    ("torn", "torn {}"),
    ("rotations", "rotations {}"),
    ("queued_at_signal", "queued at the signal {}"),
    ("stderr_lines", "dual_log lines on stderr {}"),
    ("recover_s", "recovered in {} s"),
    ("exit", "exit {}"),
)


def run_suite(target: Path, junit: Path) -> tuple[int, float]:
    """Run the fault suite with measurements going to ``target``."""
    env = {**os.environ, "DUAL_LOG_RELIABILITY_OUT": str(target)}
    argv = [sys.executable, "-m", "pytest", "tests/faults", "-m", "faults", "-q",
            "-p", "no:cacheprovider", f"--junitxml={junit}"]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, check=False, timeout=900)
    return done.returncode, time.monotonic() - start


def outcomes(junit: Path) -> dict[str, str]:
    """Each test's outcome ('passed', 'failed', 'skipped: <reason>'), by node id."""
    results: dict[str, str] = {}
    # The file pytest just wrote, in a private temporary folder.
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        module = case.get("classname", "").replace(".", "/")  # tests.faults.test_volume
        nodeid = f"{module}.py::{case.get('name')}"
        skipped = case.find("skipped")
        if skipped is not None:
            results[nodeid] = "skipped: " + (skipped.get("message") or "")
        elif case.find("failure") is not None or case.find("error") is not None:
            results[nodeid] = "FAILED"
        else:
            results[nodeid] = "passed"
    return results


def measured(row: dict[str, Any]) -> str:
    """The measured numbers of one row, labelled."""
    return "; ".join(label.format(row[key]) for key, label in LABELS if key in row)


def table(rows: list[dict[str, Any]], results: dict[str, str], meta: dict[str, Any]) -> str:
    """The Markdown of the measured part of the document."""
    lines = [
        START,
        "",
        f"Measured on {meta['date']}: Python {meta['python']}, {meta['system']}, "
        f"{meta['cpus']} CPUs; the fault suite took {meta['seconds']:.0f} s "
        f"({meta['summary']}).",
        "",
        "| Scenario | Mode | dual_log promises | Measured | Reproduce |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        function = row["nodeid"].split("::")[1].split("[")[0]
        result = results.get(row["nodeid"], "passed")
        verdict = "" if result == "passed" else f" **{result}**"
        lines.append(
            f"| {row['scenario']} | {row.get('mode', '')} | {PROMISES.get(function, '')} | "
            f"{measured(row)}{verdict} | `scripts/run-tests '{row['nodeid']}'` |"
        )
    skipped = {k: v for k, v in results.items() if v.startswith("skipped")}
    failed = sorted(k for k, v in results.items() if v == "FAILED")
    if skipped or failed:
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- `{k}`: {v}" for k, v in sorted(skipped.items())]
        lines += [f"- `{k}`: FAILED" for k in failed]
    lines += ["", END]
    return "\n".join(lines)


def write(rows: list[dict[str, Any]], results: dict[str, str], meta: dict[str, Any]) -> None:
    """Replace the measured part of docs/RELIABILITY.md."""
    text = DOC.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    if not found:
        raise SystemExit(f"{DOC} has no line {START!r}")
    _, found, tail = rest.partition(END)
    if not found:
        raise SystemExit(f"{DOC} has no line {END!r}")
    DOC.write_text(head + table(rows, results, meta) + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="measurements to use")
    args = parser.parse_args()
    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
    }
    results: dict[str, str] = {}
    status = 0
    if args.source is None:
        with tempfile.TemporaryDirectory() as scratch:
            target, junit = Path(scratch) / "measurements.jsonl", Path(scratch) / "junit.xml"
            target.touch()
            status, meta["seconds"] = run_suite(target, junit)
            results = outcomes(junit)
            RAW.write_text(target.read_text(encoding="utf-8"), encoding="utf-8")
    else:
        meta["seconds"] = 0.0
        RAW.write_text(args.source.read_text(encoding="utf-8"), encoding="utf-8")
    counts: dict[str, int] = {}
    for result in results.values():
        key = result.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    meta["summary"] = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no outcomes"
    rows = [json.loads(line) for line in RAW.read_text(encoding="utf-8").splitlines() if line]
    rows.sort(key=lambda row: ORDER.index(row["nodeid"].split("::")[0].rsplit("/", 1)[1]))
    write(rows, results, meta)
    print(f"report: {len(rows)} measured rows written to {DOC.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
