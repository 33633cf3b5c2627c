"""``python -m benchmarks capture``: dual-log capture against the platform advice's Node subscriber.

On one local nats-server (user and password, loopback), each subscriber in turn receives
the same stream; then both at once live through a server restart.

* burst: N messages, encoded beforehand, published as fast as one publisher can: faster
  than either subscriber writes them, so the server holds the rest meanwhile.
  Messages/s written (from the first publish to the last line in the file) and lines
  lost.
* rates: a sustained stream at fixed rates; lines lost and CPU seconds per message
  (user + system of the subscriber process over the run, from /proc).
* restart: both subscribed, a stream at 2000 messages/s; the server is killed after 2 s
  and started again 1 s later. Lines lost, lines written twice, whether the subscriber
  came back, and how long its gap was.

The Node example is ``benchmarks/capture_node.mjs``; its npm package ``nats`` is
installed into ``benchmarks/results/node`` (not committed) on first use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nats

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "benchmarks" / "results" / "node"
USER, PASSWORD = "bench-org", "bench-token"
TICKS = os.sysconf("SC_CLK_TCK")


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
        self.argv = [
            binary,
            "-a",
            "127.0.0.1",
            "-p",
            str(_free_port()),
            "--user",
            USER,
            "--pass",
            PASSWORD,
        ]
        self.url = f"nats://127.0.0.1:{self.argv[4]}"
        self.log = open(workdir / "nats-server.log", "ab")  # noqa: SIM115  # closed in kill()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)

        def up() -> bool:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", int(self.argv[4])), timeout=0.5) as sock,
            ):
                return sock.recv(4) == b"INFO"
            return False

        _wait(up, 10, "nats-server")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Subscriber:
    """One subscriber process writing to ``path``."""

    def __init__(self, kind: str, server: Server, path: Path) -> None:
        self.kind, self.path = kind, path
        env = {**os.environ, "NATS_URL": server.url, "ORG": USER, "ACCESS_TOKEN": PASSWORD}
        env = {k: v for k, v in env.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
        if kind == "node":
            argv = ["node", str(NODE_DIR / "capture_node.mjs"), str(path)]
        else:
            argv = [
                sys.executable,
                "-m",
                "dual_log.capture",
                "--path",
                str(path),
                "--stall-seconds",
                "0",
                "--max-bytes",
                "0",
            ]
        self.stderr = path.with_suffix(".stderr")
        self._err = open(self.stderr, "wb")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(argv, stderr=self._err, stdout=subprocess.DEVNULL, env=env)
        _wait(lambda: b"subscribed" in self.stderr.read_bytes(), 30, f"{kind} to subscribe")
        self.cpu_at_start = self.cpu()

    def cpu(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def lines(self) -> int:
        if not self.path.exists():
            return 0
        with open(self.path, "rb") as file:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


def _body(n: int) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".123456789Z"
    return json.dumps(
        {
            "event": {"provider": "app"},
            "fly": {"app": {"instance": f"m{n % 4}", "name": f"app{n % 3}"}, "region": "ams"},
            "host": "a1b2",
            "log": {"level": "info"},
            "message": f"r{n} GET /items/{n} 200 in 12ms user=alice request_id=0af7651916cd43dd",
            "timestamp": stamp,
        }
    ).encode()


async def _quiet(error: Exception) -> None:
    pass


async def _publish(url: str, count: int, rate: float | None, start: int = 0) -> float:
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
    # work, and flat out the stream then comes faster than either can write it.
    messages = [(f"logs.app{n % 3}.ams.m{n % 4}", _body(n)) for n in range(start, start + count)]
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
    """Wait until the file has ``expected`` lines, or stops growing; (lines, when)."""
    last, last_change = -1, time.monotonic()
    while True:
        lines = subscriber.lines()
        now = time.monotonic()
        if lines != last:
            last, last_change = lines, now
        if lines >= expected or now - last_change > quiet:
            return lines, last_change
        time.sleep(0.02)


def _one(
    kind: str, server: Server, workdir: Path, count: int, rate: float | None
) -> dict[str, Any]:
    path = workdir / f"{kind}-{count}-{rate or 'burst'}.log"
    subscriber = Subscriber(kind, server, path)
    began = asyncio.run(_publish(server.url, count, rate))
    lines, done = _settle(subscriber, count)
    cpu = subscriber.cpu() - subscriber.cpu_at_start
    subscriber.stop()
    return {
        "kind": kind,
        "offered": rate,
        "count": count,
        "written": lines,
        "lost": count - lines,
        "per_second": lines / max(done - began, 1e-9),
        "cpu_us_per_message": cpu / max(lines, 1) * 1e6,
    }


def _restart(server: Server, workdir: Path, seconds: float, rate: float) -> list[dict[str, Any]]:
    subscribers = [Subscriber(k, server, workdir / f"{k}-restart.log") for k in ("capture", "node")]
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
        ids = [
            json.loads(line).get("message", "").split(" ", 1)[0]
            for line in subscriber.path.read_text().splitlines()
        ]
        got = {int(i[1:]) for i in ids if i.startswith("r")}
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
                "said": [
                    line
                    for line in subscriber.stderr.read_text().splitlines()
                    if "reconnected" in line or "disconnected" in line
                ],
            }
        )
    return rows


def _node_ready() -> None:
    if shutil.which("node") is None:
        raise SystemExit("capture benchmark: node is missing")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "benchmarks" / "capture_node.mjs", NODE_DIR / "capture_node.mjs")
    if not (NODE_DIR / "node_modules" / "nats").is_dir():
        subprocess.run(
            ["npm", "install", "--no-save", "--silent", "--no-audit", "--no-fund", "nats@2"],
            cwd=NODE_DIR,
            check=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print Markdown tables (and raw JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks capture")
    parser.add_argument("--burst", type=int, default=100_000, help="messages in the burst")
    parser.add_argument("--rates", default="5000,20000,50000", help="sustained rates, msg/s")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    parser.add_argument("--json", help="write raw results to this file")
    args = parser.parse_args(argv)
    _node_ready()
    results: dict[str, Any] = {"runs": [], "restart": []}
    with tempfile.TemporaryDirectory(prefix="capture-bench-") as tmp:
        workdir = Path(tmp)
        server = Server(workdir)
        server.start()
        try:
            for rate in [None] + [float(r) for r in args.rates.split(",")]:
                count = args.burst if rate is None else int(rate * args.seconds)
                for kind in ("capture", "node"):
                    row = _one(kind, server, workdir, count, rate)
                    print(json.dumps(row), file=sys.stderr, flush=True)
                    results["runs"].append(row)
            results["restart"] = _restart(server, workdir, 8.0, 2000.0)
        finally:
            server.kill()
    print(
        "| subscriber | offered (msg/s) | messages | written | lost | written/s | CPU µs/message |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    names = {"capture": "dual-log capture", "node": "Node example"}
    for r in results["runs"]:
        offered = "burst" if r["offered"] is None else f"{r['offered']:.0f}"
        print(
            f"| {names[r['kind']]} | {offered} | {r['count']} | {r['written']} | {r['lost']} | "
            f"{r['per_second']:,.0f} | {r['cpu_us_per_message']:.1f} |"
        )
    print()
    print("| subscriber | published | written | lost | written twice | resumed | gap (s) |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for r in results["restart"]:
        print(
            f"| {names[r['kind']]} | {r['published']} | {r['written']} | {r['lost']} | "
            f"{r['duplicates']} | {'yes' if r['resumed'] else 'no'} | {r['gap_seconds']:.2f} |"
        )
    for r in results["restart"]:
        for line in r["said"]:
            print(f"    {names[r['kind']]}: {line}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
