"""The benchmark command, run with tiny sizes so its scripts cannot rot (no timings asserted)."""

from __future__ import annotations

import json
import math
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks import _configs
from tests.conftest import ROOT

pytestmark = pytest.mark.paced  # the benchmark scripts run on one Python, as their docs say

if TYPE_CHECKING:
    from pathlib import Path


def _run(python: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    raw = tmp_path / "results.json"
    command = [python, "-m", "benchmarks", "--quick", "--json", str(raw)]
    command += ["--doc", str(tmp_path / "PERFORMANCE.md"), "--chart", str(tmp_path / "chart.png")]
    completed = subprocess.run(
        [*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=240, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results: dict[str, Any] = json.loads(raw.read_text())
    return results


def _sane(value: float) -> bool:
    return math.isfinite(value) and 0 < value < 1e7


def test_per_call_and_multi_process_tables_cover_every_configuration(
    python: str, tmp_path: Path
) -> None:
    """--quick measures every configuration and step, finds every record, writes doc and chart."""
    results = _run(python, tmp_path, "--parts", "percall,breakdown,multiproc")

    percall = {row["key"]: row for row in results["percall"]["rows"]}
    assert list(percall) == [c.key for c in _configs.CONFIGS]
    for row in percall.values():
        assert all(_sane(row[f"{m}_us"]) for m in ("calls_cpu", "calls", "total")), row
        assert all(_sane(row[f"{m}_ratio"]) for m in ("calls_cpu", "calls", "total")), row
        if _configs.BY_KEY[row["key"]].file_format is not None:
            assert row["file_lines_min"] == row["file_lines_expected"], row
    assert percall["stdout"]["calls_cpu_ratio"] == 1.0

    stages = [row["stage"] for row in results["breakdown"]["rows"]]
    assert stages == ["stdout", "dual_stdout", "dispatch", "format", "full"]
    assert all(_sane(row["cpu_us"]) for row in results["breakdown"]["rows"])

    multiproc = {row["key"]: row for row in results["multiproc"]["rows"]}
    compared = [c.key for c in _configs.CONFIGS if not c.informative]
    assert list(multiproc) == compared
    assert all(_sane(row["records_per_s"]) for row in multiproc.values())
    for key in (
        "clh",
        "dual_queue_json",
        "dual_queue_text",
        "dual_direct_json",
        "dual_direct_text",
    ):
        row = multiproc[key]
        assert (row["lost"], row["duplicated"], row["torn"]) == (0, 0, 0), row
        assert row["files"] > 1, row  # the tiny rotation size made it rotate

    doc = (tmp_path / "PERFORMANCE.md").read_text()
    for config in _configs.CONFIGS:
        assert f"| {config.label} |" in doc
    assert "- Python: " in doc
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.e2e
def test_end_to_end_table_serves_the_minimal_app_with_each_logging_setup(
    python: str, tmp_path: Path
) -> None:
    """--quick serves an app under gunicorn per logging set-up; the file logs every request."""
    results = _run(python, tmp_path, "--parts", "e2e", "--apps", "minimal")

    rows = {row["logging"]: row for row in results["e2e"]["rows"]}
    assert list(rows) == ["stdout", "dual_queue", "dual_direct"]
    for key, row in rows.items():
        assert row["requests"] > 0, row
        assert _sane(row["rps"]), row
        assert row["non_2xx"] == 0, row
        if key != "stdout":
            assert row["file_lines"] >= row["requests"], row
    assert rows["stdout"]["file_lines"] == 0
    assert (
        "| minimal | dual_log, queue=True (default) |" in (tmp_path / "PERFORMANCE.md").read_text()
    )


def test_reader_benchmark_compares_dual_log_cat_with_the_shell_pipelines(
    python: str, tmp_path: Path
) -> None:
    """`benchmarks reader --quick` runs every reader command; the same records come out of
    dual-log cat and of the jq and sort pipelines, and only the reader's block is written."""
    results = _run(python, tmp_path, "--parts", "reader")
    rows = {row["label"]: row for row in results["reader"]["rows"]}
    assert all(_sane(row["wall_s"]) and _sane(row["rss_mb"]) for row in rows.values())
    assert rows["dual-log cat --json"]["lines"] == rows["zcat -f | sort"]["lines"] > 1000
    jq = "zcat -f | jq -c 'select(.level==\"ERROR\")'"
    if jq in rows:  # jq is installed
        assert rows[jq]["lines"] == rows["dual-log cat --level ERROR --json"]["lines"] > 0
    doc = (tmp_path / "PERFORMANCE.md").read_text()
    assert "<!-- benchmarks:reader -->" in doc
    assert "- Python: " in doc.split("<!-- benchmarks:reader -->")[1]
    # The shared machine block is left as it was (here: the template's empty one).
    assert "<!-- benchmarks:machine -->\n<!-- /benchmarks:machine -->" in doc


def test_goal_parts_measure_both_calls_the_tail_and_memory_and_write_one_line_per_goal(
    python: str, tmp_path: Path
) -> None:
    """--quick runs the calls, tail and memory parts: every configuration and sink has its
    figures, every file line is there, and the goals block has a verdict line per goal."""
    results = _run(python, tmp_path, "--parts", "calls,tail,memory")

    calls = {row["key"]: row for row in results["calls"]["rows"]}
    assert list(calls) == ["stdout", "dual_log", "pjl", "clh", "loguru", "structlog"]
    expected = (results["calls"]["n"] + results["calls"]["warmup"]) * 2
    for key, row in calls.items():
        assert all(
            _sane(row[call]["us"]) and _sane(row[call]["ratio"]) for call in ("plain", "extras")
        )
        if key != "stdout":
            assert row["file_lines"] == expected, row
    assert calls["stdout"]["plain"]["ratio"] == 1.0

    tail = {(r["sink"], r["key"], r["call"]): r for r in results["tail"]["rows"]}
    assert len(tail) == 8
    assert all(_sane(row["p99_us"]) and row["p99_us"] <= row["p999_us"] for row in tail.values())
    assert {row["call"] for row in results["tail"]["rows"]} == {"plain", "extras"}

    memory = {row["key"]: row for row in results["memory"]["rows"]}
    assert memory["dual_log"]["written"] == results["memory"]["n"]
    assert memory["dual_log_failing"]["written"] == 0
    assert all(_sane(row["large_mib"]) for row in memory.values())

    doc = (tmp_path / "PERFORMANCE.md").read_text()
    goals = doc.split("<!-- benchmarks:goals -->")[1].split("<!-- /benchmarks:goals -->")[0]
    titles = ["Per call, `info", "Per call, the same with two extra", "Tail, stdout to /dev/null",
              "Tail, stdout to a pipe", "Memory bounded"]  # fmt: skip
    for title in titles:
        (line,) = [line for line in goals.splitlines() if line.startswith(f"- **{title}")]
        assert line.count(": met") + line.count(": missed") == 1, line
