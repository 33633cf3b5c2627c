"""Publish a few log lines shaped as the platform's log stream carries them, to try the capture.

    python publish_demo.py --server nats://127.0.0.1:4222 --count 6

Each message goes to the subject ``logs.<app>.<region>.<machine id>`` with the JSON body the
platform's log shipper publishes for a line an app printed (``body()`` below; README.md
shows one). The lines take turns at the shapes ``dual-log capture`` reads: a dual_log
stdout line, a JSON line with its own level and fields, Python's default format and plain
text. Only the standard library: it speaks the few words of the NATS protocol it needs
(``CONNECT``, ``PUB``, ``PING``) on a socket, so it runs from a checkout as it is.
"""

from __future__ import annotations

import argparse
import json
import socket
import urllib.parse
from datetime import datetime, timezone


def body(line: str, *, app: str, region: str, machine: str, when: datetime) -> bytes:
    """The message the platform publishes for ``line``, printed by ``app`` on ``machine``."""
    return json.dumps(
        {
            "event": {"provider": "app"},
            "fly": {"app": {"instance": machine, "name": app}, "region": region},
            "host": f"host-{machine}",
            "log": {"level": "info"},  # always info: the app's own level is in the line
            "message": line,
            # Nanoseconds, as the platform writes them.
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
        }
    ).encode()


def lines(count: int, when: datetime) -> list[str]:
    """``count`` lines an app may print, numbered, in the shapes the capture reads."""
    stamp = when.isoformat(timespec="milliseconds")
    shapes = [
        "{stamp} INFO shop.orders demo line {n}: order 17 paid",
        '{{"level": "warning", "logger": "shop.stock", "message": "demo line {n}: low stock", '
        '"sku": "T-9"}}',
        "ERROR:shop.payments:demo line {n}: card declined",
        "demo line {n}: plain text, as any program prints it",
    ]
    return [shapes[n % len(shapes)].format(stamp=stamp, n=n) for n in range(count)]


def publish(server: str, messages: list[tuple[str, bytes]], timeout: float = 10.0) -> None:
    """Send ``(subject, body)`` pairs to ``server`` and return once the server has them all.

    Raises:
        OSError: the server cannot be reached.
        RuntimeError: the server refused (its ``-ERR`` line) or closed the connection.
    """
    url = urllib.parse.urlsplit(server if "://" in server else f"nats://{server}")
    login = {"verbose": False, "pedantic": False}
    if url.username:
        login.update(user=urllib.parse.unquote(url.username))
        login.update({"pass": urllib.parse.unquote(url.password or "")})
    with socket.create_connection((url.hostname, url.port or 4222), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        reader.readline()  # the server's INFO
        frames = [b"CONNECT " + json.dumps(login).encode() + b"\r\n"]
        for subject, data in messages:
            frames.append(f"PUB {subject} {len(data)}\r\n".encode() + data + b"\r\n")
        # The PONG to a PING sent after the last PUB means the server has every message.
        sock.sendall(b"".join(frames) + b"PING\r\n")
        while (answer := reader.readline()) != b"PONG\r\n":
            if not answer or answer.startswith(b"-ERR"):
                raise RuntimeError(f"the server said {answer!r}")


def main(argv: list[str] | None = None) -> int:
    """Publish ``--count`` lines of one machine; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--server", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--app", default="web", help="the app that printed the lines")
    parser.add_argument("--region", default="ams", help="the machine's region")
    parser.add_argument("--machine", default="148ed1", help="the machine's id")
    parser.add_argument("--count", type=int, default=4, help="how many lines to publish")
    args = parser.parse_args(argv)
    when = datetime.now(timezone.utc)
    subject = f"logs.{args.app}.{args.region}.{args.machine}"
    place = {"app": args.app, "region": args.region, "machine": args.machine, "when": when}
    publish(args.server, [(subject, body(line, **place)) for line in lines(args.count, when)])
    print(f"published {args.count} lines on {subject} to {args.server}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
