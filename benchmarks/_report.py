"""Turning results into Markdown tables, the machine's description and the chart.

docs/PERFORMANCE.md keeps its prose by hand; the command rewrites only the blocks
between ``<!-- benchmarks:NAME -->`` and ``<!-- /benchmarks:NAME -->``, so every
number in it comes from a run.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
from typing import Any

# The goals of dual_log's default set-up (docs/PERFORMANCE.md, "Goals").
TARGET_PER_CALL = {"plain": 1.10, "extras": 1.15}  # calling thread's CPU, x stdout only
TARGET_TAIL = 1.5  # p99 and p99.9 of single calls, x stdout only's
TARGET_SLOW_MORE = 10  # calls over 1 ms beyond stdout only's count, per 200,000 calls
TARGET_END_TO_END = 0.95
TARGET_VS_CLH = 4.0
PACKAGES = (
    "dual-log-handler",
    "concurrent-log-handler",
    "python-json-logger",
    "loguru",
    "gunicorn",
    "Django",
    "Flask",
)


def machine(loader: str | None) -> str:
    """The machine, the interpreter and the versions the numbers were measured with."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    lines = [
        f"- Measured: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {model}, {os.cpu_count()} logical CPUs (nproc {_nproc()})",
        f"- Load average at the end of the run: {_loadavg()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Packages: {', '.join(versions)}",
    ]
    if loader:
        lines.append(f"- Load generator: {_loader_version(loader)}")
    return "\n".join(lines)


def _nproc() -> str:
    try:
        return str(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return "?"


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _loader_version(loader: str) -> str:
    if loader == "wrk" and shutil.which("wrk"):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()
        return first[0].split(" Copyright")[0] if first else "wrk"
    return "benchmarks._load (Python threads; wrk was not installed)"


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{suffix}"


def percall_table(result: dict[str, Any]) -> str:
    """The per-call table, with the default mode's ratio against the target."""
    head = (
        "| Configuration | calling thread, CPU µs | ratio | calling thread, wall µs | ratio "
        "| end to end incl. flush, µs | ratio | context switches per 1,000 calls "
        "| peak RSS, MiB | file lines |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    )
    rows = []
    for row in result["rows"]:
        lines = "—"
        if "file_lines_min" in row:
            lines = f"{row['file_lines_min']}/{row['file_lines_expected']}"
        cells = [row["label"]]
        for measure in ("calls_cpu", "calls", "total"):
            cells += [_fmt(row[f"{measure}_us"]), _fmt(row[f"{measure}_ratio"], suffix="x")]
        switches = _fmt(row.get("switches_per_1000"))
        rss = _fmt(row.get("peak_rss_mib"), 1)
        rows.append("| " + " | ".join([*cells, switches, rss, lines]) + " |")
    notes = [
        "",
        f"{result['n']} timed calls after {result['warmup']} untimed ones, median of "
        f"{result['rounds']} runs, each in a fresh process with stdout to /dev/null; "
        "ratios to the stdout-only median of this run. Peak RSS: the whole process, "
        "imports included (`VmHWM`).",
    ]
    return "\n".join([head, *rows, *notes])


def breakdown_table(result: dict[str, Any]) -> str:
    """Where the default mode's calling-thread time goes, step by step."""
    head = "| Step | calling thread, CPU µs | ratio | this step, µs |\n|---|--:|--:|--:|"
    rows = []
    for row in result["rows"]:
        step = "" if row["step_us"] is None else f"{row['step_us']:+.2f}"
        rows.append(f"| {row['label']} | {row['cpu_us']:.2f} | {row['ratio']:.2f}x | {step} |")
    notes = [
        "",
        f"Each step is dual_log's default set-up with the file handler's work cut off at "
        f"that point (benchmarks/_worker.py, breakdown); {result['n']} calls after "
        f"{result['warmup']} untimed ones, median of {result['rounds']} runs, each in a fresh "
        "process. Steps are differences of medians: a negative one is noise.",
    ]
    return "\n".join([head, *rows, *notes])


def multiproc_table(result: dict[str, Any]) -> str:
    """The multi-process table: throughput and what the files hold afterwards."""
    head = (
        "| Configuration | records/s | vs concurrent-log-handler | lost | duplicated | torn "
        "| files |\n|---|--:|--:|--:|--:|--:|--:|"
    )
    rows = []
    for row in result["rows"]:
        counts = ["—"] * 4
        if row["checked"]:
            counts = [_worst(row, k) for k in ("lost", "duplicated", "torn")]
            counts.append(str(row["files"]))
        rows.append(
            f"| {row['label']} | {row['records_per_s']:,.0f} | {_fmt(row['vs_clh'], suffix='x')} "
            f"| {' | '.join(counts)} |"
        )
    notes = [
        "",
        f"{result['processes']} processes x {result['n']} records into one file rotating "
        f"every {result['max_bytes']:,} bytes, {result.get('repeats', 1)} runs of each. "
        "Records/s: the median run, from the first start to the last close (every record "
        "on disk). Lost, duplicated and torn are counted by record id across the live and "
        "every rotated file: the worst run, then each run in brackets when they differ. "
        "Files: the live and rotated files the median run left.",
    ]
    goal = _multiproc_goal(result)
    if goal:
        default, ok = goal
        notes.append(
            f"Target for dual_log's default mode: nothing lost at at least {TARGET_VS_CLH}x "
            f"concurrent-log-handler's throughput; measured {default['lost']} lost at "
            f"{default['vs_clh']:.2f}x ({'met' if ok else 'missed'})."
        )
    return "\n".join([head, *rows, *notes])


def _multiproc_goal(result: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """The default mode's multi-process row, and whether it met its goal."""
    row = next((r for r in result["rows"] if r["key"] == "dual_queue_json"), None)
    if row is None or row["vs_clh"] is None:
        return None
    return row, row["lost"] == 0 and row["vs_clh"] >= TARGET_VS_CLH


def _worst(row: dict[str, Any], measure: str) -> str:
    runs = row.get(f"{measure}_runs", [row[measure]])
    text = f"{max(runs):,}"
    if len(set(runs)) > 1:
        text += " (" + ", ".join(f"{v:,}" for v in runs) + ")"
    return text


def e2e_table(result: dict[str, Any]) -> str:
    """The end-to-end table: requests per second of each sample by logging set-up."""
    head = (
        "| Application | Logging | requests/s | vs stdout only | non-2xx | errors "
        "| file lines / requests |\n|---|---|--:|--:|--:|--:|--:|"
    )
    rows = [
        f"| {r['app']} | {r['label']} | {r['rps']:,.0f} | {_fmt(r['ratio'], suffix='x')} "
        f"| {r['non_2xx']} | {r['errors']} | {_lines(r)} |"
        for r in result["rows"]
    ]
    notes = [
        "",
        f"gunicorn, {result['workers']} sync workers, 127.0.0.1, the options of the sample's "
        f"Dockerfile; load from {result['loader']} with {result['connections']} connections, "
        f"{result['seconds']:g} s after a 1 s warm-up, median of {result['rounds']} rounds. "
        "Each sample logs one line per request: the file's lines are compared with the "
        "requests answered in all rounds, warm-up included (a request in flight when the "
        "load stops is logged but not counted).",
    ]
    missing = result.get("missing")
    if missing:
        notes.append(f"Not in this checkout, so not measured: {', '.join(missing)}.")
    return "\n".join([head, *rows, *notes])


def _paired(rows: list[dict[str, Any]], row: dict[str, Any]) -> list[float]:
    """Each round's requests/s of ``row`` over the same round's stdout-only run."""
    base = next(r for r in rows if r["app"] == row["app"] and r["logging"] == "stdout")
    return [mine / theirs for mine, theirs in zip(row["runs"], base["runs"], strict=True) if theirs]


CALL_GOALS = {
    "plain": '`info("request %s done", arg)`',
    "extras": "the same with two extra fields",
}


def verdicts(results: dict[str, Any]) -> list[str]:
    """One line per goal of dual_log's default set-up this run measured: figure, verdict."""
    lines = []
    calls = results.get("calls")
    row = next((r for r in calls["rows"] if r["key"] == "dual_log"), None) if calls else None
    if row is not None:
        for call, what in CALL_GOALS.items():
            m, target = row[call], TARGET_PER_CALL[call]
            lines.append(
                f"- **Per call, {what}, at most {target:.2f}x a lone stdout handler**: "
                f"{m['ratio']:.2f}x ({m['low']:.2f}-{m['high']:.2f} per round) in the calling "
                f"thread's CPU time: {_at_most(m['ratio'], target)}."
            )
    tail = results.get("tail")
    if tail:
        from benchmarks._tail import SINKS

        for sink, where in SINKS.items():
            lines.append(_tail_verdict(tail, sink, where))
    memory = results.get("memory")
    if memory:
        lines.append(_memory_verdict(memory))
    e2e = results.get("e2e")
    if e2e:
        for row in e2e["rows"]:
            if row["logging"] != "dual_queue" or row["ratio"] is None:
                continue
            paired = _paired(e2e["rows"], row)
            spread = f"{min(paired):.2f}-{max(paired):.2f}x per round" if paired else ""
            whole = row["file_lines"] >= row["requests"]
            met = row["ratio"] >= TARGET_END_TO_END and whole
            gap = "" if met else f" by {max(0.0, TARGET_END_TO_END - row['ratio']):.2f}"
            lines.append(
                f"- **End to end, {row['app']}, at least {TARGET_END_TO_END}x stdout only**: "
                f"{row['ratio']:.2f}x ({spread}), file lines "
                f"{'match' if whole else 'short of'} the requests: "
                f"{'met' if met else 'missed' + gap}."
            )
    goal = _multiproc_goal(results["multiproc"]) if results.get("multiproc") else None
    if goal:
        row, ok = goal
        gap = max(0.0, TARGET_VS_CLH - row["vs_clh"])
        verdict = (
            "met" if ok else f"missed by {gap:.2f}x" + (", records lost" if row["lost"] else "")
        )
        lines.append(
            f"- **Several processes, nothing lost at at least {TARGET_VS_CLH:g}x "
            f"concurrent-log-handler's records/s**: {row['vs_clh']:.2f}x, {row['lost']} lost: "
            f"{verdict}."
        )
    return lines


def _at_most(value: float, target: float) -> str:
    return "met" if value <= target else f"missed by {_excess(value - target)}x"


def _excess(amount: float) -> str:
    """How far past a goal, with enough digits that a miss never reads as 0.00."""
    return f"{amount:.2f}" if amount >= 0.005 else f"{amount:.1g}"


def _tail_verdict(tail: dict[str, Any], sink: str, where: str) -> str:
    """The tail goal on one sink, judged on the plain call (the writer's spikes, apart from
    the cost of every call, which the per-call goals judge); the call with extra fields
    is shown beside it."""
    rows = {(r["key"], r["call"]): r for r in tail["rows"] if r["sink"] == sink}
    allowed_more = TARGET_SLOW_MORE * tail["n"] / 200_000
    figures, misses = [], []
    for call in ("plain", "extras"):
        mine, base = rows[("dual_log", call)], rows[("stdout", call)]
        parts = []
        for measure, name in (("p99_us", "p99"), ("p999_us", "p99.9")):
            ratio = mine[measure] / base[measure]
            parts.append(
                f"{name} {mine[measure]:.0f} µs against {base[measure]:.0f} ({ratio:.2f}x)"
            )
            if call == "plain" and ratio > TARGET_TAIL:
                misses.append(f"{name} by {_excess(ratio - TARGET_TAIL)}x")
        parts.append(f"{mine['slow']:g} calls over 1 ms against {base['slow']:g}")
        if call == "plain" and mine["slow"] > base["slow"] + allowed_more:
            misses.append(f"calls over 1 ms by {mine['slow'] - base['slow'] - allowed_more:g}")
        figures.append(
            ("plain call: " if call == "plain" else "with extra fields: ") + ", ".join(parts)
        )
    return (
        f"- **Tail, stdout to {where}: p99 and p99.9 at most {TARGET_TAIL}x stdout only's, "
        f"calls over 1 ms at most {TARGET_SLOW_MORE} more per 200,000**: "
        f"{'; '.join(figures)} ({tail['n']:,} calls of each, median of {tail['rounds']} "
        f"rounds): {'met' if not misses else 'missed: ' + ', '.join(misses)} (plain call)."
    )


def _memory_verdict(memory: dict[str, Any]) -> str:
    from benchmarks._memory import GROWTH_MIB

    rows = {r["key"]: r for r in memory["rows"]}
    default, failing, stdout = rows["dual_log"], rows["dual_log_failing"], rows["stdout"]
    growth = max(default["growth_mib"], failing["growth_mib"])
    verdict = "met" if growth <= GROWTH_MIB else f"missed by {growth - GROWTH_MIB:.1f} MiB"
    return (
        f"- **Memory bounded by `queue_size`** (peak RSS grows by at most {GROWTH_MIB:g} MiB "
        f"from {default['small']:,} to {default['large']:,} records): peak RSS for "
        f"{default['large']:,} records {default['large_mib']:.1f} MiB "
        f"({default['growth_mib']:+.1f}), {failing['large_mib']:.1f} MiB with the file "
        f"failing and `queue_size` records held ({failing['growth_mib']:+.1f}), "
        f"{stdout['large_mib']:.1f} MiB with stdout only: {verdict}."
    )


def merge_goals(old: str, new: list[str], when: str) -> str:
    """The goals block: this run's lines, and the lines of goals it did not measure as
    they were (a partial run with ``--parts``), each dated by the run that measured it."""
    lines: dict[str, str] = {}
    for line in old.splitlines():
        title = _goal_title(line)
        if title and title.startswith(_GOAL_PREFIXES) and _current(title):
            lines[title] = line
    for line in new:
        lines[_goal_title(line) or line] = f"{line} ({when})"
    order = sorted(lines, key=_goal_rank)
    return "\n".join(lines[t] for t in order) or "(no goal measured yet)"


# The titles of today's goals: a line of a goal that is no longer one is not kept.
_GOAL_PREFIXES = ("Per call, ", "Tail, ", "Memory bounded", "End to end, ", "Several processes")


def _goal_rank(title: str) -> int:
    return next(
        (i for i, p in enumerate(_GOAL_PREFIXES) if title.startswith(p)), len(_GOAL_PREFIXES)
    )


def _current(title: str) -> bool:
    targets = [f"{t:.2f}x" for t in TARGET_PER_CALL.values()]
    if title.startswith("Per call, "):
        return any(t in title for t in targets)
    if title.startswith("Several processes"):
        return f"{TARGET_VS_CLH:g}x" in title
    return True


def _goal_title(line: str) -> str | None:
    found = re.match(r"- \*\*(.+?)\*\*", line)
    return found.group(1) if found else None


def read_block(path: str, name: str) -> str:
    """The text of block ``name`` in the Markdown file at ``path`` ("" if none)."""
    try:
        with open(path, encoding="utf-8") as doc:
            text = doc.read()
    except FileNotFoundError:
        return ""
    start, end = f"<!-- benchmarks:{name} -->", f"<!-- /benchmarks:{name} -->"
    found = re.search(re.escape(start) + r"\n?(.*?)" + re.escape(end), text, re.DOTALL)
    return found.group(1) if found else ""


def _lines(row: dict[str, Any]) -> str:
    if row["logging"] == "stdout":
        return "—"
    return f"{row['file_lines']:,} / {row['requests']:,}"


def chart(result: dict[str, Any], path: str) -> None:
    """A bar chart of per-call cost by configuration, as ratios to stdout only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(result["rows"])
    labels = [r["label"] for r in rows]
    cpu = [r["calls_cpu_ratio"] or 0 for r in rows]
    total = [r["total_ratio"] or 0 for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.5))
    positions = range(len(rows))
    ax.barh([p + 0.2 for p in positions], cpu, height=0.38, label="calling thread (CPU)")
    ax.barh([p - 0.2 for p in positions], total, height=0.38, label="end to end, incl. flush")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.axvline(TARGET_PER_CALL["plain"], color="red", linestyle="--", linewidth=0.8,
               label=f"goal for dual_log's default ({TARGET_PER_CALL['plain']}x)")  # fmt: skip
    ax.set_yticks(list(positions))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("cost per log call, as a ratio to stdout only (lower is better)")
    ax.set_title(f"Per-call cost, median of {result['rounds']} runs x {result['n']} records")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


TEMPLATE = """# Performance

Measured by `{command}`; every number below is written by that command.

## Machine

<!-- benchmarks:machine -->
<!-- /benchmarks:machine -->

## Per-call cost

<!-- benchmarks:percall -->
<!-- /benchmarks:percall -->

## Where the calling thread's time goes

<!-- benchmarks:breakdown -->
<!-- /benchmarks:breakdown -->

## Several processes, one rotating file

<!-- benchmarks:multiproc -->
<!-- /benchmarks:multiproc -->

## End to end

<!-- benchmarks:e2e -->
<!-- /benchmarks:e2e -->
"""


def update_doc(path: str, blocks: dict[str, str], command: str) -> None:
    """Replace each named block of the Markdown file at ``path`` (created if missing)."""
    try:
        with open(path, encoding="utf-8") as doc:
            text = doc.read()
    except FileNotFoundError:
        text = TEMPLATE.format(command=command)
    for name, body in blocks.items():
        start, end = f"<!-- benchmarks:{name} -->", f"<!-- /benchmarks:{name} -->"
        found = re.search(re.escape(start) + r".*?" + re.escape(end), text, re.DOTALL)
        block = f"{start}\n{body}\n{end}"
        if found is None:
            text += f"\n{block}\n"
        else:
            text = text[: found.start()] + block + text[found.end() :]
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as doc:
        doc.write(text)
