"""Reading the files back: ``dual-log cat`` against the shell pipelines that are its floor.

Three machines' folders of JSON lines in the shape ``JsonFormatter`` writes (by default
100,000 records each, about 53 MB in all, in 11 files of which 6 are gzipped), generated
once into a temporary folder (kept between runs, keyed by size). Each machine's file is
written as two processes write one: each process's records go out in batches every
``flush_interval``, so neighbours in the file are up to that far out of time order, as in
a real multi-process file. Then, each command in its own process, in interleaved rounds
(every command once per round, the order turned each round), the median wall time and the
largest peak memory (``getrusage``):

- ``dual-log cat --level ERROR --json DIR``: one level, every machine, in time order;
  its floor ``zcat -f FILES | grep -F '"level": "ERROR"'`` finds the same lines, unordered;
- ``dual-log cat --json DIR``: everything, in time order; its floor ``zcat -f FILES | sort``
  (the time is each line's first key, so sorting the lines orders them by time; every
  command runs with ``LC_ALL=C``, so ``sort`` compares bytes, in any locale);
- for reference: ``zcat -f FILES | jq`` for the level, ``dual-log cat --level ERROR`` as
  readable text, and ``dual-log cat --json`` on one machine's folder (its peak memory
  against all three's shows that memory does not grow with the input).

Before timing, the output of ``dual-log cat --json`` is checked to be in time order and to
hold every line ``sort`` prints (which also caches dual_log's bytecode, as installing it
does). ``jq`` is optional (``apt-get install jq``); a missing
``jq`` leaves its row out and says so.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

MACHINES = 3
# Each machine's files, oldest first: "gz" ones are gzipped. 11 files, 6 gzipped.
LAYOUTS = (
    (("app.log.3.gz", True), ("app.log.2.gz", True), ("app.log.1", False), ("app.log", False)),
    (("app.log.3.gz", True), ("app.log.2.gz", True), ("app.log.1", False), ("app.log", False)),
    (("app.log.2.gz", True), ("app.log.1.gz", True), ("app.log", False)),
)
PROCESSES = 2
FLUSH_INTERVAL = 0.25
# No CRITICAL: "--level ERROR" (ERROR and above) and the floor's "ERROR" then select the
# same records, and their line counts prove it.
LEVELS = ("DEBUG",) * 10 + ("INFO",) * 70 + ("WARNING",) * 16 + ("ERROR",) * 4
LOGGERS = ("shop", "shop.cart", "shop.pay", "gunicorn", "celery")
TARGET = 2.0  # at most this many times the floor

# Measures one command run by sh in a fresh interpreter: wall seconds, and the peak RSS
# of the largest process it ran (RUSAGE_CHILDREN: ru_maxrss is the largest, not a sum).
_PROBE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(["sh", "-c", sys.argv[1]], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _stamp(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + (
        f".{int(moment * 1000) % 1000:03d}+00:00"
    )


def _record(moment: float, machine: str, pid: int, rng: random.Random, n: int) -> str:
    level = rng.choice(LEVELS)
    record: dict[str, Any] = {
        "time": _stamp(moment),
        "level": level,
        "logger": rng.choice(LOGGERS),
        "message": f"GET /cart/{n % 977} 200",
        "pid": pid,
        "fly_app": "shop",
        "fly_region": "ams",
        "fly_machine": machine,
    }
    if level == "ERROR" and n % 3 == 0:
        record["exc_info"] = "Traceback (most recent call last):\nValueError: card declined"
    return json.dumps(record) + "\n"


def _lines(index: int, machine: str, count: int) -> list[str]:
    """One machine's lines in file order: two processes' batches, each written when that
    process's writer wakes, so the file is out of time order by up to a flush interval."""
    rng = random.Random(index)  # noqa: S311  # sample data, not secrets
    moment = time.time() - 86400 + index * 0.0007
    batches: list[tuple[float, int, list[str]]] = []
    pending: list[list[str]] = [[] for _ in range(PROCESSES)]
    wake = [moment + FLUSH_INTERVAL * (p + 1) / PROCESSES for p in range(PROCESSES)]
    for n in range(count):
        process = rng.randrange(PROCESSES)
        while moment >= wake[process]:
            batches.append((wake[process], process, pending[process]))
            pending[process] = []
            wake[process] += FLUSH_INTERVAL
        pending[process].append(_record(moment, machine, 100 + process, rng, n))
        moment += rng.random() * 0.004
    batches += [(wake[p], p, pending[p]) for p in range(PROCESSES)]
    batches.sort(key=lambda batch: batch[:2])
    return [line for _, _, lines in batches for line in lines]


def generate(folder: str, records: int) -> list[list[str]]:
    """Write the machines' folders (once); return each machine's files, oldest first."""
    machines = [
        [os.path.join(folder, f"{0x148E2100 + index:x}", name) for name, _ in layout]
        for index, layout in enumerate(LAYOUTS[:MACHINES])
    ]
    done_marker = os.path.join(folder, "complete")
    if os.path.exists(done_marker):
        return machines
    shutil.rmtree(folder, ignore_errors=True)
    for index, names in enumerate(machines):
        os.makedirs(os.path.dirname(names[0]), exist_ok=True)
        lines = _lines(index, os.path.basename(os.path.dirname(names[0])), records)
        share = -(-len(lines) // len(names))
        for number, (name, (_, packed)) in enumerate(zip(names, LAYOUTS[index], strict=True)):
            data = "".join(lines[number * share : (number + 1) * share]).encode()
            with open(name, "wb") as out:
                if packed:
                    subprocess.run(["gzip", "-c"], input=data, stdout=out, check=True)
                else:
                    out.write(data)
    with open(done_marker, "w", encoding="utf-8"):
        pass
    return machines


# Byte order for sort (the order of the time text), the same in every locale; and Python's
# bytecode cached, as an installed package has it (pip compiles it): a development shell
# may set PYTHONDONTWRITEBYTECODE, and then every start would compile dual_log anew.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["LC_ALL"] = "C"


def _once(command: str) -> tuple[float, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, command],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    wall, peak, code = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{command!r} exited {code}")
    return float(wall), int(peak)


def _count(command: str) -> int:
    done = subprocess.run(
        ["sh", "-c", command + " | wc -l"], capture_output=True, text=True, check=True, env=_ENV
    )
    return int(done.stdout.strip())


def _check_order(dual_log: str, folder: str, files: str) -> None:
    """``dual-log cat --json`` prints every line ``sort`` prints, in time order."""
    ours = subprocess.run(  # also the warm-up: it caches the bytecode
        [dual_log, "cat", "--json", folder], capture_output=True, check=True, env=_ENV
    ).stdout.splitlines()
    times = [line[10:39] for line in ours]
    if times != sorted(times):
        raise RuntimeError("dual-log cat --json printed records out of time order")
    floor = subprocess.run(
        ["sh", "-c", f"zcat -f {files} | sort"], capture_output=True, check=True, env=_ENV
    ).stdout.splitlines()
    if sorted(ours) != floor:
        raise RuntimeError("dual-log cat --json and zcat -f | sort printed different lines")


def _commands(dual_log: str, folder: str, machines: list[list[str]]) -> list[tuple[str, ...]]:
    """(label, shell command, what it does, the label of its floor or "")."""
    files = " ".join(name for names in machines for name in names)
    one = os.path.dirname(machines[0][0])
    grep = 'grep -F \'"level": "ERROR"\''
    jq = "jq -c 'select(.level==\"ERROR\")'"
    return [
        ("dual-log cat --level ERROR --json", f"{dual_log} cat --level ERROR --json {folder}",
         "one level, in time order", f"zcat -f | {grep}"),
        (f"zcat -f | {grep}", f"zcat -f {files} | {grep}", "one level, not ordered", ""),
        ("dual-log cat --json", f"{dual_log} cat --json {folder}", "everything, in time order",
         "zcat -f | sort"),
        ("zcat -f | sort", f"zcat -f {files} | sort", "everything, in time order", ""),
        ("dual-log cat --level ERROR (text)", f"{dual_log} cat --level ERROR {folder}",
         "one level, in time order, readable text", f"zcat -f | {grep}"),
        (f"zcat -f | {jq}", f"zcat -f {files} | {jq}", "one level, not ordered", ""),
        ("dual-log cat --json (one machine)", f"{dual_log} cat --json {one}",
         "one machine's folder, for its memory", ""),
    ]  # fmt: skip


def run(*, records: int, rounds: int, progress: Any) -> dict[str, Any]:
    """Generate (once), check, and measure; rows of median wall seconds, peak RSS, lines."""
    # The name changes with the files' shape, so a run never reads files of an older one.
    folder = os.path.join(tempfile.gettempdir(), f"dual_log-bench-reader-v2-{records}")
    progress(f"reader: files in {folder} ({MACHINES} machines x {records:,} records)")
    machines = generate(folder, records)
    paths = [name for names in machines for name in names]
    raw = sum(
        len(subprocess.run(["zcat", "-f", n], capture_output=True, check=True).stdout)
        for n in paths
    )
    dual_log = os.path.join(os.path.dirname(sys.executable), "dual-log")
    _check_order(dual_log, folder, " ".join(paths))
    commands = _commands(dual_log, folder, machines)
    missing = []
    if shutil.which("jq") is None:
        missing.append("jq")
        commands = [c for c in commands if "jq " not in c[1]]
    samples: dict[str, list[tuple[float, int]]] = {c[0]: [] for c in commands}
    for round_ in range(rounds):
        progress(f"reader: round {round_ + 1} of {rounds}")
        turn = round_ % len(commands)
        for label, command, _, _ in commands[turn:] + commands[:turn]:
            samples[label].append(_once(command))
    rows = []
    for label, command, what, floor in commands:
        walls = [wall for wall, _ in samples[label]]
        rows.append({"label": label, "what": what, "floor": floor,
                     "wall_s": statistics.median(walls), "walls": walls,
                     "rss_mb": max(peak for _, peak in samples[label]) / 1024,
                     "lines": _count(command)})  # fmt: skip
    return {"rows": rows, "input_mb": raw / 1e6,
            "on_disk_mb": sum(os.path.getsize(n) for n in paths) / 1e6,
            "files": len(paths), "gzipped": sum(n.endswith(".gz") for n in paths),
            "records": records * MACHINES, "missing": missing, "machines": MACHINES,
            "rounds": rounds}  # fmt: skip


def table(result: dict[str, Any], machine: str) -> str:
    """The Markdown block for docs/PERFORMANCE.md."""
    rows = {row["label"]: row for row in result["rows"]}
    lines = [
        f"{result['machines']} machines, {result['records']:,} records, "
        f"{result['input_mb']:.1f} MB of JSON lines in {result['files']} files "
        f"({result['gzipped']} gzipped; {result['on_disk_mb']:.1f} MB on disk), each machine's "
        f"file written by {PROCESSES} processes in batches every {FLUSH_INTERVAL:g} s. Median "
        f"of {result['rounds']} interleaved rounds; peak memory of the largest process.",
        "",
        "| command | does | median wall time | vs its floor | peak memory | lines out |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        floor = rows.get(row["floor"])
        ratio = f"{row['wall_s'] / floor['wall_s']:.2f}x" if floor else "-"
        label = row["label"].replace("|", "\\|")  # a pipe inside a table cell
        lines.append(
            f"| `{label}` | {row['what']} | {row['wall_s']:.3f} s | {ratio} | "
            f"{row['rss_mb']:.0f} MB | {row['lines']:,} |"
        )
    lines.append("")
    for label in ("dual-log cat --level ERROR --json", "dual-log cat --json"):
        row = rows[label]
        floor = rows[row["floor"]]
        ratio = row["wall_s"] / floor["wall_s"]
        verdict = "met" if ratio <= TARGET else "missed"
        lines.append(
            f"- `{label}`: {ratio:.2f}x `{floor['label']}` (target: at most {TARGET:g}x): "
            f"{verdict}."
        )
    if result["missing"]:
        lines += ["", f"Not measured (not installed): {', '.join(result['missing'])}."]
    lines += ["", machine]
    return "\n".join(lines)
