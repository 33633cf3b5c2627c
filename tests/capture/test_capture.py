"""``dual-log capture`` against a real nats-server: what reaches the file, and what does not.

Every test runs the capture as its own process and publishes platform-shaped lines with
unique ids from several apps and machines, then reads the files back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nats
import pytest
from faults.harness import fill, mount_unavailable, tmpfs
from helpers.logfiles import files, read_records

from capture.rig import (
    PASSWORD,
    USER,
    fly_body,
    ids_in,
    publish,
    rid_of,
    subject,
    wait_until,
    wrap,
)

APPS = ("web", "api", "worker")
REGIONS = ("ams", "iad")
MACHINES = ("148ed1", "9e7f02")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def fly_lines(tag: str, count: int, apps: tuple[str, ...] = APPS) -> list[tuple[str, bytes]]:
    """``count`` messages ``<tag>0..`` spread over ``apps``, two regions and two machines."""
    items = []
    for n in range(count):
        app, region = apps[n % len(apps)], REGIONS[n % 2]
        machine = MACHINES[(n // 2) % 2]
        items.append((subject(app, region, machine), fly_body(f"{tag}{n}", app, region, machine)))
    return items


def logs_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir(parents=True)
    return folder


def test_every_line_published_while_connected_is_written_exactly_once(
    nats_server, start_capture, tmp_path
):
    """Lines from 3 apps x 2 regions x 2 machines all reach the rotated, gzipped files once."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, "--max-bytes", "64KiB", "--keep", "50", "--compress", "true")
    capture.ready()
    items = fly_lines("a", 3000)
    items.append(("logs.web.ams.148ed1", b"\xffnot json, kept raw\nwith a forged line"))
    publish(nats_server.url, items)
    capture.written_reaches(len(items))
    assert capture.stop() == 0

    counts = ids_in(path)
    assert counts == collections.Counter([f"a{n}" for n in range(3000)] + ["\\xffnot"])
    assert any(p.name.endswith(".gz") for p in files(path)), "the files rotated and gzipped"
    records = {rid_of(r): r for r in read_records(path)[0]}
    first = records["a0"]
    assert _TIME.match(first["time"]), first["time"]
    assert {k: first[k] for k in ("level", "fly_app", "fly_region", "fly_machine")} == {
        "level": "INFO",
        "fly_app": "web",
        "fly_region": "ams",
        "fly_machine": "148ed1",
    }
    assert (first["host"], first["provider"]) == ("host-148ed1", "app")
    assert first["message"] == "a0 a line from web on 148ed1"
    raw = records["\\xffnot"]
    assert raw["raw"] == "\\xffnot json, kept raw\nwith a forged line"
    assert (raw["subject"], raw["fly_app"]) == ("logs.web.ams.148ed1", "web")
    assert "stopped: received 3001, written 3001, missed 0" in capture.stderr()


def test_lines_are_written_when_a_burst_ends_not_at_the_sinks_flush_interval(
    nats_server, start_capture, tmp_path
):
    """The capture has its lines written as soon as what arrived is handled: with the
    file sink's own interval set to an hour, a short burst is still in the file at once."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, env={"DUAL_LOG_FLUSH_INTERVAL": "3600"}).ready()
    publish(nats_server.url, fly_lines("b", 30))
    assert capture.written_reaches(30)["received"] == 30
    assert ids_in(path) == collections.Counter(f"b{n}" for n in range(30))
    publish(nats_server.url, fly_lines("c", 1))
    capture.written_reaches(31)
    assert capture.stop() == 0


def test_initial_connection_failure_is_retried_until_the_server_comes(
    nats_server, start_capture, tmp_path
):
    """Started before its server, the capture says so, answers 503, then subscribes and writes."""
    nats_server.kill()
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path)
    capture.wait_for(r"capture: cannot connect to nats://127\.0\.0\.1")
    assert capture.health()[0] == 503
    nats_server.start()
    capture.ready()
    assert capture.health()[0] == 200
    publish(nats_server.url, fly_lines("b", 30))
    capture.written_reaches(30)
    assert capture.stop() == 0
    assert ids_in(path) == collections.Counter(f"b{n}" for n in range(30))


def _reported_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def _publish_through_reconnect(url: str, capture, published: dict[str, float]) -> None:
    """Publish ``c0..`` every 5 ms until 0.5 s after the capture says it is back."""
    client = await nats.connect(url, user=USER, password=PASSWORD)
    try:
        back_at = None
        n = 0
        while back_at is None or time.monotonic() - back_at < 0.5:
            for _ in range(10):
                rid = f"c{n}"
                published[rid] = time.time()
                await client.publish(
                    subject("web", "ams", "148ed1"), fly_body(rid, "web", "ams", "148ed1")
                )
                n += 1
                await asyncio.sleep(0.005)
            if n == 100:  # the first 100 surely while the capture is not subscribed
                await client.flush()
                capture.proc.send_signal(signal.SIGCONT)
            if back_at is None and "capture: reconnected to" in capture.stderr():
                back_at = time.monotonic()
        await client.flush()
    finally:
        await client.close()


def test_server_restart_reconnects_and_the_reported_gap_is_what_is_missing(
    nats_server, start_capture, tmp_path
):
    """A killed server: the capture reconnects alone; exactly the lines of the reported gap miss."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path).ready()
    publish(nats_server.url, fly_lines("p", 300))
    capture.written_reaches(300)
    nats_server.kill()
    capture.wait_for(r"capture: disconnected from ")
    # Held back while the server comes again, so that lines are surely published in the
    # gap (a real capture is late just the same: it retries every --reconnect-wait).
    capture.proc.send_signal(signal.SIGSTOP)
    nats_server.start()
    published: dict[str, float] = {}
    asyncio.run(_publish_through_reconnect(nats_server.url, capture, published))
    assert capture.stop() == 0

    (line,) = capture.wait_for(r"capture: reconnected to .* after ")
    match = re.search(r" at (\S+) after ([\d.]+)s; lines published from (\S+) until now", line)
    assert match, line
    up, down = _reported_time(match.group(1)), _reported_time(match.group(3))
    assert float(match.group(2)) == pytest.approx(up - down, abs=0.2)
    counts = ids_in(path)
    assert all(counts[f"p{n}"] == 1 for n in range(300)), "lines before the outage all stay"
    assert set(counts.values()) == {1}
    missing = [rid for rid in published if rid not in counts]
    assert len(missing) >= 100
    # Every missing line was published inside the reported gap; every line published
    # after the reported reconnection (to its millisecond) is in the file.
    assert all(down <= published[rid] <= up + 0.001 for rid in missing), (down, up)
    after = [rid for rid, at in published.items() if at > up + 0.001]
    assert after, "lines were published after the reconnection"
    assert all(counts[rid] == 1 for rid in after)
    health = capture.stderr()
    assert "1 outage(s)" in health


def test_a_stalled_subscription_is_detected_and_recovered(nats_server, start_capture, tmp_path):
    """A server that stops answering: stall said, health 503, then a fresh connection writes."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, stall=1.0).ready()
    publish(nats_server.url, fly_lines("s", 20))
    capture.written_reaches(20)
    nats_server.freeze()
    try:
        capture.wait_for(r"capture: stalled: connected to .* but no message for")
        status, body = capture.health()
        assert (status, body["stalled"], body["stalls"]) == (503, True, 1)
    finally:
        nats_server.thaw()
    wait_until(lambda: capture.health()[1]["connected"], what="connected again")
    publish(nats_server.url, fly_lines("t", 20))
    capture.wait_for(r"capture: messages arrive again")
    assert capture.written_reaches(40)["stalled"] is False
    assert capture.health()[0] == 200
    assert capture.stop() == 0
    assert ids_in(path) == collections.Counter(
        [f"s{n}" for n in range(20)] + [f"t{n}" for n in range(20)]
    )


def test_slow_consumer_drops_are_counted_and_reported(nats_server, start_capture, tmp_path):
    """With a tiny pending limit, every line is either written or counted as dropped."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, "--pending-messages", "5").ready()
    items = fly_lines("d", 5000)
    publish(nats_server.url, items)

    def settled() -> dict | None:
        body = capture.health()[1]
        return (
            body
            if body["received"] + body["dropped"] == len(items)
            and (body["written"] == body["received"])
            else None
        )

    body = wait_until(settled, what="every line written or dropped")
    assert body["dropped"] > 0
    assert capture.stop() == 0
    assert sum(ids_in(path).values()) == len(items) - body["dropped"]
    assert set(ids_in(path).values()) == {1}
    said = capture.wait_for(r"capture: slow consumer: the client dropped")
    total = sum(int(re.search(r"dropped (\d+) message", s).group(1)) for s in said)
    assert total == body["dropped"]


@pytest.mark.faults
@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_full_or_read_only_volume_is_reported_held_and_recovered(
    nats_server, start_capture, tmp_path, fault
):
    """A full or read-only volume: said once, lines held, all written once it heals."""
    if reason := mount_unavailable():
        pytest.skip(reason)
    volume = tmp_path / "volume"
    # A read-only volume is one from the start: a file open for writing keeps a mount
    # from being made read-only under it.
    with tmpfs(volume, "1m", read_only=fault == "read-only"):
        path = volume / "fly.log"
        capture = start_capture(path).ready()
        ok = 50 if fault == "full" else 0
        publish(nats_server.url, fly_lines("ok", ok))
        capture.written_reaches(ok)
        if fault == "full":
            filler = fill(volume)
        publish(nats_server.url, fly_lines("held", 100))
        capture.wait_for(r"dual_log: cannot write to the log file ")
        time.sleep(0.5)
        during = capture.health()
        assert during[0] == 200, "the connection is fine; the file is what fails"
        assert during[1]["files_failing"] is True
        assert during[1]["missed"] == 0  # held, not dropped
        if fault == "full":
            filler.unlink()
        else:
            subprocess.run(["mount", "-o", "remount,rw", str(volume)], check=True)
        capture.written_reaches(ok + 100)
        (works,) = capture.wait_for(r"the log file \S+ works again after")
        assert capture.stop() == 0
        counts = ids_in(path)
    assert "records held meanwhile are written now" in works
    assert "Records still go to stdout" not in capture.stderr()  # the capture has no stdout sink
    assert all(counts[f"ok{i}"] == 1 for i in range(ok))
    assert all(counts[f"held{i}"] == 1 for i in range(100))
    assert set(counts.values()) == {1}


def test_sigterm_drains_and_writes_everything_received(nats_server, start_capture, tmp_path):
    """SIGTERM right after a burst: every line the server had is written, exit status 0."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path).ready()
    items = fly_lines("q", 20000)
    publish(nats_server.url, items)
    assert capture.stop(timeout=15) == 0
    counts = ids_in(path)
    assert len(counts) == len(items)
    assert set(counts.values()) == {1}
    assert f"stopped: received {len(items)}, written {len(items)}, missed 0" in capture.stderr()


def test_own_app_lines_are_left_out(nats_server, start_capture, tmp_path):
    """The capture's own app (FLY_APP_NAME) is not written back; other apps are."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, env={"FLY_APP_NAME": "log-capture"}).ready()
    items = fly_lines("own", 300, apps=("web", "log-capture", "api"))
    publish(nats_server.url, items)
    body = capture.written_reaches(200)
    wait_until(lambda: capture.health()[1]["received"] == 300, what="300 received")
    assert capture.health()[1]["own_app"] == 100
    assert body["written"] == 200
    assert capture.stop() == 0
    apps = {r["fly_app"] for r in read_records(path)[0]}
    assert apps == {"web", "api"}


def test_filters_keep_exactly_the_lines_asked_for(nats_server, start_capture, tmp_path):
    """Include/exclude apps, regions, levels and a message pattern, all at once."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(
        path,
        "--app",
        "web*,api",
        "--exclude-region",
        "iad",
        "--exclude-level",
        "debug",
        "--exclude-match",
        r"\bhealthz$",
        "--region",
        "ams,syd",
    ).ready()
    items, expected = [], set()
    n = 0
    for app in ("web", "web-2", "api", "worker"):
        for region in ("ams", "iad", "syd", "nrt"):
            for level in ("debug", "info", "warn"):
                for text in ("", " GET /healthz"):
                    rid = f"f{n}"
                    body = fly_body(rid, app, region, "m1", level=level)
                    body = body.replace(b" on m1", b" on m1" + text.encode())
                    items.append((subject(app, region, "m1"), body))
                    if (
                        app != "worker"
                        and region in ("ams", "syd")
                        and level != "debug"
                        and (not text)
                    ):
                        expected.add(rid)
                    n += 1
    publish(nats_server.url, items)
    wait_until(lambda: capture.health()[1]["received"] == len(items), what="all received")
    body = capture.written_reaches(len(expected))
    assert body["filtered"] == len(items) - len(expected)
    assert capture.stop() == 0
    assert ids_in(path) == collections.Counter(expected)
    assert {r["level"] for r in read_records(path)[0]} == {"INFO", "WARNING"}


def test_two_captures_in_one_queue_group_write_each_line_once(nats_server, start_capture, tmp_path):
    """Two captures in a queue group share the stream; a third, outside it, keeps a full copy."""
    folder = logs_folder(tmp_path)
    one = start_capture(folder / "one.log", "--queue", "capture")
    two = start_capture(folder / "two.log", "--queue", "capture")
    full = start_capture(folder / "full.log")
    for capture in (one, two, full):
        capture.ready()
    items = fly_lines("g", 2000)
    publish(nats_server.url, items)
    full.written_reaches(2000)
    wait_until(
        lambda: one.health()[1]["written"] + two.health()[1]["written"] == 2000,
        what="the group wrote 2000",
    )
    for capture in (one, two, full):
        assert capture.stop() == 0
    shared = ids_in(folder / "one.log") + ids_in(folder / "two.log")
    assert shared == collections.Counter(f"g{n}" for n in range(2000))
    assert ids_in(folder / "one.log"), "each member of the group took a share"
    assert ids_in(folder / "two.log"), "each member of the group took a share"
    assert ids_in(folder / "full.log") == shared


def test_one_file_per_app_keeps_unsafe_app_names_inside_the_folder(
    nats_server, start_capture, tmp_path
):
    """--per-app: <app>.log per app; names like ../x or a/b stay in the folder, apart."""
    folder = logs_folder(tmp_path / "inner")
    capture = start_capture(folder / "fly.log", "--per-app").ready()
    items = fly_lines("w", 60, apps=("web", "api"))
    for n, app in enumerate(("../escape", "a/b", "a_b", "")):
        items.append((f"logs.x{n}.ams.m1", fly_body(f"u{n}", app, "ams", "m1")))
    items.append(("logs.not-the-platform-shape", b"u9 raw"))
    items.append(("logs.odd", b'{"message": "u10 odd", "fly_app": 5}'))
    publish(nats_server.url, items)
    capture.written_reaches(len(items))
    assert capture.stop() == 0
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert sorted((tmp_path / "inner").rglob("*.log")) == sorted(folder.glob("*.log"))
    # An empty app name in the body falls back to the subject's (x3); a raw line with
    # no app, or one whose own "fly_app" is not text, goes to _unknown.log.
    assert {n for n in names if not re.search(r"-[0-9a-f]{8}\.log$", n)} == {
        "web.log",
        "api.log",
        "a_b.log",
        "x3.log",
        "_unknown.log",
    }
    assert len([n for n in names if re.search(r"^(___escape|a_b)-[0-9a-f]{8}\.log$", n)]) == 2
    assert ids_in(folder / "web.log") == collections.Counter(f"w{n}" for n in range(0, 60, 2))
    everything = collections.Counter()
    for log in folder.glob("*.log"):
        everything += ids_in(log)
        apps = {str(r.get("fly_app", "")) for r in read_records(log)[0]}
        assert len(apps) == 1 or log.name == "_unknown.log", (log, apps)
    assert len(everything) == len(items)
    assert set(everything.values()) == {1}


def test_level_keeps_the_apps_own_warnings_and_above(nats_server, start_capture, tmp_path):
    """--level WARNING reads each app's own level (the platform says "info" for every
    line): the app's warnings, errors and criticals are kept, its debug and info lines
    and plain lines are not."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, "--level", "WARNING").ready()
    lines = {
        "k1": "2026-11-24T09:30:41.854+00:00 WARNING shop.orders k1 low stock",
        "d1": "2026-11-24T09:30:41.854+00:00 INFO shop.orders d1 paid",
        "k2": json.dumps({"event": "k2 declined", "level": "error", "logger": "pay"}),
        "d2": json.dumps({"msg": "d2 fine", "level": 30}),  # pino's info
        "k3": "CRITICAL:root:k3 disk full",
        "d3": "DEBUG:root:d3 details",
        "k4": "[2026-11-24 09:30:41 +0000] [7] [ERROR] k4 worker timeout",
        "d4": "d4 a plain line, the platform's info",
    }
    publish(
        nats_server.url,
        [(subject("web", "ams", "m1"), wrap(v, "web", "ams", "m1")) for v in lines.values()],
    )
    wait_until(lambda: capture.health()[1]["received"] == len(lines), what="all received")
    assert capture.written_reaches(4)["filtered"] == 4
    assert capture.stop() == 0
    records = read_records(path)[0]
    kept = {r["message"].split(" ")[0]: r["level"] for r in records}
    assert kept == {"k1": "WARNING", "k2": "ERROR", "k3": "CRITICAL", "k4": "ERROR"}


_APP = """
import logging, sys, time
import dual_log

dual_log.setup(path=sys.argv[1], stdout_format=sys.argv[2], level="DEBUG", handle_signals=False)
log = logging.getLogger("shop.orders")
levels = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
for n in range(25):
    log.log(levels[n % 5], "order %d paid by caf\\u00e9 %s", n, "x" * n, extra={"order": n})
    time.sleep(0.003)  # a millisecond of its own for each record, so that they sort apart
"""


@pytest.mark.parametrize("stdout_format", ["text", "json"])
def test_a_dual_log_apps_records_from_the_stream_match_its_own_file(
    nats_server, start_capture, tmp_path, python, stdout_format
):
    """A dual_log app's stdout, carried by the stream, and its own file: each record has the
    same time, level, logger and message in both, and dual-log cat shows them side by side."""
    folder = logs_folder(tmp_path)
    own, captured = folder / "own.log", folder / "captured.log"
    capture = start_capture(captured).ready()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
    env.update(FLY_APP_NAME="shop", FLY_REGION="ams", FLY_MACHINE_ID="148ed1")
    app = subprocess.run(
        [python, "-c", _APP, str(own), stdout_format],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    printed = app.stdout.splitlines()
    assert len(printed) == 25
    topic = subject("shop", "ams", "148ed1")
    publish(nats_server.url, [(topic, wrap(line, "shop", "ams", "148ed1")) for line in printed])
    capture.written_reaches(25)
    assert capture.stop() == 0

    def same(record: dict) -> tuple:
        return tuple(record[k] for k in ("time", "level", "logger", "message"))

    from_file, from_stream = read_records(own)[0], read_records(captured)[0]
    assert [same(r) for r in from_stream] == [same(r) for r in from_file]
    assert {r["level"] for r in from_stream} == {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    assert all(r["fly_machine"] == "148ed1" and r["provider"] == "app" for r in from_stream)
    if stdout_format == "json":  # every field came along; dual_log's own host kept apart
        assert [r["order"] for r in from_stream] == list(range(25))
        assert {r["app_host"] for r in from_stream} == {from_file[0]["host"]}
    else:  # the text line is kept as it came
        assert all(r["original"] in printed for r in from_stream)

    shown = subprocess.run(
        [python, "-m", "dual_log", "cat", "--json", str(own), str(captured)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    merged = [json.loads(line) for line in shown]
    assert len(merged) == 50
    for first, second in zip(merged[::2], merged[1::2], strict=True):
        assert same(first) == same(second)
        assert ("provider" in first) != ("provider" in second)  # one from each file


def test_builders_are_left_out_unless_asked_for(nats_server, start_capture, tmp_path):
    """fly-builder-* apps flood the stream during deploys: left out by default, counted as
    filtered; --include-builders keeps them."""
    folder = logs_folder(tmp_path)
    default = start_capture(folder / "default.log").ready()
    builders = start_capture(folder / "builders.log", "--include-builders").ready()
    items = fly_lines("b", 300, apps=("web", "fly-builder-red-sky-4242", "api"))
    publish(nats_server.url, items)
    assert default.written_reaches(200)["filtered"] == 100
    builders.written_reaches(300)
    for capture in (default, builders):
        assert capture.stop() == 0
    assert {r["fly_app"] for r in read_records(folder / "default.log")[0]} == {"web", "api"}
    assert len(ids_in(folder / "builders.log")) == 300


def _machines_in(capture) -> set[str]:
    return {m["machine"] for m in capture.health()[1]["silent_machines"]}


def test_a_silent_machine_is_said_once_and_its_return_too(nats_server, start_capture, tmp_path):
    """With --silent-after 1: m1 sends, then stops while m2 goes on; m1 is said to be silent
    once, on stderr and on /health, and once more when it sends again."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, "--silent-after", "1").ready()
    publish(
        nats_server.url,
        [(subject("web", "ams", m), fly_body("a", "web", "ams", m)) for m in ("m1", "m2")],
    )
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # m2 keeps sending; m1 says nothing
        publish(nats_server.url, [(subject("web", "ams", "m2"), fly_body("b", "web", "ams", "m2"))])
        time.sleep(0.1)
    (said,) = capture.wait_for(r"capture: machine m1 of web in ams is silent")
    assert re.search(r"no line for \ds \(--silent-after 1\), the last at 20\d\d-", said), said
    status, body = capture.health()
    assert status == 200, "a silent machine is not the capture's fault"
    assert [(m["app"], m["region"], m["machine"]) for m in body["silent_machines"]] == [
        ("web", "ams", "m1")
    ]
    assert body["machines"] == 2
    publish(nats_server.url, [(subject("web", "ams", "m1"), fly_body("c", "web", "ams", "m1"))])
    capture.wait_for(r"capture: machine m1 of web in ams sends again, after \d+s")
    wait_until(lambda: not _machines_in(capture), what="m1 off the silent list")
    assert capture.stop() == 0
    assert len(re.findall(r"machine m1 .* is silent", capture.stderr())) == 1
    assert "machine m2" not in capture.stderr()


def test_the_captures_own_outage_makes_no_machine_silent(nats_server, start_capture, tmp_path):
    """Silence counts only while the capture receives the stream: a server down for longer
    than --silent-after, then back, and a machine that sends again at once, was never silent."""
    path = logs_folder(tmp_path) / "fly.log"
    capture = start_capture(path, "--silent-after", "2").ready()
    publish(nats_server.url, fly_lines("p", 20))
    capture.written_reaches(20)
    nats_server.kill()
    capture.wait_for(r"capture: disconnected from ")
    time.sleep(3.0)
    nats_server.start()
    capture.wait_for(r"capture: reconnected to ")
    publish(nats_server.url, fly_lines("q", 20))
    capture.written_reaches(40)
    time.sleep(0.5)
    assert capture.stop() == 0
    assert "is silent" not in capture.stderr()


def test_fsync_interval_syncs_what_was_written(nats_server, start_capture, tmp_path):
    """/health's "synced" (lines fsynced) catches up with "written" within the interval;
    with --fsync-interval 0 nothing is fsynced by the capture."""
    folder = logs_folder(tmp_path)
    synced = start_capture(folder / "synced.log", "--fsync-interval", "0.2").ready()
    unsynced = start_capture(folder / "unsynced.log", "--fsync-interval", "0").ready()
    publish(nats_server.url, fly_lines("s", 500))
    synced.written_reaches(500)
    unsynced.written_reaches(500)
    wait_until(lambda: synced.health()[1]["synced"] == 500, timeout=5, what="500 synced")
    assert unsynced.health()[1]["synced"] is None
    for capture in (synced, unsynced):
        assert capture.stop() == 0


def test_fsync_is_called_on_the_files_own_inode(nats_server, start_capture, tmp_path):
    """Seen from outside with strace: the capture fsyncs a descriptor of its file, and calls
    sync() once when the file is new (its name in the folder)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (the fsync timer's logic is tested in test_sync)")
    path = logs_folder(tmp_path) / "fly.log"
    trace = tmp_path / "trace.txt"
    capture = start_capture(
        path,
        "--fsync-interval",
        "0.2",
        strace=[strace, "-f", "-e", "trace=openat,fsync,sync", "-o", str(trace)],
    )
    # Signals go to the capture itself: strace would only let go of it, and it would run on.
    # strace's children also include short-lived copies of itself that probe ptrace: the
    # capture is the one running the interpreter.
    children = Path(f"/proc/{capture.proc.pid}/task/{capture.proc.pid}/children")

    def traced() -> int | None:
        for pid in children.read_text().split():
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if argv[0] == os.fsencode(sys.executable) and b"dual_log.capture" in argv:
                    return int(pid)
        return None

    child = int(wait_until(traced, what="the traced capture"))
    ended = False
    try:
        try:
            capture.ready()
        except AssertionError as exc:
            if "ptrace" in capture.stderr().lower():
                pytest.skip(f"strace cannot trace here: {exc}")
            raise
        publish(nats_server.url, fly_lines("t", 100))
        capture.written_reaches(100)
        wait_until(lambda: capture.health()[1]["synced"] == 100, timeout=5, what="100 synced")
        os.kill(child, signal.SIGTERM)
        assert capture.wait() == 0  # strace ends with the capture
        ended = True
    finally:
        if not ended and capture.proc.poll() is None:  # still traced: the child is ours
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    text = trace.read_text()
    opened = re.findall(
        rf'openat\(AT_FDCWD, "{re.escape(str(path))}", O_RDONLY\|O_CLOEXEC\) = (\d+)', text
    )
    assert opened, "the file opened read-only for fsync"
    assert re.search(rf"fsync\({opened[0]}\) += 0", text)
    assert len(re.findall(r"\bsync\(\) += 0", text)) == 1
