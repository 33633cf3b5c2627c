"""The capture loop: connect, subscribe, write each message, and never get stuck.

One nats-py client at a time (a "session") does the connecting: it reconnects by itself,
forever, and re-subscribes. Around it this loop starts a fresh client when the initial
connection cannot be made, when the client closes for good (an authorization error, for
one), and when the stall detector fires: connected, yet no message for
``stall_seconds``, which is how a stuck subscription looks from outside.

Every fault is said on stderr through ``dual_log._report.say``, never through logging,
so nothing the capture says can come back into its file. The stream itself may carry
it back (the capture's stderr is shipped like any app's), which is why the capture's
own app is left out by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client
from nats.errors import SlowConsumerError

from dual_log._capture import _health
from dual_log._capture._lines import to_line, to_record, utc_time
from dual_log._report import describe, say

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from dual_log._capture._files import Output
    from dual_log._capture._options import CaptureOptions

# How often the same connection error is said again while it lasts.
REMINDER_SECONDS = 60.0
# How often dropped messages are summed up on stderr while the client keeps dropping.
DROP_REPORT_SECONDS = 10.0
# Backoff of a fresh client after a failed or closed one: from FIRST_RETRY, doubling.
FIRST_RETRY = 0.25
# Lines handed to the files are written this long after the first of them at the
# latest, rather than at the file sink's flush interval: a burst is on disk as soon as
# it ends, and the writer thread still wakes at most this often.
WRITE_DELAY = 0.01


def _tell(message: str) -> None:
    say(f"capture: {message}")


class Capture:
    """One running capture: its options, its files, its counters and its state.

    Args:
        options: what to connect to, what to keep, where to write.
        output: the files (``_files.Output``); the capture closes them when it stops.
    """

    def __init__(self, options: CaptureOptions, output: Output) -> None:
        self.options = options
        self.output = output
        self.filters = options.filters
        self._filtering = self.filters.active
        self._own_app = options.own_app or None
        # Counters, all since the start.
        self.received = 0
        self.own_app = 0
        self.filtered = 0
        self.raw = 0
        self.failed = 0
        self.dropped = 0
        self.outages = 0
        self.stalls = 0
        # State.
        self.connected = False
        self.stalled = False
        self._client: Client | None = None
        self._url = ""
        self._last_message = time.monotonic()  # or the last connection, if later
        self._write_due = False
        self._down_at: tuple[float, float] | None = None  # (monotonic, wall clock)
        self._stopping = asyncio.Event()
        self._new_session = asyncio.Event()
        self._error_said: tuple[str, float] = ("", 0.0)
        self._dropped_said = 0
        self._dropped_at = 0.0
        self._failed_said = False
        self._stop_at = 0.0

    # Health --------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while connected and not stalled; the counters as details."""
        healthy = self.connected and not self.stalled
        return healthy, {
            "connected": self.connected,
            "stalled": self.stalled,
            "server": self._url,
            "received": self.received,
            "written": self.output.written,
            "missed": self.output.missed,
            "dropped": self.dropped,
            "filtered": self.filtered,
            "own_app": self.own_app,
            "raw": self.raw,
            "outages": self.outages,
            "stalls": self.stalls,
            "files_failing": self.output.failing,
        }

    # Messages ------------------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        # Runs for every message: kept to what each one needs (the stall detector
        # watches ``received``, the rest is done once per burst in ``_write_soon``).
        self.received += 1
        try:
            record, parsed = to_record(msg.data, msg.subject, time.time())
            app = record.get("fly_app")
            app = app if type(app) is str else ""  # a body's own "fly_app" may be anything
            if app == self._own_app:
                self.own_app += 1
                return
            if self._filtering and not self.filters.keep(record):
                self.filtered += 1
                return
            if not parsed:
                self.raw += 1
            self.output.write(to_line(record), app)
            if not self._write_due:
                self._write_due = True
                asyncio.get_running_loop().call_later(WRITE_DELAY, self._write_soon)
        except Exception as exc:  # never into the client's loop: count, say once
            self.failed += 1
            if not self._failed_said:
                self._failed_said = True
                _tell(f"a message could not be written ({describe(exc)}); counted, going on.")

    def _write_soon(self) -> None:
        self._write_due = False
        self.output.write_soon()

    # Client callbacks ----------------------------------------------------------------

    def _callbacks(self, client: Client) -> dict[str, Any]:
        """Callbacks bound to ``client``: a replaced client's late calls change nothing."""

        def current() -> bool:
            return client is self._client and not self._stopping.is_set()

        async def error_cb(error: Exception) -> None:
            if isinstance(error, SlowConsumerError):
                self.dropped += 1
                if self._dropped_at == 0.0:  # the first drop at once; then the watcher sums up
                    self._say_dropped()
                return
            if not current():
                return
            text = describe(error)
            said, at = self._error_said
            now = time.monotonic()
            if text != said or now - at >= REMINDER_SECONDS:
                self._error_said = (text, now)
                state = "connected to" if client.is_connected else "cannot connect to"
                _tell(
                    f"{state} {self._servers()}: {text}; "
                    f"retrying every {self.options.reconnect_wait:g}s."
                )

        async def disconnected_cb() -> None:
            if not current() or not self.connected:
                return
            self.connected = False
            self.outages += 1
            self._down_at = (time.monotonic(), time.time())
            _tell(
                f"disconnected from {self._url} at {utc_time(self._down_at[1])}; reconnecting. "
                "Lines published until the capture is subscribed again are not delivered "
                "to it (core NATS keeps nothing for an absent subscriber)."
            )

        async def reconnected_cb() -> None:
            if not current():
                return
            self._up(client, again=True)

        async def closed_cb() -> None:
            if current():
                self._new_session.set()

        return {
            "error_cb": error_cb,
            "disconnected_cb": disconnected_cb,
            "reconnected_cb": reconnected_cb,
            "closed_cb": closed_cb,
        }

    def _up(self, client: Client, *, again: bool) -> None:
        url = client.connected_url
        self._url = url.geturl() if url is not None else self._servers()
        self.connected = True
        self._last_message = time.monotonic()
        self._error_said = ("", 0.0)
        down = self._down_at
        self._down_at = None
        if down is None:
            if again:
                _tell(f"reconnected to {self._url}.")
            return
        took = time.monotonic() - down[0]
        _tell(
            f"reconnected to {self._url} at {utc_time(time.time())} after {took:.1f}s; "
            f"lines published from {utc_time(down[1])} until now are missing from the file."
        )

    def _say_dropped(self) -> None:
        new = self.dropped - self._dropped_said
        if new <= 0:
            return
        self._dropped_said = self.dropped
        self._dropped_at = time.monotonic()
        _tell(
            f"slow consumer: the client dropped {new} message(s) "
            f"({self.dropped} in all) because {self.options.pending_messages} messages or "
            f"{self.options.pending_bytes} bytes were waiting to be written; is the volume slow?"
        )

    def _servers(self) -> str:
        return self.options.server

    # The loop ------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the capture to drain, write what it received and return (signal-safe)."""
        if not self._stopping.is_set():
            self._stop_at = time.monotonic()
            self._stopping.set()

    async def _watch(self) -> None:
        """Stall detector and periodic reports, once a second (or faster for short stalls)."""
        stall = self.options.stall_seconds
        period = min(1.0, stall / 4) if stall else 1.0
        seen = self.received
        while not self._stopping.is_set():
            await asyncio.sleep(period)
            if self.received != seen:
                seen = self.received
                self._last_message = time.monotonic()
                if self.stalled:
                    self.stalled = False
                    _tell("messages arrive again; the stall is over.")
            if (
                self.dropped > self._dropped_said
                and time.monotonic() - self._dropped_at >= DROP_REPORT_SECONDS
            ):
                self._say_dropped()
            quiet = time.monotonic() - self._last_message
            if stall and self.connected and quiet >= stall:
                # Still stalled after connecting anew: try again, quietly (said once).
                if not self.stalled:
                    self.stalled = True
                    self.stalls += 1
                    _tell(
                        f"stalled: connected to {self._url} but no message for {quiet:.1f}s "
                        f"(--stall-seconds {stall:g}); connecting anew until messages arrive."
                    )
                self._new_session.set()

    async def _connect(self, client: Client) -> None:
        servers = [s.strip() for s in self.options.server.split(",") if s.strip()]
        await client.connect(
            servers=servers,
            user=self.options.user,
            password=self.options.password,
            name="dual-log capture",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            # nats-py annotates these as int; fractions of a second work as well.
            reconnect_time_wait=self.options.reconnect_wait,  # type: ignore[arg-type]
            connect_timeout=self.options.connect_timeout,  # type: ignore[arg-type]
            drain_timeout=self.options.stop_timeout,  # type: ignore[arg-type]
            # Never given to the server: the client only reads.
            no_echo=True,
            **self._callbacks(client),
        )
        await client.subscribe(
            self.options.subject,
            queue=self.options.queue or "",
            cb=self._on_message,
            pending_msgs_limit=self.options.pending_messages,
            pending_bytes_limit=self.options.pending_bytes,
        )
        await client.flush(timeout=max(1, int(self.options.connect_timeout)))

    async def _session(self, delay: float) -> float:
        """Run one client until it closes, stalls or the capture stops; the next delay."""
        client = Client()
        self._client = client
        self._new_session.clear()
        connecting = asyncio.ensure_future(self._connect(client))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(BaseException):
                    await connecting
                await self._close(client)
                return delay
            error = connecting.exception()
            if error is not None:
                text = describe(error)
                if text != self._error_said[0]:
                    _tell(f"cannot connect to {self._servers()}: {text}; retrying.")
                    self._error_said = (text, time.monotonic())
                await self._close(client)
                return min(max(delay * 2, FIRST_RETRY), self.options.reconnect_wait)
            queue = f" in queue group {self.options.queue}" if self.options.queue else ""
            self._up(client, again=False)
            if not self.stalled:
                _tell(
                    f"subscribed to {self.options.subject} on {self._url}{queue}; writing to "
                    + (
                        f"one file per app beside {self.output.path}"
                        if self.output.per_app
                        else self.output.path
                    )
                    + "."
                )
            renew = asyncio.ensure_future(self._new_session.wait())
            await asyncio.wait({renew, stopping}, return_when=asyncio.FIRST_COMPLETED)
            renew.cancel()
            if self._stopping.is_set():
                await self._drain(client)
                return delay
            if not self.stalled:
                _tell(f"the connection to {self._servers()} closed; connecting anew.")
            self.connected = False
            await self._close(client)
            return FIRST_RETRY
        finally:
            stopping.cancel()

    async def _drain(self, client: Client) -> None:
        """Unsubscribe, write every message already received, close."""
        self.connected = False
        if client.is_connected:
            try:
                await asyncio.wait_for(client.drain(), self.options.stop_timeout)
                return
            except Exception as exc:
                _tell(f"draining the subscription did not finish: {describe(exc)}.")
        await self._close(client)

    async def _close(self, client: Client) -> None:
        self._client = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), self.options.connect_timeout + 1)

    async def run(self) -> int:
        """Capture until SIGTERM or SIGINT; then drain, write everything, return 0."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        server = None
        if self.options.health_port is not None:
            server = await _health.serve(
                self.options.health_host, self.options.health_port, self.health
            )
            _tell(
                f"health check on http://{self.options.health_host}:"
                f"{self.options.health_port}/health."
            )
        watcher = asyncio.ensure_future(self._watch())
        delay = 0.0
        try:
            while not self._stopping.is_set():
                if delay:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
                    if self._stopping.is_set():
                        break
                delay = await self._session(delay)
        finally:
            watcher.cancel()
            if server is not None:
                server.close()
            left = max(1.0, self.options.stop_timeout - (time.monotonic() - self._stop_at))
            done = await asyncio.to_thread(self.output.flush, left)
            self._say_dropped()
            self.output.close()
            _tell(
                f"stopped{'' if done else ' (the files did not take every line in time)'}: "
                f"received {self.received}, written {self.output.written}, "
                f"missed {self.output.missed} (file faults), dropped {self.dropped} (slow), "
                f"left out {self.filtered} (filters) and {self.own_app} (own app), "
                f"{self.raw} kept raw, {self.outages} outage(s), {self.stalls} stall(s)."
            )
        return 0
