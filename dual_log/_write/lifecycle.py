"""What happens to file handlers around fork(), SIGTERM/SIGINT and interpreter exit.

- fork() without exec (gunicorn ``--preload``, ``multiprocessing``): the child gets its
  own writer, descriptors and counters (a lock file descriptor shared with the parent
  would not keep the two apart). Records the parent had queued stay the parent's to
  write: none is written twice.
- SIGTERM/SIGINT: what is queued is written, then the signal goes on to the handler
  that was installed before (or to the default action): it is never swallowed. If it
  comes while the file handlers are being closed (the exit flush), it waits until they
  are closed, which is bounded: the flush it would start finds the writer threads gone,
  and passing the signal on at once would end the process in the middle of the writes.
  A second signal meanwhile is passed on at once.
- Normal exit: dual_log's own exit hook writes what is queued and stops the writer
  threads. It must run before ``logging.shutdown``, which closes every handler newest
  first; atexit runs hooks last-registered first, and logging registered its hook when
  it was imported, before dual_log could. A record logged after that is written directly.
- ``multiprocessing`` children started by fork or forkserver end with ``os._exit()``
  after running multiprocessing's own finalizers: atexit hooks never run there, and the
  writer thread, a daemon, would die with its queue. The same exit hook is registered
  as a multiprocessing finalizer, in each child too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Protocol

from dual_log import _report
from dual_log._write.signal_watch import SignalWatch

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


SIGNALS = (signal.SIGTERM, signal.SIGINT)
SIGNAL_FLUSH_SECONDS = 3.0


class Tracked(Protocol):
    """What this module (and ``dual_log.stats()``) needs of a file handler
    (``dual_log.FileHandler``), which imports this module."""

    path: str

    def stats(self) -> dict[str, int | bool]: ...
    def flush(self, timeout: float = ...) -> bool: ...
    def close(self) -> None: ...
    def after_fork_in_child(self) -> None: ...


_live: weakref.WeakSet[Tracked] = weakref.WeakSet()
_hooks_installed = False
_previous: dict[int, Any] = {}
_lock = threading.Lock()
# Who relies on the signal flush: the file handlers of setup() calls, released by
# DualLog.close(); and whoever installed it without saying (a FileHandler built with
# handle_signals=True, an application's own call), which no close() can speak for.
_claims: weakref.WeakSet[Any] = weakref.WeakSet()
_unowned = False
# Closes under way in the main thread, where signal handlers run, and a signal that came
# meanwhile (see closing()).
_closing = 0
_deferred: list[tuple[int, FrameType | None, Any]] = []
# How many times the signal handler has run: the watcher sends a signal again when it has
# not (see signal_watch).
_handled = 0


class _Anchor:
    """What multiprocessing's registries hold a weak reference to."""


_anchor = _Anchor()
_finalizer_pid = 0


def track(handler: Tracked) -> None:
    """Include ``handler`` in fork re-initialisation, signal-time flushes and the exit hook."""
    global _hooks_installed
    with _lock:
        _live.add(handler)
        if not _hooks_installed:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            atexit.register(_close_all)
            _hooks_installed = True
    _close_at_multiprocessing_exit()


def live_handlers() -> list[Tracked]:
    """The file handlers of this process that are not yet garbage."""
    return list(_live)


def _close_at_multiprocessing_exit(anchor: object = None) -> None:
    """Register the exit hook with multiprocessing, once per process, if it is in use."""
    global _finalizer_pid
    util = sys.modules.get("multiprocessing.util")
    if util is None or _finalizer_pid == os.getpid():
        return
    _finalizer_pid = os.getpid()
    util.Finalize(_anchor, _close_all, exitpriority=10)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    _watch.after_fork_in_child()
    for handler in list(_live):
        handler.after_fork_in_child()
    util = sys.modules.get("multiprocessing.util")
    if util is not None and _live:
        # A multiprocessing child clears the finalizers it inherited after this hook has
        # run, then calls its after-fork callbacks: register the exit hook from there.
        util.register_after_fork(_anchor, _close_at_multiprocessing_exit)


def _close_all() -> None:
    with closing():
        for handler in list(_live):
            handler.close()
    _report.say_given_up()


@contextlib.contextmanager
def closing() -> Iterator[None]:
    """Around closing file handlers: a SIGTERM/SIGINT meanwhile waits until they are closed.

    Only in the main thread, where Python runs signal handlers. Nested uses pass the
    signal on when the outermost one ends.
    """
    global _closing
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _closing += 1
    try:
        yield
    finally:
        _closing -= 1
        if not _closing and _deferred:
            signum, frame, previous = _deferred[0]
            _deferred.clear()
            _pass_on(signum, frame, previous)


def flush_all(timeout: float = SIGNAL_FLUSH_SECONDS) -> None:
    """Write what every live file handler has queued, within ``timeout`` in all."""
    deadline = time.monotonic() + timeout
    for handler in list(_live):
        handler.flush(max(0.0, deadline - time.monotonic()))


def install_signal_handlers(owner: object = None) -> bool:
    """Flush queued records on SIGTERM and SIGINT, then pass the signal on.

    Returns False (and changes nothing) outside the main thread, where Python does not
    allow signal handlers to be set. Calling it again changes nothing either. With an
    ``owner``, ``release_signal_handlers(owner)`` undoes it once no one else relies on it;
    without, it stays until ``uninstall_signal_handlers()``.
    """
    global _unowned
    if threading.current_thread() is not threading.main_thread():
        return False
    if owner is None:
        _unowned = True
    else:
        _claims.add(owner)
    for signum in SIGNALS:
        current = signal.getsignal(signum)
        if current is _on_signal:
            continue
        _previous[signum] = current
        signal.signal(signum, _on_signal)
    _watch.start()
    return True


def release_signal_handlers(owner: object) -> None:
    """Drop ``owner``'s claim on the flush; uninstall it if that was the last one."""
    if owner in _claims:
        _claims.discard(owner)
        if not _claims and not _unowned:
            uninstall_signal_handlers()


def uninstall_signal_handlers() -> None:
    """Put back the handlers that were there before, where ours is still installed."""
    global _unowned
    if threading.current_thread() is not threading.main_thread():
        return
    _claims.clear()
    _unowned = False
    for signum, previous in list(_previous.items()):
        if signal.getsignal(signum) is _on_signal:
            signal.signal(signum, previous)
        del _previous[signum]
    _watch.stop()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _handled
    _handled += 1
    # Read now: the close under way may put the previous handlers back meanwhile.
    previous = _previous.get(signum, signal.SIG_DFL)
    if _closing:
        if not _deferred:  # passed on when the close ends: see closing()
            _deferred.append((signum, frame, previous))
            return
        _deferred.clear()  # a second signal: the person who sent it means it, now
    else:
        flush_all()
    _pass_on(signum, frame, previous)


def _pass_on(signum: int, frame: FrameType | None, previous: Any) -> None:
    """Do what the signal would have done without dual_log: ``previous`` handles it."""
    if callable(previous):
        previous(signum, frame)  # e.g. default_int_handler raises KeyboardInterrupt
    elif previous == signal.SIG_DFL:
        # Let the default action (termination by this signal) happen, as if we were
        # never there: the parent sees the same exit status.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    # SIG_IGN: the application chose to ignore it; so do we, after flushing.


# Sends a signal caught but not handled again to the main thread (see signal_watch).
_watch = SignalWatch(
    SIGNALS, lambda: _handled, lambda signum: signal.getsignal(signum) is _on_signal
)
