"""Reading the files back: ``dual-log cat`` against the shell pipelines people use today.

Four machines' folders of JSON lines, each a live file and rotated files of which half
(by volume) are gzipped, in the shape ``JsonFormatter`` writes, are generated once into
a temporary folder (kept between runs, keyed by size). Then, each command in its own
process, timed and with its peak memory taken from ``getrusage``:

- ``dual-log cat --level ERROR --json DIR``: every machine merged by time, one level;
- ``zcat -f FILES | jq -c 'select(.level=="ERROR")'``: one level, not merged;
- ``zcat -f FILES | sort``: merged (the time is each line's first key), not filtered;
- ``dual-log cat --json DIR``: merged, not filtered, for the ``sort`` comparison.

``jq`` is a dependency of this benchmark only (``apt-get install jq``); a missing ``jq``
leaves its row out and says so.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

MACHINES = 4
# No CRITICAL: "--level ERROR" (ERROR and above) and jq's .level=="ERROR" then select the
# same records, and their line counts prove it.
LEVELS = ("DEBUG",) * 10 + ("INFO",) * 70 + ("WARNING",) * 16 + ("ERROR",) * 4
LOGGERS = ("shop", "shop.cart", "shop.payment", "gunicorn.access", "celery.worker")

# Measures one command run by sh in a fresh interpreter: wall seconds, and the peak RSS
# of the largest process it ran (RUSAGE_CHILDREN: ru_maxrss is the largest, not a sum).
_PROBE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(["sh", "-c", sys.argv[1]], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _line(moment: float, machine: str, pid: int, rng: random.Random, n: int) -> str:
    level = rng.choice(LEVELS)
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
        + f".{int(moment * 1000) % 1000:03d}+00:00",
        "level": level,
        "logger": rng.choice(LOGGERS),
        "message": f"GET /orders/{n} 200 in {rng.randint(1, 900)} ms, user {rng.randint(1, 10**6)}",
        "pid": pid,
        "fly_app": "shop",
        "fly_region": "ams",
        "fly_machine": machine,
        "host": machine,
        "rid": f"{rng.getrandbits(64):016x}",
    }
    if level == "ERROR" and n % 3 == 0:
        record["exc_info"] = (
            'Traceback (most recent call last):\n  File "/app/shop/views.py", line 42, in '
            "checkout\n    charge(order)\nValueError: card declined"
        )
    return json.dumps(record) + "\n"


def generate(folder: str, mb_per_machine: float) -> list[list[str]]:
    """Write the machines' folders (once); return each machine's files, oldest first."""
    per_file = int(mb_per_machine * 1_000_000 / 4)
    done_marker = os.path.join(folder, "complete")
    machines = []
    for index in range(MACHINES):
        machine = f"{0x148E2100 + index:x}"
        path = os.path.join(folder, machine, "app.log")
        # Oldest first: .3.gz, .2.gz (the gzipped half), .1, then the live file.
        names = [path + ".3.gz", path + ".2.gz", path + ".1", path]
        machines.append(names)
    if os.path.exists(done_marker):
        return machines
    shutil.rmtree(folder, ignore_errors=True)
    start = time.time() - 86400
    for index, names in enumerate(machines):
        os.makedirs(os.path.dirname(names[0]), exist_ok=True)
        rng = random.Random(index)  # noqa: S311  # sample data, not secrets
        moment = start + index * 0.0007
        n = 0
        for name in names:
            chunks: list[str] = []
            size = 0
            while size < per_file:
                line = _line(moment, os.path.basename(os.path.dirname(name)), 100 + n % 4, rng, n)
                chunks.append(line)
                size += len(line)
                moment += rng.random() * 0.004
                n += 1
            data = "".join(chunks).encode()
            if name.endswith(".gz"):
                subprocess.run(["gzip", "-c"], input=data, stdout=open(name, "wb"), check=True)  # noqa: SIM115
            else:
                with open(name, "wb") as out:
                    out.write(data)
    open(done_marker, "w").close()
    return machines


def _measure(command: str, repeats: int) -> dict[str, Any]:
    walls, rss = [], []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, command], capture_output=True, text=True, check=True
        )
        wall, peak, code = done.stdout.split()
        if code != "0":
            raise RuntimeError(f"{command!r} exited {code}")
        walls.append(float(wall))
        rss.append(int(peak))
    return {"wall_s": min(walls), "rss_mb": max(rss) / 1024}


def _count(command: str) -> int:
    done = subprocess.run(
        ["sh", "-c", command + " | wc -l"], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


def run(*, mb_per_machine: float, repeats: int, progress: Any) -> dict[str, Any]:
    """Generate (once) and measure; rows of wall seconds, peak RSS and lines out."""
    folder = os.path.join(tempfile.gettempdir(), f"dual_log-bench-reader-{mb_per_machine:g}mb")
    progress(f"reader: files in {folder} ({MACHINES} x {mb_per_machine:g} MB)")
    machines = generate(folder, mb_per_machine)
    files = " ".join(name for names in machines for name in names)
    total = sum(os.path.getsize(n) for names in machines for n in names)
    raw = sum(
        len(subprocess.run(["zcat", "-f", n], capture_output=True, check=True).stdout)
        if n.endswith(".gz")
        else os.path.getsize(n)
        for names in machines
        for n in names
    )
    dual_log = os.path.join(os.path.dirname(sys.executable), "dual-log")
    jq = "jq -c 'select(.level==\"ERROR\")'"
    commands = [
        ("dual-log cat --level ERROR --json", f"{dual_log} cat --level ERROR --json {folder}",
         "merged, one level"),
        ("dual-log cat --level ERROR (text)", f"{dual_log} cat --level ERROR {folder}",
         "merged, one level, readable text"),
        (f"zcat -f | {jq}", f"zcat -f {files} | {jq}", "one level, not merged"),
        ("dual-log cat --json", f"{dual_log} cat --json {folder}", "merged, everything"),
        ("zcat -f | sort", f"zcat -f {files} | sort", "merged, everything"),
    ]  # fmt: skip
    rows = []
    missing = []
    for label, command, what in commands:
        if "jq" in command and shutil.which("jq") is None:
            missing.append("jq")
            continue
        progress(f"reader: {label}")
        row = {"label": label, "what": what, **_measure(command, repeats)}
        row["lines"] = _count(command)
        rows.append(row)
    return {"rows": rows, "input_mb": raw / 1e6, "on_disk_mb": total / 1e6, "missing": missing,
            "machines": MACHINES, "repeats": repeats}  # fmt: skip


def table(result: dict[str, Any], machine: str) -> str:
    """The Markdown block for docs/PERFORMANCE.md."""
    rows = result["rows"]
    base = next((r for r in rows if r["label"].startswith("zcat -f | jq")), None)
    lines = [
        f"{result['machines']} machines, {result['input_mb']:.0f} MB of JSON lines in all "
        f"({result['on_disk_mb']:.0f} MB on disk: half the volume gzipped); best of "
        f"{result['repeats']} runs; peak memory of the largest process.",
        "",
        "| command | does | wall time | vs jq pipeline | peak memory | lines out |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row['wall_s'] / base['wall_s']:.2f}x" if base else "-"
        label = row["label"].replace("|", "\\|")  # a pipe inside a table cell
        lines.append(
            f"| `{label}` | {row['what']} | {row['wall_s']:.2f} s | {ratio} | "
            f"{row['rss_mb']:.0f} MB | {row['lines']} |"
        )
    if result["missing"]:
        lines += ["", f"Not measured (not installed): {', '.join(result['missing'])}."]
    lines += ["", machine]
    return "\n".join(lines)
