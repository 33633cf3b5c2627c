"""The background writer: a bounded queue that one daemon thread drains in batches.

The calling thread only copies the record (message and traceback rendered, see
``_records.snapshot``) and puts it on a ``queue.SimpleQueue``: a C queue whose ``put``
is safe even from a signal handler interrupting another ``put``. The writer thread
takes everything waiting, up to ``BATCH`` records, formats it and writes it with one
locked append, which is what makes the file cheap to share between processes.

Batching: once a record arrives, the writer waits up to ``LINGER`` seconds for more
before writing, unless ``BATCH`` records (or half the queue) are already waiting, or a
flush or close asks for them. So a steady trickle of records is written a batch at a
time instead of waking the writer, and taking the file's lock, once per record: a
``put`` onto a queue nobody is blocked on costs the calling thread no system call.

Overflow policy: when ``size`` records wait, a log call waits up to ``timeout`` seconds
for room, then drops its record and counts it. Once a wait has timed out the writer is
taken as stalled (a hung disk, a lock held by a stopped process) and further records
are dropped at once, without waiting, until the queue is half empty again: a stuck
volume slows no request by more than one ``timeout``. The first drop is said on stderr,
and so is the moment the queue has room again, with the number dropped meanwhile.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import TYPE_CHECKING

from dual_log._report import describe, say

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

BATCH = 512
# Seconds the writer waits, after a first record, for others to join its batch: short
# enough that the file trails stdout by no more than a blink, long enough to gather the
# records of a busy second into a few dozen writes.
LINGER = 0.02
_STOP = object()


class BackgroundWriter:
    """Queues records and writes them from a daemon thread.

    Args:
        write: called in the writer thread with each batch of records, in order.
        size: records the queue holds before the overflow policy applies.
        timeout: seconds a log call waits for room before dropping its record.
        name: the writer thread's name.
        sink: how stderr messages name what is written, e.g. ``"the log file /x.log"``.
    """

    def __init__(
        self,
        write: Callable[[list[logging.LogRecord]], None],
        *,
        size: int,
        timeout: float,
        name: str = "dual_log-writer",
        sink: str = "the log file",
    ) -> None:
        self._write = write
        self.sink = sink
        self.size = size
        self.timeout = timeout
        self.name = name
        self.dropped = 0
        self._closed = False
        # Waiting records that end the writer's lingering at once.
        self._enough = max(1, min(BATCH, size // 2))
        self._reset()

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stalled = False
        self._dropping = 0  # records dropped since the queue last had room; 0: not dropping
        self._count_lock = threading.RLock()
        # What wakes a lingering writer early: a token put by flush(), close() or a log
        # call that finds enough records waiting. A SimpleQueue rather than an Event,
        # whose lock a signal handler could find taken by the very thread it interrupted.
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._woken = False

    @property
    def pending(self) -> int:
        """Records waiting to be written (approximate while the writer runs)."""
        return self._queue.qsize()

    def put(self, record: logging.LogRecord) -> bool:
        """Queue ``record``; return False if the overflow policy dropped it."""
        thread = self._thread
        if thread is None or self._closed:
            if self._closed or not self._start():
                # After close() (records logged during interpreter exit) or where no
                # thread can start, write in the caller's thread rather than lose it.
                self._write([record])
                return True
        elif thread is threading.current_thread():
            # A record logged while a record is being written (a user __str__ that logs)
            # must not wait for the thread that is waiting for it.
            self._queue.put(record)
            return True
        waiting = self._queue.qsize()
        if waiting >= self._enough and not self._woken:
            self._hurry()
        if waiting >= self.size and not self._wait_for_room():
            self._drop()
            return False
        self._queue.put(record)
        return True

    def _drop(self) -> None:
        # Callers do not hold a lock here (FileHandler.handle skips it), so the count
        # takes one; reentrant, for a signal handler that logs while it is held.
        with self._count_lock:
            self.dropped += 1
            self._dropping += 1
            first = self._dropping == 1
        if first:
            say(
                f"the queue for {self.sink} is full ({self.size} records): its writer is "
                "not keeping up, so records are dropped and counted. They still go to stdout."
            )

    def _wait_for_room(self) -> bool:
        if self._stalled or self.timeout <= 0:
            return False
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            time.sleep(0.0005)
            if self._queue.qsize() < self.size:
                return True
        self._stalled = True
        return False

    def _start(self) -> bool:
        with self._start_lock:
            if self._thread is not None:
                return True
            thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                return False
            self._thread = thread
            return True

    def _run(self) -> None:
        source = self._queue
        while True:
            item = source.get()
            if item is not _STOP and not isinstance(item, threading.Event):
                self._linger()
            batch: list[logging.LogRecord] = []
            markers: list[threading.Event] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    batch.append(item)  # type: ignore[arg-type]
                if len(batch) >= BATCH:
                    break
                try:
                    item = source.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._write(batch)
                except Exception as exc:  # the thread must outlive any bug below it
                    say(f"the log file writer failed on a batch of {len(batch)}: {describe(exc)}")
            for marker in markers:
                marker.set()
            if (self._stalled or self._dropping) and source.qsize() < self.size // 2:
                self._stalled = False
                with self._count_lock:
                    dropped, self._dropping = self._dropping, 0
                if dropped:
                    say(
                        f"the queue for {self.sink} has room again; "
                        f"{dropped} records were dropped meanwhile."
                    )
            if stop:
                return

    def _linger(self) -> None:
        """Wait up to ``LINGER`` for a batch to gather, unless woken by ``_hurry``."""
        if self._queue.qsize() < self._enough:
            with contextlib.suppress(queue.Empty):
                self._wake.get(timeout=LINGER)
        # Tokens put meanwhile asked for what the drain that follows writes anyway. A
        # token put between these two steps only makes the next wait end at once.
        with contextlib.suppress(queue.Empty):
            while True:
                self._wake.get_nowait()
        self._woken = False

    def _hurry(self) -> None:
        self._woken = True
        self._wake.put(None)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written; False if ``timeout`` ran out."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        if thread is threading.current_thread():
            return False
        marker = threading.Event()
        self._queue.put(marker)
        self._hurry()
        return marker.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the thread; later records are written directly."""
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._queue.put(_STOP)
            self._hurry()
            thread.join(timeout)
            if thread.is_alive():
                say(
                    f"the log file writer did not finish within {timeout}s; "
                    f"{self._queue.qsize()} queued records may be missing"
                )
                return
        # Records put between the stop marker and the join: write them here.
        leftover: list[logging.LogRecord] = []
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._queue.get_nowait()
                if isinstance(item, threading.Event):
                    item.set()
                elif item is not _STOP:
                    leftover.append(item)  # type: ignore[arg-type]
        if leftover:
            self._write(leftover)

    def after_fork_in_child(self) -> None:
        """Forget the parent's queue and thread: the parent writes what it queued."""
        self.dropped = 0
        self._reset()
