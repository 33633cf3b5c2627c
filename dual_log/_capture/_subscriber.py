"""The capture loop: connect, subscribe, write each message, and never get stuck.

One connection at a time (``_nats.Connection``), subscribed to the subject. When it
cannot be made, or is lost, or stalls (connected, yet no message for
``stall_seconds``, which is how a stuck subscription looks from outside), the loop
connects anew: at once after a loss, then every ``reconnect_wait``, forever, going
round the servers given. Each outage is said with its start, end and length, since the
stream keeps nothing for an absent subscriber.

Each message is handed over by the connection as ``(subject, body)`` and handled right
there, in the event loop: its line is made (``_lines``), judged (``_filters``), marked
against its machine (``_machines``) and handed to its file's writer thread. Every fault
is said on stderr through ``dual_log._report.say``, never through logging, so nothing
the capture says can come back into its file. The stream itself may carry it back (the
capture's stderr is shipped like any app's), which is why the capture's own app is left
out by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING, Any

from dual_log import __version__
from dual_log._capture import _health, _nats
from dual_log._capture._lines import line_of
from dual_log._capture._machines import Machines
from dual_log._capture._sync import Syncer
from dual_log._facts import utc_text
from dual_log._report import REMINDER_SECONDS, describe, say

if TYPE_CHECKING:
    from dual_log._capture._files import Output
    from dual_log._capture._options import CaptureOptions

# How often the same connection error is said again while it lasts.
# How often dropped messages are summed up on stderr while the stream outruns the capture.
DROP_REPORT_SECONDS = 10.0
# Lines handed to the files are written this long after the first of them at the
# latest, rather than at the file sink's flush interval: a burst is on disk as soon as
# it ends, and the writer thread still wakes at most this often.
WRITE_DELAY = 0.01
# What an app's lines come to: kept, or left out, and why (counted apart).
KEEP, OWN_APP, LEFT_OUT = 0, 1, 2
# Apps judged are remembered; past this many, the memory starts again.
MAX_APPS = 10_000


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
        self._own_app = options.own_app or None
        self._by_region = self.filters.by_region
        self._by_line = self.filters.by_line
        self._apps: dict[str, int] = {}  # app -> KEEP, OWN_APP or LEFT_OUT
        single = output.single
        self._put = None if single is None else single.write_line
        # The watcher's period: a second, or a quarter of the shortest threshold.
        period = 1.0
        for seconds in (options.stall_seconds, options.silent_after):
            if seconds:
                period = min(period, seconds / 4)
        self._period = period
        self.machines = Machines(options.silent_after or float("inf"), period)
        self._seen = self.machines.seen
        self.syncer = Syncer(output, options.fsync_interval) if options.fsync_interval else None
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
        self._url = ""
        self._last_message = time.monotonic()  # or the last connection, if later
        self._write_due = False
        self._down_at: tuple[float, float] | None = None  # (monotonic, wall clock)
        self._stopping = asyncio.Event()
        self._connect_anew = asyncio.Event()
        self._error_said: tuple[str, float] = ("", 0.0)
        self._dropped_said = 0
        self._dropped_at = 0.0
        self._failed_said = False
        self._stop_at = 0.0

    # Health --------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while connected and not stalled; the counters as details.

        A silent machine is listed, but does not make the capture unhealthy: restarting
        the capture would not bring it back.
        """
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
            "synced": self.syncer.synced if self.syncer else None,
            **self.machines.status(),
        }

    # Messages ------------------------------------------------------------------------

    def _on_message(self, subject: bytes, body: bytes) -> None:
        # Runs for every message: kept to what each one needs (the stall detector
        # watches ``received``, the rest is done once per burst in ``_write_soon``).
        self.received += 1
        try:
            line, app, region, level, text, parsed = line_of(body, subject)
            verdict = self._apps.get(app)
            if verdict is None:
                verdict = self._judge(app)
            if verdict:
                if verdict == OWN_APP:
                    self.own_app += 1
                else:
                    self.filtered += 1
                return
            if self._by_region and not self.filters.keep_region(region):
                self.filtered += 1
                return
            self._seen[subject] = self.machines.tick
            if self._by_line and not self.filters.keep_line(level, text):
                self.filtered += 1
                return
            if not parsed:
                self.raw += 1
            put = self._put
            if put is not None:
                put(line)
            else:
                self.output.write(line, app)
            if not self._write_due:
                self._write_due = True
                asyncio.get_running_loop().call_later(WRITE_DELAY, self._write_soon)
        except Exception as exc:  # never into the connection: count, say once
            self.failed += 1
            if not self._failed_said:
                self._failed_said = True
                _tell(f"a message could not be written ({describe(exc)}); counted, going on.")

    def _judge(self, app: str) -> int:
        if len(self._apps) >= MAX_APPS:
            self._apps.clear()
        if app == self._own_app:
            verdict = OWN_APP
        else:
            verdict = KEEP if self.filters.keep_app(app) else LEFT_OUT
        self._apps[app] = verdict
        return verdict

    def _write_soon(self) -> None:
        self._write_due = False
        self.output.write_soon()

    def _on_drop(self, count: int) -> None:
        self.dropped += count
        if self._dropped_at == 0.0:  # the first drop at once; then the watcher sums up
            self._say_dropped()

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

    # Connections ---------------------------------------------------------------------

    def _say_error(self, text: str) -> None:
        """Say a connection error, once while it lasts (again every REMINDER_SECONDS)."""
        said, at = self._error_said
        now = time.monotonic()
        if text != said or now - at >= REMINDER_SECONDS:
            self._error_said = (text, now)
            _tell(
                f"cannot connect to {self.options.server}: {text}; "
                f"retrying every {self.options.reconnect_wait:g}s."
            )

    async def _open(
        self, host: str, port: int, user: str | None, password: str | None
    ) -> _nats.Connection:
        options = self.options

        def make() -> _nats.Connection:
            return _nats.Connection(
                self._on_message,
                self._on_drop,
                pending_messages=options.pending_messages,
                pending_bytes=options.pending_bytes,
            )

        connection = await _nats.connect(host, port, options.connect_timeout, make)
        try:
            await connection.start(
                options.subject,
                options.queue,
                user=options.user or user,
                password=options.password or password,
                name="dual-log capture",
                version=__version__,
                timeout=options.connect_timeout,
            )
        except BaseException:
            connection.close()
            raise
        return connection

    async def _read_from(self, server: tuple[str, int, str | None, str | None]) -> bool:
        """Connect to ``server`` and read until the connection ends; False if it failed."""
        host, port, user, password = server
        opening = asyncio.ensure_future(self._open(host, port, user, password))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done():
                opening.cancel()
                with contextlib.suppress(BaseException):
                    await opening
                return True
            error = opening.exception()
            if error is not None:
                self._say_error(describe(error))
                return False
            connection: _nats.Connection = opening.result()
            self._up(host, port)
            self._connect_anew.clear()
            renew = asyncio.ensure_future(self._connect_anew.wait())
            ends: set[asyncio.Future[Any]] = {renew, stopping, connection.closed}
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
            renew.cancel()
            if self._stopping.is_set():
                self.connected = False
                if not await connection.drain(self.options.stop_timeout):
                    _tell("draining the subscription did not finish in time.")
                return True
            if connection.closed.done():
                self._down(connection)
                return True
            self.connected = False
            connection.close()  # stalled: quietly, the stall was said
            return True
        finally:
            stopping.cancel()

    def _up(self, host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        self._url = f"nats://{shown}:{port}"
        self.connected = True
        self._last_message = time.monotonic()
        self._error_said = ("", 0.0)
        down = self._down_at
        self._down_at = None
        queue = f" in queue group {self.options.queue}" if self.options.queue else ""
        if down is not None:
            took = time.monotonic() - down[0]
            _tell(
                f"reconnected to {self._url} at {utc_text(time.time())} after {took:.1f}s; "
                f"lines published from {utc_text(down[1])} until now are missing from the file."
            )
        elif not self.stalled:
            where = (
                f"one file per app beside {self.output.path}"
                if self.output.per_app
                else self.output.path
            )
            subject = self.options.subject
            _tell(f"subscribed to {subject} on {self._url}{queue}; writing to {where}.")

    def _down(self, connection: _nats.Connection) -> None:
        reason = connection.closed.result()
        why = connection.error or (describe(reason) if reason else "the server closed it")
        self.connected = False
        self.outages += 1
        self._down_at = (time.monotonic(), time.time())
        _tell(
            f"disconnected from {self._url} at {utc_text(self._down_at[1])} ({why}); "
            "reconnecting. Lines published until the capture is subscribed again are not "
            "delivered to it (core NATS keeps nothing for an absent subscriber)."
        )

    # The loop ------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the capture to drain, write what it received and return (signal-safe)."""
        if not self._stopping.is_set():
            self._stop_at = time.monotonic()
            self._stopping.set()

    async def _watch(self) -> None:
        """Stall detector, silent machines and periodic reports, once a period."""
        stall = self.options.stall_seconds
        seen = self.received
        while not self._stopping.is_set():
            await asyncio.sleep(self._period)
            if self.received != seen:
                seen = self.received
                self._last_message = time.monotonic()
                if self.stalled:
                    self.stalled = False
                    _tell("messages arrive again; the stall is over.")
            for text in self.machines.advance(counting=self.connected and not self.stalled):
                _tell(text)
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
                self._connect_anew.set()

    async def _connect_forever(self) -> None:
        """Connections, one after the other, going round the servers, until asked to stop."""
        servers = self.options.servers
        turn = 0
        failures = 0
        while not self._stopping.is_set():
            ok = await self._read_from(servers[turn % len(servers)])
            turn += 1
            failures = 0 if ok else failures + 1
            # After a loss, one attempt at once (at the next server, if any); then a
            # round of the servers every reconnect_wait.
            if failures and failures % len(servers) == 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.options.reconnect_wait)

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
        if self.syncer is not None:
            self.syncer.start()
        watcher = asyncio.ensure_future(self._watch())
        try:
            await self._connect_forever()
        finally:
            watcher.cancel()
            if server is not None:
                server.close()
            left = max(1.0, self.options.stop_timeout - (time.monotonic() - self._stop_at))
            done = await asyncio.to_thread(self.output.flush, left)
            if self.syncer is not None:
                await asyncio.to_thread(self.syncer.stop)
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
