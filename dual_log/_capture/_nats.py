"""The subscriber's half of the NATS client protocol, for one connection: lean and plain.

The capture reads one subject at up to a few hundred thousand messages a second, and
does little with each. A general client pays more per message than all of that: nats-py
(on the capture's benchmark machine) spends 3.8 µs of CPU on each before its callback
runs, in its parser's regular expressions, a ``Msg`` object, an asyncio queue and a
coroutine per message, and the capture on it wrote fewer lines a second than the
platform's raw Node subscriber (docs/PERFORMANCE.md). This module speaks only what a
subscriber needs (``INFO``, ``CONNECT``, ``SUB``, ``UNSUB``, ``PING``/``PONG``, ``MSG``,
``HMSG``, ``+OK``, ``-ERR``; docs.nats.io, "Client Protocol"), plain TCP with a user and
a password, as the platform's log stream does, at about 1 µs a message: each is cut out
of what the socket gave with ``bytes.find`` and slicing, queued as ``(subject, body)``,
and handed to a plain function in batches.

Received messages wait in a bounded queue (``pending_messages``, ``pending_bytes``), so
the socket is read as fast as the server sends and the server never has to hold the
stream for a slow capture; past the bound, whole messages are dropped and counted, as a
"slow consumer" would be by any client. Reconnecting, and saying what happened, is the
caller's (``_subscriber``): a ``Connection`` is one connection, subscribed once.
"""

from __future__ import annotations

import asyncio
import collections
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_PORT = 4222
# Messages handled in one turn of the event loop before the socket is read again.
BATCH = 2000
# A keepalive PING this often; this many unanswered ones and the connection is dead.
PING_INTERVAL = 30.0
MAX_OUTSTANDING_PINGS = 2
# Longer than any control line a server sends (its own limit is 4 KiB by default): past
# it, what arrived is not the protocol.
MAX_CONTROL_LINE = 64 * 1024
_SID = b"1"


class NatsError(Exception):
    """The server refused, broke the protocol, or did not answer."""


def parse_server(url: str) -> tuple[str, int, str | None, str | None]:
    """Host, port, user and password of ``nats://[user:password@]host[:port]``.

    Raises:
        ValueError: not such a URL.
    """
    text = url.strip()
    if "://" not in text:
        text = f"nats://{text}"
    parts = urllib.parse.urlsplit(text)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:  # a port that is not a number
        port = 0
    if parts.scheme != "nats" or not parts.hostname or not port:
        raise ValueError(f"{url!r} is not a nats://host:port URL")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password


class Connection(asyncio.Protocol):
    """One connection to one server, subscribed to one subject.

    Args:
        on_message: called with ``(subject, body)``, both bytes, for every message, in
            order, from the event loop; it must not raise.
        on_drop: called with the number of messages dropped because the queue was full.
        pending_messages, pending_bytes: the bound of the queue of received messages.
        ping_interval: seconds between keepalive PINGs; after MAX_OUTSTANDING_PINGS of
            them unanswered, the connection is given up.
    """

    def __init__(
        self,
        on_message: Callable[[bytes, bytes], None],
        on_drop: Callable[[int], None],
        *,
        pending_messages: int,
        pending_bytes: int,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        self._on_message = on_message
        self._ping_interval = ping_interval
        self._on_drop = on_drop
        self._max_messages = pending_messages
        self._max_bytes = pending_bytes
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._rest = b""
        self._queue: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._queued_bytes = 0
        self._working = False
        self._emptied = asyncio.Event()
        self._emptied.set()
        self._info: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._pongs: collections.deque[asyncio.Future[None]] = collections.deque()
        self._keepalive: asyncio.TimerHandle | None = None
        self.closed: asyncio.Future[Exception | None] = self._loop.create_future()
        """Done when the connection is lost: with the reason, or None for our own close."""
        self.error: str | None = None
        """What went wrong, if anything: the server's last ``-ERR``, or a protocol error."""

    # Setting up --------------------------------------------------------------------------

    async def start(
        self,
        subject: str,
        queue: str | None,
        *,
        user: str | None,
        password: str | None,
        name: str,
        version: str,
        timeout: float,
    ) -> dict[str, Any]:
        """Log in and subscribe; return the server's ``INFO``.

        Raises:
            NatsError: the server refused (its ``-ERR`` text), or did not answer in time.
        """
        try:
            info = await asyncio.wait_for(self._info, timeout)
        except asyncio.TimeoutError:
            raise NatsError(f"no INFO from the server within {timeout:g}s") from None
        if info.get("tls_required"):
            raise NatsError("the server requires TLS, which this client does not speak")
        options: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "tls_required": False,
            "name": name,
            "lang": "python",
            "version": version,
            "protocol": 1,
            "echo": False,  # nothing is published; nothing should come back
            "headers": False,
            "no_responders": False,
        }
        if user is not None:
            options["user"] = user
        if password is not None:
            options["pass"] = password
        self._send(b"CONNECT " + json.dumps(options).encode() + b"\r\n")
        await self.ping(timeout)
        group = f" {queue}" if queue else ""
        self._send(f"SUB {subject}{group} ".encode() + _SID + b"\r\n")
        await self.ping(timeout)  # every message after this PONG is the subscription's
        self._keepalive = self._loop.call_later(self._ping_interval, self._keep_alive)
        return info

    async def ping(self, timeout: float) -> None:
        """Wait until the server has answered a PING: it has read everything sent before.

        Raises:
            NatsError: an ``-ERR`` came first, the connection was lost, or no answer in time.
        """
        pong: asyncio.Future[None] = self._loop.create_future()
        self._pongs.append(pong)
        self._send(b"PING\r\n")
        try:
            await asyncio.wait_for(pong, timeout)
        except asyncio.TimeoutError:
            raise NatsError(f"no answer to PING within {timeout:g}s") from None

    # Ending ------------------------------------------------------------------------------

    async def drain(self, timeout: float) -> bool:
        """Unsubscribe, then hand on every message the server had sent; False on timeout."""
        loop = self._loop
        deadline = loop.time() + timeout
        try:
            self._send(b"UNSUB " + _SID + b"\r\n")
            await self.ping(timeout)
        except NatsError:
            pass  # gone already: what arrived is still handed on below
        left = deadline - loop.time()
        try:
            await asyncio.wait_for(self._emptied.wait(), max(left, 0.001))
        except asyncio.TimeoutError:
            return False
        finally:
            self.close()
        return True

    def close(self) -> None:
        """Close the connection; messages already received are still handed on."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if self._transport is not None:
            self._transport.close()

    @property
    def pending(self) -> int:
        """Messages received and not yet handed on."""
        return len(self._queue)

    # asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport (asyncio calls this once connected)."""
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        """Wake every waiter (asyncio calls this once the connection is gone)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if not self.closed.done():
            self.closed.set_result(exc)
        reason = self.error or (str(exc) if exc else "the server closed the connection")
        self._fail([self._info, *self._pongs], reason)
        self._pongs.clear()

    def data_received(self, data: bytes) -> None:
        """Cut every whole message out of what arrived, queue it, and handle control lines."""
        # One function, longer than the rest, on purpose: it runs for every message of the
        # stream, and splitting it would add a call per message (and the locals bound
        # below would have to be looked up again in each).
        buf = self._rest + data if self._rest else data
        size = len(buf)
        pos = 0
        find = buf.find
        startswith = buf.startswith
        queue = self._queue
        append = queue.append
        # The queue's bound, in locals: this loop runs for every message.
        room = self._max_messages - len(queue)
        queued_bytes = self._queued_bytes
        max_bytes = self._max_bytes
        dropped = 0
        while True:
            end = find(b"\r\n", pos)
            if end < 0:
                if size - pos > MAX_CONTROL_LINE:
                    self._broken("a control line longer than 64 KiB")
                    return
                break
            if startswith(b"MSG ", pos):
                # MSG <subject> <sid> [reply-to] <#bytes>
                head = buf[pos + 4 : end].split(b" ")
                start = end + 2
                try:
                    stop = start + int(head[-1])
                except ValueError:
                    self._broken("a malformed MSG")
                    return
                if stop + 2 > size:
                    break  # the body is still on its way
                body = buf[start:stop]
                if room > 0 and queued_bytes + len(body) <= max_bytes:
                    append((head[0], body))
                    queued_bytes += len(body)
                    room -= 1
                else:
                    dropped += 1
                pos = stop + 2
            elif startswith(b"HMSG ", pos):
                # HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>: only
                # if a publisher sent headers, though CONNECT said we want none.
                head = buf[pos + 5 : end].split(b" ")
                start = end + 2
                try:
                    stop = start + int(head[-1])
                    body_start = start + int(head[-2])
                except (ValueError, IndexError):
                    self._broken("a malformed HMSG")
                    return
                if stop + 2 > size:
                    break
                append((head[0], buf[body_start:stop]))
                queued_bytes += stop - body_start
                room -= 1
                pos = stop + 2
            else:
                self._control(buf[pos:end])
                pos = end + 2
        self._queued_bytes = queued_bytes
        self._rest = buf[pos:] if pos < size else b""
        if dropped:
            self._on_drop(dropped)
        if queue and not self._working:
            self._working = True
            self._emptied.clear()
            self._loop.call_soon(self._work)

    # Inside ------------------------------------------------------------------------------

    def _work(self) -> None:
        """Hand on up to BATCH messages, then let the loop read the socket again."""
        queue = self._queue
        handle = self._on_message
        taken = 0
        for _ in range(min(len(queue), BATCH)):
            subject, body = queue.popleft()
            taken += len(body)
            handle(subject, body)
        self._queued_bytes -= taken
        if queue:
            self._loop.call_soon(self._work)
        else:
            self._working = False
            self._emptied.set()

    def _control(self, line: bytes) -> None:
        if line == b"PING":
            self._send(b"PONG\r\n")
        elif line == b"PONG":
            if self._pongs:
                pong = self._pongs.popleft()
                if not pong.done():
                    pong.set_result(None)
        elif line.startswith(b"INFO "):
            try:
                info = json.loads(line[5:])
            except ValueError:
                self._broken("a malformed INFO")
                return
            if not self._info.done():
                self._info.set_result(info if isinstance(info, dict) else {})
        elif line.startswith(b"-ERR"):
            text = line[4:].strip().strip(b"'").decode("utf-8", "replace")
            self.error = text or "error"
            self._fail(self._pongs, self.error)  # what waits for an answer gets this one
            self._pongs.clear()
        elif line != b"+OK":
            self._broken(f"an unknown protocol line {line[:40]!r}")

    @staticmethod
    def _fail(waiters: Any, reason: str) -> None:
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(NatsError(reason))
                waiter.exception()  # marked as retrieved: a waiter may be gone already

    def _keep_alive(self) -> None:
        if len(self._pongs) >= MAX_OUTSTANDING_PINGS:
            self._broken(f"no answer to {MAX_OUTSTANDING_PINGS} PINGs")
            return
        pong: asyncio.Future[None] = self._loop.create_future()
        self._pongs.append(pong)
        self._send(b"PING\r\n")
        self._keepalive = self._loop.call_later(self._ping_interval, self._keep_alive)

    def _broken(self, what: str) -> None:
        self.error = f"protocol error: {what}"
        if self._transport is not None:
            self._transport.abort()

    def _send(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


async def connect(
    host: str,
    port: int,
    timeout: float,
    make: Callable[[], Connection],
) -> Connection:
    """Open a TCP connection to ``host:port`` with the protocol ``make()`` builds.

    Raises:
        OSError: the connection could not be made (``TimeoutError`` after ``timeout``).
    """
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await asyncio.wait_for(loop.create_connection(make, host, port), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"connecting took more than {timeout:g}s") from None
    return protocol
