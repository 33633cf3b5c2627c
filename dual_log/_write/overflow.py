"""A full queue: wait a little while the writer is healthy, then drop the oldest, counted.

Lines are dropped only when ``size`` of them wait, queued or held. If the writer is
healthy, the log call first waits up to ``timeout`` for room (a burst slowed, not lost);
if the file is failing, or that wait ran out, the *oldest queued* line is dropped to
make room. For a post-mortem, the records that count are the first ones of the fault,
which the writer already holds and keeps, and the newest, which show how it ended; the
middle of a long outage is what goes. The first drop is said on stderr, and so is the
moment the queue has room again, with the number dropped meanwhile.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from dual_log._report import records, say

if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable


class Overflow:
    """The full-queue policy of one writer, and its counts.

    Args:
        sink: how the sink is named in messages.
        size: lines held (queued, or kept through a fault) before the oldest are dropped.
        timeout: seconds a log call waits for room while the writer is healthy.

    Attributes:
        dropped: lines dropped in all.
    """

    def __init__(self, sink: str, *, size: int, timeout: float) -> None:
        self.sink = sink
        self.size = size
        self.timeout = timeout
        self.dropped = 0
        self._dropping = 0  # since the queue last had room
        self._episode = 0  # since the file last worked
        self._stalled = False
        # Reentrant: a signal handler that logs may interrupt this very thread in here.
        self._lock = threading.RLock()

    def make_room(
        self, lines: deque[object], held: list[bytes], *, wait: bool, hurry: Callable[[], None]
    ) -> None:
        """Make room for one more line: wait (if ``wait``: a healthy writer thread that
        ``hurry`` wakes) until fewer than ``size`` lines wait, else drop the oldest queued."""
        if wait and not self._stalled and self.timeout > 0:
            hurry()
            deadline = time.monotonic() + self.timeout
            while len(lines) + len(held) >= self.size:
                if time.monotonic() >= deadline:
                    self._stalled = True
                    break
                time.sleep(0.0005)
            else:
                return
        try:
            oldest = lines.popleft()
        except IndexError:  # the writer took them meanwhile
            return
        if isinstance(oldest, threading.Event):
            oldest.set()  # a flush waiting for lines that are gone now
            return
        with self._lock:
            self.dropped += 1
            self._dropping += 1
            self._episode += 1
            first = self._dropping == 1
        if first:
            say(
                f"the queue for {self.sink} is full ({self.size} records): the oldest queued "
                "records are dropped and counted until it has room. They still go to stdout."
            )

    def has_room(self, queued: int) -> None:
        """After a batch was written: once the queue is half empty, say how many went."""
        if (self._stalled or self._dropping) and queued < self.size // 2:
            self._stalled = False
            with self._lock:
                dropped, self._dropping = self._dropping, 0
            if dropped:
                say(
                    f"the queue for {self.sink} has room again; {records(dropped, 'were')} "
                    "dropped meanwhile."
                )

    def fault_started(self) -> None:
        """A fault of the file begins: count its drops from here."""
        with self._lock:
            self._episode = 0

    def fault_ended(self) -> int:
        """The fault is over: the lines dropped during it."""
        with self._lock:
            dropped, self._episode = self._episode, 0
        return dropped
