"""dual_log's own threads never take the process's signals.

The kernel hands a signal sent to the process (``kill``, ``Pool.terminate()``, a platform
stopping a machine) to any one of its threads that does not block it. Python runs its
signal handlers in the main thread only: when the signal lands on another thread, the C
handler there just marks it, and the main thread runs the Python handler when it next
runs Python code. A main thread blocked in a wait the kernel does not interrupt for it
(``multiprocessing``'s queues, ``time.sleep``) would then never see its SIGTERM: a
``Pool`` worker with dual_log's writer thread ignored ``terminate()`` for good, now and
then. So dual_log's threads start with every signal blocked that the process, not the
thread, receives: those go to the threads the application owns.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

# What the kernel sends to the very thread that caused it: blocking these in a thread
# that then faults would not stop them, only make the fault harder to read.
_SYNCHRONOUS = frozenset(
    getattr(signal, name)
    for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS")
    if hasattr(signal, name)
)


def start_without_signals(thread: threading.Thread) -> None:
    """Start ``thread`` with the process's signals blocked in it from its first instant.

    A new thread takes the signal mask of the thread that starts it: the mask is set in
    this thread around ``thread.start()`` and put back after. A signal that arrives
    meanwhile waits, and is taken by this thread once its mask is back. Without
    ``pthread_sigmask`` (not POSIX), the thread is started as it is.
    """
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return
    blocked = signal.valid_signals() - _SYNCHRONOUS
    before = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
