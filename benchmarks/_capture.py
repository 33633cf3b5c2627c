"""``python -m benchmarks capture``: dual-log capture against the platform's Node subscribers.

On one local nats-server (user and password, loopback), each subscriber in turn receives
the same stream, in interleaved rounds (the order turns each round, so that none is
always first); then the capture and both Node subscribers at once live through a server
restart. The subscribers:

* ``capture``: ``python -m dual_log.capture`` with its defaults (no rotation);
* ``capture x2``: two of them in one queue group (``--queue``), each writing its own file;
* ``node raw``: ``benchmarks/capture_node.mjs``, which appends each raw body as it came
  (``appendFileSync``, no parsing);
* ``node fields``: ``benchmarks/capture_node_fields.mjs``, the platform advice's fuller
  subscriber: it parses each body, skips builders, joins the fields into a text line and
  writes it (``fs.write``), and fsyncs once a second;
* ``nats-py, no-op`` and ``capture's client, no-op``: a subscriber that only counts the
  messages, on nats-py and on the capture's own client (``dual_log/_capture/_nats.py``):
  what the protocol alone costs (plain bursts only).

Measured:

* burst: N messages, encoded beforehand, published as fast as one publisher can: faster
  than any subscriber writes them, so the server holds the rest meanwhile. Lines/s
  written (from the first publish to the last line in the file) and lines lost. Two
  kinds of message body: ``plain`` (the platform's JSON around a plain text line) and
  ``apps`` (around the apps' own formats, which the capture reads: a dual_log stdout
  line, a structlog JSON line, a gunicorn line, a plain line, in turn).
* rates: a sustained stream at fixed rates; lines lost.
* CPU per line: user + system time of the subscriber's processes over the run (/proc),
  divided by the lines written.
* restart: a stream at 2000 messages/s; the server is killed after 2 s and started again
  1 s later. Lines lost, lines written twice, whether the subscriber came back, and how
  long its gap was.

The Node subscribers' npm package ``nats`` is installed into ``benchmarks/results/node``
(not committed) on first use. The tables and the verdicts are printed, and written into
the capture section of docs/PERFORMANCE.md (``--no-doc``: printed only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

from benchmarks import _report

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "benchmarks" / "results" / "node"
NODE_SCRIPTS = {"node raw": "capture_node.mjs", "node fields": "capture_node_fields.mjs"}
USER, PASSWORD = "bench-org", "bench-token"
TICKS = os.sysconf("SC_CLK_TCK")
COMMAND = ".venv/bin/python -m benchmarks capture"
# The goal: one capture at least this many times either Node subscriber's burst lines/s.
TARGET = 1.1
CAPTURE = "capture"
# One capture and the Node subscribers: the runs other than the plain burst's.
PEERS = ("capture", "node raw", "node fields")
# Two clients that do nothing with a message but count it (one byte per message, written
# every 10 ms, for the line count): how much of a line's time the protocol takes.
NO_OP = {
    "nats-py, no-op": """
import asyncio, os, sys
import nats

async def main():
    count = 0
    async def on_message(msg):
        nonlocal count
        count += 1
    client = await nats.connect(os.environ["NATS_URL"], user=os.environ["ORG"],
                                password=os.environ["ACCESS_TOKEN"])
    await client.subscribe("logs.>", cb=on_message, pending_msgs_limit=1_000_000,
                           pending_bytes_limit=1 << 30)
    await client.flush()
    await count_into(sys.argv[1], lambda: count)
""",
    "capture's client, no-op": """
import asyncio, os, sys
from dual_log._capture import _nats

async def main():
    count = 0
    def on_message(subject, body):
        nonlocal count
        count += 1
    def make():
        return _nats.Connection(on_message, lambda n: None, pending_messages=1_000_000,
                                pending_bytes=1 << 30)
    host, port, _, _ = _nats.parse_server(os.environ["NATS_URL"])
    connection = await _nats.connect(host, port, 5.0, make)
    await connection.start("logs.>", None, user=os.environ["ORG"],
                           password=os.environ["ACCESS_TOKEN"], name="bench", version="0",
                           timeout=5.0)
    await count_into(sys.argv[1], lambda: count)
""",
}
_COUNT_INTO = """
async def count_into(path, counted):
    print("subscribed", file=sys.stderr, flush=True)
    written = 0
    with open(path, "ab", buffering=0) as out:
        while True:
            await asyncio.sleep(0.01)
            count = counted()
            if count > written:
                out.write(b"\\n" * (count - written))
                written = count

asyncio.run(main())
"""
KINDS = ("capture", "capture x2", "node raw", "node fields", *NO_OP)
# Every message carries "r<n> GET" so that each line in any output can be told by its id.
_ID = re.compile(rb"\br(\d+) GET ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"capture benchmark: timed out waiting for {what}")


class Server:
    """nats-server on a loopback port, restartable on the same port."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("nats-server")
        if not binary:
            raise SystemExit(
                "capture benchmark: nats-server is missing (apt-get install nats-server)"
            )
        self.port = _free_port()
        self.argv = [binary, "-a", "127.0.0.1", "-p", str(self.port)]
        self.argv += ["--user", USER, "--pass", PASSWORD]
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = open(workdir / "nats-server.log", "ab")  # noqa: SIM115  # closed in kill()
        self.proc: subprocess.Popen[bytes] | None = None

    def version(self) -> str:
        done = subprocess.run([self.argv[0], "--version"], capture_output=True, text=True)
        return done.stdout.strip() or "nats-server"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)

        def up() -> bool:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
            ):
                return sock.recv(4) == b"INFO"
            return False

        _wait(up, 10, "nats-server")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Output:
    """One output file, its lines counted as they come (only new bytes are read)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0

    def lines(self) -> int:
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                data = file.read()
        except FileNotFoundError:
            return 0
        self.offset += len(data)
        self.count += data.count(b"\n")
        return self.count


class Subscriber:
    """One subscriber's processes (two for ``capture x2``), each writing its own file."""

    def __init__(self, kind: str, server: Server, workdir: Path, tag: str) -> None:
        self.kind = kind
        env = {**os.environ, "NATS_URL": server.url, "ORG": USER, "ACCESS_TOKEN": PASSWORD}
        env = {k: v for k, v in env.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
        count = 2 if kind == "capture x2" else 1
        self.outputs: list[Output] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.stderr: list[Path] = []
        self._files: list[Any] = []
        for n in range(count):
            path = workdir / f"{kind.replace(' ', '-')}-{tag}-{n}.log"
            if kind in NODE_SCRIPTS:
                argv = ["node", str(NODE_DIR / NODE_SCRIPTS[kind]), str(path)]
            elif kind in NO_OP:
                argv = [sys.executable, "-c", NO_OP[kind] + _COUNT_INTO, str(path)]
            else:
                argv = [sys.executable, "-m", "dual_log.capture", "--path", str(path)]
                argv += ["--stall-seconds", "0", "--max-bytes", "0"]
                if count > 1:
                    argv += ["--queue", "bench"]
            err = path.with_suffix(".stderr")
            stream = open(err, "wb")  # noqa: SIM115  # closed in stop()
            self._files.append(stream)
            self.stderr.append(err)
            self.outputs.append(Output(path))
            self.procs.append(
                subprocess.Popen(argv, stderr=stream, stdout=subprocess.DEVNULL, env=env)
            )
        for err in self.stderr:
            _wait(lambda err=err: b"subscribed" in err.read_bytes(), 30, f"{kind} to subscribe")
        self.cpu_at_start = self.cpu()

    def cpu(self) -> float:
        total = 0.0
        for proc in self.procs:
            with open(f"/proc/{proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        return total

    def lines(self) -> int:
        return sum(output.lines() for output in self.outputs)

    def ids(self) -> list[int]:
        found = []
        for output in self.outputs:
            with open(output.path, "rb") as file:
                found += [int(m.group(1)) for m in _ID.finditer(file.read())]
        return found

    def said(self) -> list[str]:
        return [
            line
            for err in self.stderr
            for line in err.read_text("utf-8", "replace").splitlines()
            if "reconnected" in line or "disconnected" in line
        ]

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in self._files:
            stream.close()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def _message(n: int, shape: str) -> str:
    """The app's line inside message ``n``: plain text, or one of the apps' own formats."""
    text = f"r{n} GET /items/{n} 200 in 12ms user=alice request_id=0af7651916cd43dd"
    if shape == "plain" or n % 4 == 0:
        return text
    if n % 4 == 1:  # dual_log's stdout line
        return f"{_stamp()}.123+00:00 INFO shop.views {text}"
    if n % 4 == 2:  # structlog's JSONRenderer
        return json.dumps(
            {"event": text, "level": "info", "logger": "shop", "timestamp": f"{_stamp()}.1234Z"}
        )
    return f"[{_stamp().replace('T', ' ')} +0000] [7] [INFO] {text}"  # gunicorn


def _body(n: int, shape: str) -> bytes:
    return json.dumps(
        {
            "event": {"provider": "app"},
            "fly": {"app": {"instance": f"m{n % 4}", "name": f"app{n % 3}"}, "region": "ams"},
            "host": "a1b2",
            "log": {"level": "info"},
            "message": _message(n, shape),
            "timestamp": f"{_stamp()}.123456789Z",
        }
    ).encode()


async def _quiet(error: Exception) -> None:
    pass


async def _publish(url: str, count: int, rate: float | None, shape: str = "plain") -> float:
    """Publish ``count`` messages (at ``rate``/s, or flat out); return when the first went."""
    client = await nats.connect(
        url,
        user=USER,
        password=PASSWORD,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        pending_size=64 * 1024 * 1024,
        error_cb=_quiet,  # the restart's refused connections are expected
    )
    # Encoded before the clock starts: the publisher's own JSON is not the subscribers'
    # work, and flat out the stream then comes faster than any of them writes it.
    messages = [(f"logs.app{n % 3}.ams.m{n % 4}", _body(n, shape)) for n in range(count)]
    began = time.monotonic()
    batch = 100
    for first in range(0, count, batch):
        for subject, body in messages[first : first + batch]:
            await client.publish(subject, body)
        if rate:
            ahead = (first + batch) / rate - (time.monotonic() - began)
            if ahead > 0:
                await asyncio.sleep(ahead)
        else:
            await asyncio.sleep(0)
    await client.flush(timeout=60)
    await client.close()
    return began


def _settle(subscriber: Subscriber, expected: int, quiet: float = 2.0) -> tuple[int, float]:
    """Wait until the files have ``expected`` lines, or stop growing; (lines, when)."""
    last, last_change = -1, time.monotonic()
    while True:
        lines = subscriber.lines()
        now = time.monotonic()
        if lines != last:
            last, last_change = lines, now
        if lines >= expected or now - last_change > quiet:
            return lines, last_change
        time.sleep(0.005)


def _one(
    kind: str, server: Server, workdir: Path, count: int, rate: float | None, shape: str, tag: str
) -> dict[str, Any]:
    subscriber = Subscriber(kind, server, workdir, tag)
    began = asyncio.run(_publish(server.url, count, rate, shape))
    lines, done = _settle(subscriber, count)
    cpu = subscriber.cpu() - subscriber.cpu_at_start
    subscriber.stop()
    for output in subscriber.outputs:
        output.path.unlink(missing_ok=True)
    return {
        "kind": kind,
        "shape": shape,
        "offered": rate,
        "count": count,
        "written": lines,
        "lost": count - lines,
        "per_second": lines / max(done - began, 1e-9),
        "cpu_us_per_line": cpu / max(lines, 1) * 1e6,
    }


def _restart(server: Server, workdir: Path, seconds: float, rate: float) -> list[dict[str, Any]]:
    subscribers = [Subscriber(k, server, workdir, "restart") for k in PEERS]
    count = int(seconds * rate)

    async def publish_and_restart() -> None:
        publishing = asyncio.ensure_future(_publish(server.url, count, rate))
        await asyncio.sleep(2.0)
        server.kill()
        await asyncio.sleep(1.0)
        server.start()
        await publishing

    asyncio.run(publish_and_restart())
    rows = []
    for subscriber in subscribers:
        _settle(subscriber, count, quiet=3.0)
        ids = subscriber.ids()
        got = set(ids)
        missing = sorted(set(range(count)) - got)
        subscriber.stop()
        rows.append(
            {
                "kind": subscriber.kind,
                "published": count,
                "written": len(ids),
                "lost": len(missing),
                "duplicates": len(ids) - len(got),
                "resumed": any(n > count * 0.8 for n in got),
                "gap_seconds": (missing[-1] - missing[0] + 1) / rate if missing else 0.0,
                "said": subscriber.said(),
            }
        )
    return rows


def _node_ready() -> None:
    if shutil.which("node") is None:
        raise SystemExit("capture benchmark: node is missing")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for script in NODE_SCRIPTS.values():
        shutil.copy(ROOT / "benchmarks" / script, NODE_DIR / script)
    if not (NODE_DIR / "node_modules" / "nats").is_dir():
        subprocess.run(
            ["npm", "install", "--no-save", "--silent", "--no-audit", "--no-fund", "nats@2"],
            cwd=NODE_DIR,
            check=True,
        )


def _node_version() -> str:
    try:
        package = json.loads((NODE_DIR / "node_modules" / "nats" / "package.json").read_text())
        version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
        return f"Node {version.strip()}, npm nats {package['version']}"
    except (OSError, ValueError, KeyError):
        return "Node (version unknown)"


def _versions(*names: str) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def run(args: argparse.Namespace, progress: Any) -> dict[str, Any]:
    """Every run of every subscriber, round by round; the restart at the end."""
    results: dict[str, Any] = {"runs": [], "restart": [], "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir)
        results["server"] = server.version()
        server.start()
        try:
            plan: list[tuple[str, tuple[str, ...], float | None, int]] = [
                ("plain", KINDS, None, args.rounds),
                ("apps", PEERS, None, args.rounds),
            ]
            for paced in (float(r) for r in args.rates.split(",") if r.strip()):
                plan.append(
                    ("plain", ("capture", "node raw", "node fields"), paced, args.rate_rounds)
                )
            for shape, kinds, rate, rounds in plan:
                count = args.burst if rate is None else int(rate * args.seconds)
                for n in range(rounds):
                    turn = n % len(kinds)
                    for kind in kinds[turn:] + kinds[:turn]:
                        row = _one(kind, server, workdir, count, rate, shape, f"{shape}-{n}")
                        row["round"] = n
                        progress(json.dumps(row))
                        results["runs"].append(row)
            if args.restart:
                results["restart"] = _restart(server, workdir, 8.0, 2000.0)
        finally:
            server.kill()
    return results


def _runs(results: dict[str, Any], kind: str, shape: str, rate: float | None) -> list[Any]:
    return sorted(
        (
            r
            for r in results["runs"]
            if r["kind"] == kind and r["shape"] == shape and r["offered"] == rate
        ),
        key=lambda r: r["round"],
    )


def _ratios(results: dict[str, Any], kind: str, peer: str, shape: str) -> list[float]:
    """Each round's lines/s of ``kind`` over the same round's ``peer``."""
    mine = {r["round"]: r["per_second"] for r in _runs(results, kind, shape, None)}
    theirs = {r["round"]: r["per_second"] for r in _runs(results, peer, shape, None)}
    return [mine[n] / theirs[n] for n in sorted(mine) if theirs.get(n)]


def _ratio_text(ratios: list[float]) -> str:
    if not ratios:
        return "—"
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def burst_table(results: dict[str, Any], burst: int) -> str:
    """The burst rows: median lines/s, CPU per line, and each round's ratio to each Node."""
    head = (
        "| subscriber | bodies | lines/s, median (range) | CPU µs/line | vs node raw "
        "| vs node fields | lost |\n|---|---|--:|--:|--:|--:|--:|"
    )
    rows = []
    for shape in ("plain", "apps"):
        for kind in KINDS:
            runs = _runs(results, kind, shape, None)
            if not runs:
                continue
            speeds = [r["per_second"] for r in runs]
            cpu = statistics.median(r["cpu_us_per_line"] for r in runs)
            versus = [
                "1.00x" if kind == peer else _ratio_text(_ratios(results, kind, peer, shape))
                for peer in ("node raw", "node fields")
            ]
            rows.append(
                f"| {kind} | {shape} | {statistics.median(speeds):,.0f} "
                f"({min(speeds):,.0f}-{max(speeds):,.0f}) | {cpu:.1f} | {versus[0]} "
                f"| {versus[1]} | {sum(r['lost'] for r in runs)} |"
            )
    notes = [
        "",
        f"{burst:,} messages per burst, {results['rounds']} interleaved rounds (the order "
        "turns each round); ratios are each round's lines/s over the same round's Node "
        "subscriber, median (range). CPU: user + system of the subscriber's processes "
        "(both, for `capture x2`) over the run, per line written, median.",
    ]
    return "\n".join([head, *rows, *notes])


def rates_table(results: dict[str, Any], seconds: float) -> str:
    """The sustained rows: lines lost at each offered rate, and CPU per line."""
    head = (
        "| subscriber | offered lines/s | runs | lines | lost | lines/s, median "
        "| CPU µs/line |\n|---|--:|--:|--:|--:|--:|--:|"
    )
    rows = []
    offered = sorted({r["offered"] for r in results["runs"] if r["offered"]})
    for rate in offered:
        for kind in KINDS:
            runs = _runs(results, kind, "plain", rate)
            if not runs:
                continue
            rows.append(
                f"| {kind} | {rate:,.0f} | {len(runs)} | {sum(r['count'] for r in runs):,} "
                f"| {sum(r['lost'] for r in runs)} "
                f"| {statistics.median(r['per_second'] for r in runs):,.0f} "
                f"| {statistics.median(r['cpu_us_per_line'] for r in runs):.1f} |"
            )
    notes = ["", f"Each run: {seconds:g} s at the offered rate, `plain` bodies."]
    return "\n".join([head, *rows, *notes])


def restart_table(results: dict[str, Any]) -> str:
    """What each subscriber lost across a server restart, and what it said."""
    head = (
        "| subscriber | published | written | lost | written twice | resumed | gap (s) |\n"
        "|---|--:|--:|--:|--:|---|--:|"
    )
    rows = [
        f"| {r['kind']} | {r['published']} | {r['written']} | {r['lost']} | "
        f"{r['duplicates']} | {'yes' if r['resumed'] else 'no'} | {r['gap_seconds']:.2f} |"
        for r in results["restart"]
    ]
    said = [f"- {r['kind']}: `{line}`" for r in results["restart"] for line in r["said"]]
    notes = [
        "",
        "2,000 lines/s for 8 s, all three subscribed at once; the server is killed after 2 s "
        "and started again 1 s later. What they said on stderr:",
        "",
        *said,
    ]
    return "\n".join([head, *rows, *notes])


def verdicts(results: dict[str, Any]) -> str:
    """One line per goal: what this run measured, met or not."""
    lines = []
    for peer in ("node raw", "node fields"):
        ratios = _ratios(results, CAPTURE, peer, "plain")
        if not ratios:
            continue
        median = statistics.median(ratios)
        lines.append(
            f"- **One capture at least {TARGET}x the {peer} subscriber's burst lines/s**: "
            f"{_ratio_text(ratios)} over {len(ratios)} rounds: "
            f"{'met' if median >= TARGET else f'missed by {TARGET - median:.2f}'}."
        )
    offered = sorted({r["offered"] for r in results["runs"] if r["offered"]})
    if offered:
        lost = {
            rate: sum(r["lost"] for r in _runs(results, CAPTURE, "plain", rate)) for rate in offered
        }
        text = ", ".join(f"{lost[rate]} at {rate:,.0f}" for rate in offered)
        ok = not any(lost.values())
        lines.append(
            f"- **Nothing lost at sustained rates** (lines/s): {text}: {'met' if ok else 'missed'}."
        )
    return "\n".join(lines) if lines else "(no goal measured in this run)"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the tables, rewrite docs/PERFORMANCE.md's capture blocks."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks capture")
    parser.add_argument("--burst", type=int, default=100_000, help="messages per burst")
    parser.add_argument("--rounds", type=int, default=5, help="burst rounds (5)")
    parser.add_argument("--rates", default="5000,20000,50000", help="sustained rates, lines/s")
    parser.add_argument("--rate-rounds", type=int, default=2, help="runs at each rate (2)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    parser.add_argument("--no-restart", dest="restart", action="store_false",
                        help="leave out the server restart")  # fmt: skip
    parser.add_argument("--doc", default=str(ROOT / "docs" / "PERFORMANCE.md"),
                        help="Markdown file whose capture blocks are rewritten")  # fmt: skip
    parser.add_argument("--no-doc", action="store_true", help="print only; write no file")
    parser.add_argument("--json", help="write raw results to this file")
    args = parser.parse_args(argv)
    _node_ready()
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    results = run(args, progress)
    command = COMMAND + (" " + " ".join(argv or sys.argv[2:])).rstrip()
    blocks = {
        "capture-machine": _report.machine(None)
        + f"\n- Capture: {_versions('nats-py', 'msgspec', 'orjson')}; server: {results['server']}"
        + f"\n- Peers: {_node_version()}"
        + f"\n- Command: `{command.strip()}`",
        "capture-goals": verdicts(results),
        "capture-burst": burst_table(results, args.burst),
    }
    if any(r["offered"] for r in results["runs"]):
        blocks["capture-rates"] = rates_table(results, args.seconds)
    if results["restart"]:
        blocks["capture-restart"] = restart_table(results)
    for name, body in blocks.items():
        print(f"\n## {name}\n\n{body}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.no_doc:
        _report.update_doc(args.doc, blocks, COMMAND)
        progress(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
