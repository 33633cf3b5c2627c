"""Lines on their way to the file: written in batches, held in order through faults.

The log call formats its record and appends the encoded line to a deque: one C-level
append, no lock and no system call. With ``queue=True`` one daemon thread writes what
has gathered when ``interval`` seconds have passed or ``wake_bytes`` are waiting,
whichever comes first, so the writer wakes a few times a second rather than once per
record and seldom takes the GIL from the application. With ``queue=False`` the calling
thread writes its line (and any held before it) before the call returns.

A write that fails keeps its lines. They stay first in line and are tried again, in
order, with backoff from 0.25 s to 5 s, while new lines queue behind them; a volume that
comes back gets every one of them, and one line on stderr says the file works again.
``flush()`` has a failing file tried once, at once (not when the backoff ends), and
returns False if that try fails, without waiting for the fault to end; and
``close()`` tries a failing file once more and then gives up its held lines, counted and
said in one line, so that a missing volume never makes a program slow to stop.

Nothing here ever waits for a lock that a signal handler's log call could need while the
thread it interrupted holds it: Python runs signal handlers in the main thread, between
any two bytecodes and inside blocking waits such as ``thread.start()``. And at interpreter
exit, when daemon threads may have been frozen holding a lock, every wait is bounded.
An exception of dual_log's own in the writer thread is said, counted in ``errors``, and
the writer goes on with its lines held, as for a failing file.

Lines are dropped only when the queue is full: see ``overflow``.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections import deque
from itertools import repeat, starmap
from typing import TYPE_CHECKING

from dual_log._report import describe, records, say, where
from dual_log._write.late import LATE_WAIT, LateWrites
from dual_log._write.logfile import Busy
from dual_log._write.overflow import Overflow
from dual_log._write.threads import start_without_signals

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._report import FaultReport
    from dual_log._write.logfile import LogFile

# Backoff between attempts at a failing file: short enough that a volume mounted again
# is written within seconds, long enough that a dead one costs almost nothing.
FIRST_RETRY = 0.25
LAST_RETRY = 5.0
# The most lines one write takes. The writer thread holds the GIL while it moves, joins
# and frees its lines, from one system call to the next, and a log call that wants the
# GIL meanwhile waits that long: with batches of 8,192 lines or more (half the default
# queue is 25,000) a log call now and then waited over a millisecond; with 4,096, about
# none did, and smaller ones made more calls wait a little (docs/PERFORMANCE.md, "Tail
# latency"). A wake-up writes what waits in as many batches as it takes.
MAX_BATCH = 4096
# How long close() waits for a start of the writer thread under way (see close()).
_START_WAIT = 1.0
_STOP = object()


class Writer:
    """The lines for one file and the thread (or the caller) that writes them.

    Args:
        file: where the lines go.
        size: lines held (queued, or kept through a fault) before the oldest are dropped.
        timeout: seconds a log call waits for room in a full queue while the writer is
            healthy, before the oldest line is dropped.
        interval: seconds a line may wait before the writer thread writes it.
        wake_bytes: waiting bytes that wake the writer thread before ``interval``.
        threaded: write from a daemon thread; False writes in the calling thread.
        report: the sink's fault report, told of each failure and recovery.
        hint: a sentence explaining an error for the person reading stderr.
    """

    def __init__(
        self,
        file: LogFile,
        *,
        size: int,
        timeout: float,
        interval: float,
        wake_bytes: int,
        threaded: bool,
        report: FaultReport,
        hint: Callable[[BaseException], str],
    ) -> None:
        self.file = file
        self.size = size
        self.batch = max(1, min(size // 2, MAX_BATCH))
        self.timeout = timeout
        self.interval = interval
        self.wake_bytes = max(1, wake_bytes)
        self.threaded = threaded
        self.report = report
        self.hint = hint
        self.written = 0
        self.lost = 0
        self.errors = 0
        self._reset()

    def _reset(self) -> None:
        self._lines: deque[object] = deque()
        self._held: list[bytes] = []
        self._markers: list[threading.Event] = []
        self._bytes = 0
        self._woken = False
        self._flush_asked = False
        # What wakes the writer early. A SimpleQueue rather than an Event, whose lock a
        # signal handler could find taken by the very thread it interrupted.
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping: threading.Thread | None = None  # the thread close() waits for
        self._closed = False
        self._start_lock = threading.Lock()
        self._here_lock = threading.RLock()
        self._writing = False
        self.overflow = Overflow(self.report.sink, size=self.size, timeout=self.timeout)
        self._retry_at = 0.0
        self._delay = 0.0
        self._abandoned = False  # a lock held by a thread the interpreter's exit froze
        self._late = LateWrites(self.file, self.report.sink)
        self._errors_said: set[str] = set()

    @property
    def dropped(self) -> int:
        """Lines dropped because the queue was full."""
        return self.overflow.dropped

    @property
    def pending(self) -> int:
        """Lines not yet written: queued, and held through a fault."""
        return len(self._lines) + len(self._held)

    # The calling thread -------------------------------------------------------------

    def put(self, line: bytes) -> None:
        """Queue ``line`` (ending in ``b"\\n"``) for the file; never raises, never blocks long."""
        lines = self._lines
        if len(lines) + len(self._held) >= self.size:
            healthy = self.threaded and not self.report.failing
            self.overflow.make_room(lines, self._held, wait=healthy, hurry=self._hurry)
        lines.append(line)
        if not self.threaded or (self._thread is None and not self._start()):
            self._write_here()
            return
        self._bytes += len(line)  # races lose a count now and then: it only times a wake-up
        if self._bytes >= self.wake_bytes and not self._woken:
            self._hurry()

    def wake(self) -> None:
        """Have the writer thread write what is queued now, not at the next threshold.

        For a caller that knows a burst has ended. Never blocks; a writer already woken
        is not woken twice.
        """
        if self._lines and not self._woken and self.threaded:
            self._hurry()

    def _hurry(self) -> None:
        self._woken = True
        self._wake.put(None)

    def _start(self) -> bool:
        """Start the writer thread; False when it cannot run (closed, or at shutdown).

        The lock is never waited for. ``thread.start()`` waits for the new thread, and
        Python runs signal handlers meanwhile, in this thread: a handler that logs comes
        back here while the frame it interrupted holds the lock, and leaves its line in
        the queue for the thread being started.
        """
        if not self._start_lock.acquire(blocking=False):
            return True
        try:
            if self._thread is not None:
                return True
            if self._closed:
                return False
            thread = threading.Thread(target=self._run, name="dual_log-writer", daemon=True)
            try:
                start_without_signals(thread)
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                return False
            self._thread = thread
            return True
        finally:
            self._start_lock.release()

    def _write_here(self, *, force: bool = False) -> None:
        """Write what waits, in this thread (``queue=False``, or after ``close()``); with
        ``force``, try a failing file now rather than when its backoff allows."""
        stopping = self._stopping
        if stopping is not None and stopping.is_alive():
            # close() is waiting for the writer thread to reach its stop marker: taking
            # that marker here (a signal's flush, a record logged meanwhile) would leave
            # the thread running and close() waiting. What comes now, close() writes.
            return
        if not sys.is_finalizing():
            # A with statement: an exception a signal handler raises right after the
            # lock is taken cannot leave it taken.
            with self._here_lock:
                self._write_all(late=False, force=force)
            return
        if self._abandoned or not self._here_lock.acquire(timeout=LATE_WAIT):
            self._write_late(self._take_queued())
            return
        try:
            self._write_all(late=True, force=force)
        finally:
            self._here_lock.release()

    def _write_all(self, *, late: bool, force: bool) -> None:
        if self._writing:  # a signal handler that logs mid-write: the outer call writes it
            return
        self._writing = True
        try:
            while self._drain(force=force, late=late) and not self._held:
                pass
        finally:
            self._writing = False

    def _write_late(self, lines: list[bytes]) -> None:
        """At interpreter exit, with a lock of this file held by a thread the shutdown froze:
        ``lines`` are written another way, or counted as missed (see ``late``)."""
        self._abandoned = True
        written, lost = self._late.write(lines)
        self.written += written
        self.lost += lost

    def _take_queued(self) -> list[bytes]:
        """Everything queued, markers left out (a flush at exit waits for nothing)."""
        taken: list[bytes] = []
        with contextlib.suppress(IndexError):
            while True:
                item = self._lines.popleft()
                if item.__class__ is bytes:
                    taken.append(item)
                elif isinstance(item, threading.Event):
                    item.set()
        return taken

    # The writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._wait()
                while True:
                    more = self._drain(force=False)
                    if more is None:  # stopped by close()
                        return
                    if not more or self._held:
                        break
            except Exception as exc:  # a bug of dual_log's own: said, counted, and on we go
                self._internal_error(exc)
                # Whatever raised may raise again at once: wait as after a failed write.
                self._delay = min(max(self._delay * 2, FIRST_RETRY), LAST_RETRY)
                time.sleep(self._delay)

    def _internal_error(self, error: BaseException) -> None:
        """Count an exception of dual_log's own; say each kind of it once, with its place."""
        self.errors += 1
        text = f"{describe(error)} at {where(error)}"
        if text in self._errors_said:
            return
        self._errors_said.add(text)
        say(
            f"the writer of {self.report.sink} met an error of dual_log's own and goes on, "
            f"its records held: {text}. Please report it."
        )

    def _wait(self) -> None:
        if self._held:  # a fault: next attempt after the backoff, whatever wakes us
            while self._held and not self._closed and not self._flush_asked:
                left = self._retry_at - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(queue.Empty):
                    self._wake.get(timeout=left)
        else:
            with contextlib.suppress(queue.Empty):
                self._wake.get(timeout=self.interval)
        with contextlib.suppress(queue.Empty):
            while True:
                self._wake.get_nowait()
        self._woken = False
        self._flush_asked = False

    def _drain(self, *, force: bool, late: bool = False) -> bool | None:
        """Take waiting lines behind the held ones, up to a batch, and write them.

        One batch, one lock, one write: every system call is a moment when the writer
        thread must win the GIL back from a busy application, so the fewer, the cheaper
        logging is for it; but not more than ``MAX_BATCH`` lines, so that the stretches
        in between stay short. At most half the queue, so that through a fault the
        newest records still have room beside the held ones.

        Through a fault, held lines are tried again when the backoff allows, or at once
        with ``force``, at the stop marker, or for a flush (whoever flushes asks for a
        try now).

        Returns None when the stop marker was reached, else whether a full batch was
        taken, with more perhaps waiting behind it: only then is the writer to go on at
        once rather than wait for the next threshold.
        """
        held = self._held
        markers = self._markers
        lines = self._lines
        self._bytes = 0
        stop = False
        start = len(held)
        # Moved in one C call, which no signal handler can interrupt (the calling thread
        # drains with queue=False): a line is always either queued or held. It also runs
        # no bytecode, so the writer seldom competes with the application for the GIL.
        # Only this thread removes lines, but a full queue may drop one meanwhile. Flush
        # and stop markers come along, and are sorted out below.
        with contextlib.suppress(IndexError):
            # Once closed, everything: the stop marker may be behind a full held batch.
            count = len(lines) if self._closed else min(len(lines), self.batch - start)
            held.extend(starmap(lines.popleft, repeat((), count)))  # type: ignore[arg-type]
        taken = len(held) - start
        # All of held, not only what came now: an earlier pass may have been cut short
        # between the two steps. In C, and held is empty but in a fault.
        if set(map(type, held)) - {bytes}:
            items = held[:]
            del held[:]
            for position, item in enumerate(items):
                if item.__class__ is bytes:
                    held.append(item)
                elif item is _STOP:
                    stop = True
                    # Whatever came after the stop marker goes back, first in line.
                    lines.extendleft(reversed(items[position + 1 :]))
                    break
                elif isinstance(item, threading.Event):
                    markers.append(item)
        if held and (force or stop or markers or time.monotonic() >= self._retry_at):
            self._attempt(late=late)
        if stop:
            self._finish()
        if markers and (not self._held or self.report.failing):
            # Everything before them was written, or tried on a file known to fail: a
            # flush waits for the file, not for the fault to end.
            for marker in markers:
                marker.set()
            markers.clear()
        if not self._held:
            self.overflow.has_room(len(lines))
        return None if stop else taken >= self.batch

    def _attempt(self, *, late: bool = False) -> None:
        held = self._held
        before = len(held)
        error: BaseException | None
        try:
            error = self.file.append(held, wait=LATE_WAIT if late else None)
        except Exception as exc:  # a bug of dual_log's own: the lines stay held, as in a fault
            self._internal_error(exc)
            error = exc
        count = before - len(held) - self._refused()
        self.written += count
        if error is None:
            if self.report.failing:
                self._recovered(count)
            return
        if late and isinstance(error, Busy):
            self._write_late(held)
            return
        self._delay = min(max(self._delay * 2, FIRST_RETRY), LAST_RETRY)
        self._retry_at = time.monotonic() + self._delay
        if not self.report.failing:
            self.overflow.fault_started()
        self.report.failed(error, 0, self.hint(error))

    def _refused(self) -> int:
        """Lines the file refused as too large for its volume: lost, counted, said."""
        refused = self.file.refused
        if not refused:
            return 0
        self.file.refused = 0
        self.lost += refused
        say(
            f"{records(refused, 'were')} too large to fit on the volume of {self.report.sink}, "
            "even with nothing else on it, and were dropped (counted as missed)."
        )
        return refused

    def _recovered(self, count: int) -> None:
        self._delay = 0.0
        self._retry_at = 0.0
        dropped = self.overflow.fault_ended()
        detail = f"{records(count)} held meanwhile {'is' if count == 1 else 'are'} written now"
        if dropped:
            detail += f"; {dropped} were dropped because the queue was full"
        self.report.succeeded(detail)

    def _finish(self) -> None:
        """At close: what a failing file still holds is given up and counted.

        No waiting for the fault to end: a file that failed its last attempt just now
        is not going to work within a moment, and a program that stops must not hang on
        a volume that is not there. The count is said at exit, in one line for the file
        whatever the number of handlers closed on it (see ``FaultReport.gave_up``).
        """
        if self._held:
            lost = len(self._held)
            self.lost += lost
            self._held.clear()
            self.report.gave_up(lost)

    # Flush, close, fork -------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Write what is queued so far and wait for it, at most ``timeout`` seconds.

        Returns True when all of it is in the file; False when the time ran out, or as
        soon as one try, made at once, found the file still failing (its records are held
        and tried again later).
        """
        thread = self._thread
        if not self.threaded or thread is None or not thread.is_alive():
            stopping = self._stopping
            if stopping is not None and stopping.is_alive():
                if stopping is not threading.current_thread():
                    stopping.join(timeout)  # close() is under way: its writer finishes
            elif self._lines or self._held:
                self._write_here(force=True)
            return not (self._lines or self._held)
        if thread is threading.current_thread():
            return False
        marker = threading.Event()
        self._lines.append(marker)
        self._flush_asked = True  # through a fault: try now, not when the backoff ends
        self._hurry()
        return marker.wait(timeout) and not self._held

    def close(self, timeout: float = 5.0) -> None:
        """Write what waits, stop the thread and close the file (unless the thread is stuck
        past ``timeout``, and still uses it); lines put later are written directly."""
        # Bounded: the only holder is a start of the writer thread, which takes moments,
        # unless it is the frame that a signal handler calling close() interrupted.
        started = self._start_lock.acquire(timeout=_START_WAIT)
        try:
            self._closed = True
            # _stopping before _thread: a flush between the two still sees a writer.
            self._stopping = self._thread
            thread, self._thread = self._thread, None
        finally:
            if started:
                self._start_lock.release()
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._lines.append(_STOP)
            self._hurry()
            thread.join(timeout)
            if thread.is_alive():
                say(
                    f"the writer of {self.report.sink} did not finish within {timeout}s; "
                    f"{self.pending} queued records may be missing"
                )
                return
        late = sys.is_finalizing()
        if not late:
            with self._here_lock:
                self._write_rest(late=False)
            return
        if not self._here_lock.acquire(timeout=LATE_WAIT):
            self._write_late(self._take_queued())
            return
        try:
            self._write_rest(late=True)
        finally:
            self._here_lock.release()

    def _write_rest(self, *, late: bool) -> None:
        """close(): everything left, in this thread; what a failing file holds is given up.

        The file is closed here too, while this thread is marked as writing: a signal
        handler's record then waits in the queue (for the next record, or the exit hook)
        instead of reaching into the file in the middle of its closing.
        """
        self._writing = True
        try:
            while True:
                more = self._drain(force=True, late=late)
                if self._held:
                    self._finish()
                if not more:
                    break
            self.file.close()
        finally:
            self._writing = False

    def after_fork_in_child(self) -> None:
        """Forget the parent's lines and thread: the parent writes what it queued."""
        self.written = self.lost = self.errors = 0
        self._reset()
