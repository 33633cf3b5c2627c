"""``python -m benchmarks``: measure, print the tables, rewrite docs/PERFORMANCE.md and the chart.

    .venv/bin/python -m benchmarks            # the full run (docs/PERFORMANCE.md says how long)
    .venv/bin/python -m benchmarks --quick    # tiny sizes: checks the scripts, not speed
    .venv/bin/python -m benchmarks --parts percall,multiproc --no-doc
    .venv/bin/python -m benchmarks capture    # dual-log capture vs the Node subscribers
    .venv/bin/python -m benchmarks reader     # only the reader: dual-log cat vs zcat|grep, sort
    .venv/bin/python -m benchmarks soak       # minutes of rotating and gzipping one file

Run it from the repository root on a machine doing nothing else: ratios within one run
are what count, absolute numbers move with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from benchmarks import (
    _calls,
    _configs,
    _e2e,
    _memory,
    _multiproc,
    _percall,
    _reader,
    _report,
    _tail,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARTS = ("calls", "tail", "memory", "percall", "breakdown", "multiproc", "e2e", "reader")
# The parts that measure a goal of dual_log's default set-up.
GOAL_PARTS = ("calls", "tail", "memory", "multiproc", "e2e")
COMMAND = ".venv/bin/python -m benchmarks"


def _parser() -> argparse.ArgumentParser:
    description = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the scripts run")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of "
                        + ", ".join(PARTS))  # fmt: skip
    parser.add_argument("--configs", help="comma-separated configuration keys (default: all): "
                        + ", ".join(c.key for c in _configs.CONFIGS))  # fmt: skip
    parser.add_argument("--calls-n", type=int, help="calls: calls of each kind per process (20000)")
    parser.add_argument("--calls-block", type=int, default=1000,
                        help="calls: calls per block, the kinds in turn (1000)")  # fmt: skip
    parser.add_argument("--calls-rounds", type=int, help="calls: interleaved rounds (15)")
    parser.add_argument("--tail-n", type=int, help="tail: calls timed one by one (200000)")
    parser.add_argument("--tail-rounds", type=int, help="tail: interleaved rounds (7)")
    parser.add_argument("--memory-n", type=int, help="memory: records per run (1000000)")
    parser.add_argument("--memory-rounds", type=int, help="memory: runs of each (1)")
    parser.add_argument("--n", type=int, help="timed records per per-call run (20000)")
    parser.add_argument("--rounds", type=int, help="per-call runs of each configuration (7)")
    parser.add_argument("--mp-n", type=int, help="records per process, multi-process (25000)")
    parser.add_argument("--mp-processes", type=int, default=4, help="processes (4)")
    parser.add_argument("--mp-repeats", type=int, help="multi-process runs per configuration (3)")
    parser.add_argument("--mp-max-bytes", type=int, default=1_000_000, help="rotation size (1 MB)")
    parser.add_argument("--apps", help="end-to-end applications: django, flask, minimal "
                        "(default: the samples present in the checkout)")  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, help="end-to-end load per configuration and round (5)"
    )
    parser.add_argument("--connections", type=int, default=8, help="end-to-end connections (8)")
    parser.add_argument("--e2e-rounds", type=int, help="end-to-end rounds per application (3)")
    parser.add_argument("--reader-records", type=int,
                        help="reader: records per machine (100000; 3 machines)")  # fmt: skip
    parser.add_argument("--reader-rounds", type=int, help="reader: interleaved rounds (7)")
    parser.add_argument("--doc", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"),
                        help="Markdown file whose benchmark blocks are rewritten")  # fmt: skip
    parser.add_argument("--chart", default=os.path.join(ROOT, "docs", "per_call_cost.png"),
                        help="PNG chart of the per-call cost")  # fmt: skip
    parser.add_argument("--no-doc", action="store_true", help="print only; write no file")
    parser.add_argument("--json", help="also write every raw result to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts; return the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["capture"]:  # its own command: it needs nats-server and Node
        from benchmarks import _capture

        return _capture.main(argv[1:])
    if argv[:1] == ["soak"]:  # minutes of rotation and gzip under contention
        from benchmarks import _soak

        return _soak.main(argv[1:])
    if argv[:1] == ["reader"]:  # the reader alone: python -m benchmarks reader
        argv = ["--parts", "reader", *argv[1:]]
    args = _parser().parse_args(argv)
    quick = args.quick
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}; allowed: {PARTS}")
    configs = [c.key for c in _configs.CONFIGS]
    if args.configs:
        configs = [c.strip() for c in args.configs.split(",") if c.strip()]
        bad = set(configs) - set(_configs.BY_KEY)
        if bad:
            raise SystemExit(f"unknown configuration(s): {', '.join(sorted(bad))}")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {}
    blocks: dict[str, str] = {}
    loader = None
    if "calls" in parts:
        results["calls"] = _calls.run(
            n=args.calls_n or (400 if quick else 20_000),
            block=min(args.calls_block, 100) if quick else args.calls_block,
            rounds=args.calls_rounds or (1 if quick else 15),
            warmup=100 if quick else 2_000,
            configs=list(_calls.CONFIGS),
            progress=progress,
        )
        blocks["calls"] = _calls.table(results["calls"])
    if "tail" in parts:
        results["tail"] = _tail.run(
            n=args.tail_n or (2_000 if quick else 200_000),
            rounds=args.tail_rounds or (1 if quick else 7),
            warmup=100 if quick else 5_000,
            progress=progress,
        )
        blocks["tail"] = _tail.table(results["tail"])
    if "memory" in parts:
        results["memory"] = _memory.run(
            n=args.memory_n or (2_000 if quick else 1_000_000),
            rounds=args.memory_rounds or 1,
            progress=progress,
        )
        blocks["memory"] = _memory.table(results["memory"])
    if "percall" in parts:
        results["percall"] = _percall.run(
            n=args.n or (400 if quick else 20_000),
            rounds=args.rounds or (1 if quick else 7),
            warmup=100 if quick else 2_000,
            configs=configs,
            progress=progress,
        )
        blocks["percall"] = _report.percall_table(results["percall"])
        blocks["percall"] += f"\n\n![Per-call cost by configuration]({_chart_link(args)})"
    if "breakdown" in parts:
        results["breakdown"] = _percall.breakdown(
            n=args.n or (400 if quick else 20_000),
            rounds=args.rounds or (1 if quick else 7),
            warmup=100 if quick else 2_000,
            progress=progress,
        )
        blocks["breakdown"] = _report.breakdown_table(results["breakdown"])
    if "multiproc" in parts:
        repeats = args.mp_repeats or (1 if quick else 3)
        results["multiproc"] = _multiproc.run(
            n=args.mp_n or (300 if quick else 25_000),
            processes=args.mp_processes,
            max_bytes=args.mp_max_bytes if not quick else 20_000,
            configs=[k for k in configs if not _configs.BY_KEY[k].informative],
            repeats=repeats,
            progress=progress,
        )
        results["multiproc"]["repeats"] = repeats
        blocks["multiproc"] = _report.multiproc_table(results["multiproc"])
    if "e2e" in parts:
        wanted = args.apps.split(",") if args.apps else ["django", "flask"]
        apps = [a for a in wanted if _e2e.available(a)]
        missing = [a for a in wanted if a not in apps]
        if not apps:
            apps = ["minimal"]
        results["e2e"] = _e2e.run(
            apps=apps,
            seconds=args.seconds or (1.0 if quick else 4.0),
            connections=args.connections,
            rounds=args.e2e_rounds or (1 if quick else 3),
            progress=progress,
        )
        results["e2e"]["missing"] = missing
        loader = results["e2e"]["loader"]
        blocks["e2e"] = _report.e2e_table(results["e2e"])
    command = COMMAND + (" " + " ".join(argv)).rstrip()
    described = _report.machine(loader) + f"\n- Command: `{command.strip()}`"
    if "reader" in parts:
        results["reader"] = _reader.run(
            records=args.reader_records or (2_000 if quick else 100_000),
            rounds=args.reader_rounds or (1 if quick else 7),
            progress=progress,
        )
        blocks["reader"] = _reader.table(results["reader"], described)
    if parts != ["reader"]:  # the reader's block describes its own machine
        blocks["machine"] = described
    if set(GOAL_PARTS) & set(parts):  # a partial run leaves the other goals' lines as they are
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        old = _report.read_block(args.doc, "goals")
        blocks["goals"] = _report.merge_goals(old, _report.verdicts(results), when)
    for name in ("machine", "goals", *PARTS):
        if name in blocks:
            print(f"\n## {name}\n\n{blocks[name]}")
    _warn_about_stderr(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1, default=str)
    if not args.no_doc:
        if "percall" in results:
            _report.chart(results["percall"], args.chart)
        _report.update_doc(args.doc, blocks, COMMAND)
        progress(f"wrote {args.doc}" + (f" and {args.chart}" if "percall" in results else ""))
    return 0


def _chart_link(args: argparse.Namespace) -> str:
    return os.path.relpath(str(args.chart), os.path.dirname(os.path.abspath(str(args.doc))))


def _warn_about_stderr(results: dict[str, Any]) -> None:
    """Show what configurations printed on stderr: a library's own error reports."""
    for part, result in results.items():
        for row in result["rows"]:
            for text in row.get("stderr") or []:
                if text:
                    first = text.strip().splitlines()[0]
                    name = row.get("key") or row.get("label")
                    count = text.count("\n") + 1
                    print(f"{part} {name}: stderr ({count} lines): {first}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
