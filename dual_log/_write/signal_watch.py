"""A SIGTERM or SIGINT that Python caught but has not handled yet is sent again.

Python runs signal handlers in the main thread, and only when that thread runs Python
code. A signal that arrives just before the main thread blocks in a C call that nothing
interrupts for it (a ``multiprocessing`` queue's lock, waiting for a task) is caught by
Python's C handler, but dual_log's Python handler (the flush, then the default action it
passes the signal on to) waits until that call returns: for a ``Pool`` worker waiting
for a task that never comes, for ever, and ``Pool.terminate()`` with it. Without a
Python handler the kernel's default action would have ended the process at once.

The watcher learns of each signal through Python's wakeup descriptor
(``signal.set_wakeup_fd``), when nothing else in the process uses it, and when dual_log's
handler has not run within a moment, sends the signal once more to the main thread: the
blocked call is interrupted then, and the handler runs. It is one daemon thread per
process, blocked on a pipe, with the process's signals blocked in it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

from dual_log._write.threads import start_without_signals

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

# How long the main thread has to run the handler before the signal is sent again, and
# how many times it is.
GRACE = 0.1
TRIES = 5
_STOP = 0  # no signal has number 0: the byte that ends the watcher


class SignalWatch:
    """The watcher of one process (see the module's docstring).

    Args:
        signals: the signals dual_log handles.
        handled: how many times dual_log's handler has run so far.
        ours: whether dual_log's handler is the one installed for a signal.
    """

    def __init__(
        self,
        signals: Collection[int],
        handled: Callable[[], int],
        ours: Callable[[int], bool],
    ) -> None:
        self.signals = frozenset(signals)
        self._handled = handled
        self._ours = ours
        self._write_fd = -1

    def start(self) -> bool:
        """Watch, from the main thread; False when another part of the program already
        uses the wakeup descriptor (an asyncio loop, a server): it then wakes the main
        thread itself."""
        if self._write_fd >= 0:
            return True
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)  # what set_wakeup_fd needs
        try:
            before = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            before = -2
        if before != -1:
            if before >= 0:
                signal.set_wakeup_fd(before)  # someone else's: theirs again
            os.close(read_fd)
            os.close(write_fd)
            return False
        self._write_fd = write_fd
        thread = threading.Thread(
            target=self._watch,
            args=(read_fd, write_fd, threading.main_thread().ident),
            name="dual_log-signals",
            daemon=True,
        )
        start_without_signals(thread)
        return True

    def stop(self) -> None:
        """Stop watching, from the main thread: the wakeup descriptor is let go if it is
        still ours, and the watcher, woken, closes its pipe."""
        write_fd, self._write_fd = self._write_fd, -1
        if write_fd < 0:
            return
        with contextlib.suppress(ValueError):
            current = signal.set_wakeup_fd(-1)
            if current != write_fd:
                signal.set_wakeup_fd(current)  # replaced since by someone else: leave it
        with contextlib.suppress(OSError):
            os.write(write_fd, bytes([_STOP]))

    def after_fork_in_child(self) -> None:
        """The parent's watcher did not come along: watch anew, with a pipe of our own.

        The inherited descriptors are the child's copies of the parent's pipe, which the
        parent's watcher reads: closed here, and the wakeup descriptor set to the new one.
        """
        if self._write_fd < 0:
            return
        self._write_fd = -1
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        self.start()

    def _watch(self, read_fd: int, write_fd: int, main: int | None) -> None:
        seen = self._handled()
        try:
            while True:
                try:
                    data = os.read(read_fd, 64)
                except InterruptedError:
                    continue
                if not data or _STOP in data:
                    return
                for signum in data:
                    if signum in self.signals:
                        seen = self._nudge(signum, main, seen)
        except Exception:  # nothing here may end the program; the watcher just stops
            return
        finally:
            for fd in (read_fd, write_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _nudge(self, signum: int, main: int | None, seen: int) -> int:
        """Send ``signum`` to the main thread again while dual_log's handler has not run
        since it last did (``seen`` times); return how many times it has run now.

        Compared with the count from before the signal, not from when its byte is read:
        a main thread that was quick has run the handler already by then.
        """
        for _ in range(TRIES):
            handled = self._handled()
            if handled != seen or not self._ours(signum) or main is None:
                return handled
            time.sleep(GRACE)
            if self._handled() != seen:
                return self._handled()
            with contextlib.suppress(OSError):
                signal.pthread_kill(main, signum)
        return self._handled()
