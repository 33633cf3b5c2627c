"""The capture's own NATS subscriber, against a real nats-server, with nats-py publishing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from capture import rig
from capture.rig import PASSWORD, USER, NatsServer
from dual_log._capture import _nats

if TYPE_CHECKING:
    from pathlib import Path


class Received:
    """What a connection handed on: every (subject, body), and the drops counted."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bytes]] = []
        self.dropped = 0

    def on_message(self, subject: bytes, body: bytes) -> None:
        self.messages.append((subject, body))

    def on_drop(self, count: int) -> None:
        self.dropped += count


async def subscribe(
    server: NatsServer,
    received: Received,
    *,
    password: str = PASSWORD,
    queue: str | None = None,
    **options: Any,
) -> _nats.Connection:
    """A Connection to ``server``, subscribed to ``logs.>``."""
    options = {"pending_messages": 1_000_000, "pending_bytes": 1 << 30, **options}
    host, port, _, _ = _nats.parse_server(server.url)

    def make() -> _nats.Connection:
        return _nats.Connection(received.on_message, received.on_drop, **options)

    connection = await _nats.connect(host, port, 5.0, make)
    try:
        await connection.start(
            "logs.>", queue, user=USER, password=password, name="test", version="0", timeout=5.0
        )
    except BaseException:
        connection.close()
        raise
    return connection


async def publish(server: NatsServer, items: list[tuple[str, bytes]], **headers: str) -> None:
    """Publish (on a socket of the rig's, in a thread) until the server has handed them on."""
    await asyncio.to_thread(rig.publish, server.url, items, headers)


async def until(check: Any, timeout: float = 10.0) -> None:
    """Wait until ``check()`` is true, letting the event loop run."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


BODIES = [
    b"",
    b"x",
    b"MSG logs.a.b.c 1 5\r\nforged\r\n",
    b"PING\r\n",
    "caf\u00e9".encode(),
    b"\xff\x00\r",
    b"y" * (1024 * 1024 - 100),  # near the server's largest payload: read in many pieces
]


def test_every_message_arrives_whole_and_in_order(nats_server):
    """Bodies of every size, with CRLF and protocol words inside, come out as they went in."""
    items = [(f"logs.app.ams.m{n % 3}", BODIES[n % len(BODIES)] + b"%d" % n) for n in range(3000)]

    async def run() -> Received:
        received = Received()
        connection = await subscribe(nats_server, received)
        await publish(nats_server, items)
        await until(lambda: len(received.messages) == len(items))
        assert await connection.drain(5.0)
        return received

    received = asyncio.run(run())
    assert received.messages == [(s.encode(), b) for s, b in items]
    assert received.dropped == 0


def test_a_wrong_password_is_refused_in_the_servers_words(nats_server):
    """The server's -ERR is the error, at once, not a timeout."""

    async def run() -> None:
        with pytest.raises(_nats.NatsError, match="Authorization Violation"):
            await subscribe(nats_server, Received(), password="wrong")

    asyncio.run(run())


def test_nothing_listening_is_refused(tmp_path: Path):
    """A port nobody listens on: an OSError from connect, which the capture says, retrying."""
    server = NatsServer(tmp_path)  # not started

    async def run() -> None:
        with pytest.raises(ConnectionRefusedError):
            await subscribe(server, Received())

    asyncio.run(run())


def test_a_full_queue_drops_whole_messages_and_counts_each(nats_server):
    """Past pending_messages, messages are dropped whole and counted; the rest arrive intact."""
    items = [(f"logs.app.ams.m{n % 3}", b"%08d" % n) for n in range(5000)]

    async def run() -> Received:
        received = Received()
        connection = await subscribe(nats_server, received, pending_messages=10)
        await publish(nats_server, items)
        await until(lambda: len(received.messages) + received.dropped == len(items))
        connection.close()
        return received

    received = asyncio.run(run())
    assert received.dropped > 0
    numbers = [int(body) for _, body in received.messages]
    assert numbers == sorted(set(numbers))  # in order, none twice, each one whole
    assert len(numbers) + received.dropped == len(items)


def test_drain_hands_on_everything_the_server_had_sent(nats_server):
    """Published, then drained at once: every message is handed on before drain returns."""
    items = [("logs.app.ams.m1", b"%d" % n) for n in range(20000)]

    async def run() -> Received:
        received = Received()
        connection = await subscribe(nats_server, received)
        await publish(nats_server, items)
        assert await connection.drain(10.0)
        await asyncio.wait_for(connection.closed, 5.0)
        return received

    received = asyncio.run(run())
    assert [body for _, body in received.messages] == [body for _, body in items]


@pytest.fixture
def pinging_server(tmp_path: Path):
    """A nats-server that pings its clients every 100 ms and drops one after 2 unanswered."""
    server = NatsServer(tmp_path, config='ping_interval: "100ms"\nping_max: 2\n')
    server.start()
    yield server
    server.kill()


def test_the_servers_pings_are_answered(pinging_server):
    """Idle for ten of the server's ping intervals, the connection stays and still reads."""

    async def run() -> Received:
        received = Received()
        connection = await subscribe(pinging_server, received)
        await asyncio.sleep(1.0)
        assert not connection.closed.done()
        await publish(pinging_server, [("logs.app.ams.m1", b"still here")])
        await until(lambda: received.messages)
        connection.close()
        return received

    assert asyncio.run(run()).messages == [(b"logs.app.ams.m1", b"still here")]


def test_a_server_that_stops_answering_is_given_up(nats_server):
    """No answer to two keepalive PINGs: the connection is closed, saying why."""

    async def run() -> _nats.Connection:
        connection = await subscribe(nats_server, Received(), ping_interval=0.2)
        nats_server.freeze()
        try:
            await asyncio.wait_for(asyncio.shield(connection.closed), 5.0)
        finally:
            nats_server.thaw()
        return connection

    connection = asyncio.run(run())
    assert connection.error == "protocol error: no answer to 2 PINGs"


def test_headers_sent_anyway_leave_the_body_alone(nats_server):
    """A publisher's headers (which the capture does not ask for) never reach the line."""

    async def run() -> Received:
        received = Received()
        connection = await subscribe(nats_server, received)
        await publish(nats_server, [("logs.app.ams.m1", b"body")], trace="x")
        await until(lambda: received.messages)
        connection.close()
        return received

    assert asyncio.run(run()).messages == [(b"logs.app.ams.m1", b"body")]


def test_one_queue_group_hands_each_message_to_one_member(nats_server):
    """Two connections in one queue group: each message once, across both."""
    items = [("logs.app.ams.m1", b"%d" % n) for n in range(2000)]

    async def run() -> tuple[Received, Received]:
        one, two = Received(), Received()
        first = await subscribe(nats_server, one, queue="capture")
        second = await subscribe(nats_server, two, queue="capture")
        await publish(nats_server, items)
        await until(lambda: len(one.messages) + len(two.messages) == len(items))
        first.close()
        second.close()
        return one, two

    one, two = asyncio.run(run())
    assert one.messages
    assert two.messages
    bodies = sorted(int(b) for _, b in one.messages + two.messages)
    assert bodies == list(range(len(items)))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nats://[fdaa::3]:4223", ("fdaa::3", 4223, None, None)),
        ("127.0.0.1", ("127.0.0.1", 4222, None, None)),
        ("nats://org:t%3Aok@host:1", ("host", 1, "org", "t:ok")),
    ],
)
def test_server_urls(url, expected):
    """nats://[user:password@]host[:port], the port 4222 when left out."""
    assert _nats.parse_server(url) == expected


@pytest.mark.parametrize("url", ["tls://host:1", "http://host", "nats://", "nats://h:x"])
def test_other_urls_are_refused(url):
    """Only plain nats:// is spoken."""
    with pytest.raises(ValueError, match="is not a nats://host:port URL"):
        _nats.parse_server(url)
