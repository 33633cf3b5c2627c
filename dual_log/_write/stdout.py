"""The stdout sink: what the platform ships over its network pipeline."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import weakref
from typing import TYPE_CHECKING

from dual_log._format.text import TextFormatter
from dual_log._report import FaultReport, say
from dual_log._write.late import LATE_WAIT

# Every stdout sink of this process, for dual_log.stats().
live: weakref.WeakSet[StdoutHandler] = weakref.WeakSet()

if TYPE_CHECKING:
    from typing import TextIO


_FALLBACK = TextFormatter()


class StdoutHandler(logging.Handler):
    """Writes each record to stdout, synchronously, and survives a closed or broken stdout.

    ``sys.stdout`` is looked up at each record rather than bound once, so a stdout that
    is replaced later (a test's capture, a daemon's redirect) is followed. When writing
    fails (a closed stream, a broken pipe), the record is counted in ``missed``, one line
    on stderr says so, and the next record tries again: no traceback per record.

    Args:
        stream: write here instead of the current ``sys.stdout``.
    """

    terminator = "\n"

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream
        self.written = 0
        self.missed = 0
        self.setFormatter(TextFormatter())
        self._faults = FaultReport("stdout", "Records still go to the log file")
        # A pipe whose reader is gone never takes a byte again: remember it, and the error.
        self._broken: object = None
        self._broken_error: BaseException | None = None
        # A record logged by a signal handler while this thread is writing another waits
        # here for it: a buffered stream refuses to be entered twice by one thread.
        self._writing = False
        self._later: list[logging.LogRecord] = []
        self._late_said = False
        live.add(self)

    def format(self, record: logging.LogRecord) -> str:
        """The record's line by this handler's formatter, or, when it was set to None, by
        dual_log's text formatter: logging's own default one would store the message (and
        a traceback) on the record that the other sink also receives."""
        return (self.formatter or _FALLBACK).format(record)

    def stats(self) -> dict[str, int | bool]:
        """This sink's counters now: ``written``, ``missed``, ``failing`` and ``faults``
        (fault episodes)."""
        return {
            "written": self.written,
            "missed": self.missed,
            "failing": self._faults.failing,
            "faults": self._faults.faults,
        }

    @property
    def stream(self) -> TextIO | None:
        """The stream records go to now."""
        return self._stream if self._stream is not None else sys.stdout

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter ``record`` and emit it under the handler's lock, as ``logging`` does;
        at interpreter exit the wait for that lock is bounded (see ``LATE_WAIT``)."""
        if self.filters:
            result = self.filter(record)
            if not result:
                return False
            if isinstance(result, logging.LogRecord):  # Python 3.12: a filter may replace it
                record = result
        lock = self.lock
        if lock is None:
            self.emit(record)
            return True
        if not sys.is_finalizing():
            with lock:
                self.emit(record)
            return True
        if not lock.acquire(timeout=LATE_WAIT if not self._late_said else 0):
            self._write_late(record)
            return True
        try:
            self.emit(record)
        finally:
            lock.release()
        return True

    def _write_late(self, record: logging.LogRecord) -> None:
        """At interpreter exit, with the handler's lock held by a thread the shutdown froze
        (mid-write, perhaps inside the stream's own buffer): the line goes to the stream's
        descriptor directly, past both, or is counted as missed."""
        first = not self._late_said
        self._late_said = True
        try:
            stream = self.stream
            if stream is None:
                raise OSError("sys.stdout is None")
            data = (self.format(record) + self.terminator).encode(
                getattr(stream, "encoding", None) or "utf-8", "backslashreplace"
            )
            fd = stream.fileno()
            while data:
                data = data[os.write(fd, data) :]
            self.written += 1
        except Exception:  # a stream with no descriptor, or a closed one
            self.missed += 1
            if first:
                say(
                    "a record logged during interpreter shutdown could not be written to "
                    "stdout: a thread the shutdown stopped holds the handler's lock."
                )

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record; count and report a failure instead of raising it."""
        if self._writing:  # a signal handler's record, inside this thread's own write
            self._later.append(record)
            return
        self._writing = True
        try:
            self._write(record)
            while self._later:
                self._write(self._later.pop(0))
        finally:
            self._writing = False

    def _write(self, record: logging.LogRecord) -> None:
        stream = self.stream
        if stream is not None and stream is self._broken and self._broken_error is not None:
            self.missed += 1
            self._faults.failed(self._broken_error, 1)
            return
        try:
            line = self.format(record) + self.terminator
            if stream is None:
                raise OSError("sys.stdout is None")
            stream.write(line)
            stream.flush()
        except RecursionError:  # the stdlib idiom: recursion in logging itself is a bug to see
            raise
        except Exception as exc:  # closed stream, EPIPE, ENOSPC on a redirected file...
            self.missed += 1
            self._faults.failed(exc, 1)
            if isinstance(exc, BrokenPipeError):
                self._broken, self._broken_error = stream, exc
                _discard_pending(stream)
        else:
            self.written += 1
            if self._faults.failing:
                self._faults.succeeded()

    def flush(self) -> None:
        """Flush stdout, ignoring a stream that can no longer be flushed."""
        stream = self.stream
        # At exit a closed stdout is no news: emit() has already reported it.
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()

    def __repr__(self) -> str:
        return f"<StdoutHandler ({logging.getLevelName(self.level)})>"


def _discard_pending(stream: object) -> None:
    """Point a stream whose pipe reader is gone at /dev/null.

    The bytes buffered for the dead pipe stay in the stream's buffer, and Python flushes
    ``sys.stdout`` once more at exit: without this, an application that logged after its
    reader went away would end with "Exception ignored ... BrokenPipeError" and exit
    status 120. This is what the ``signal`` module's documentation advises for SIGPIPE.
    Records are no longer written to it (``emit`` counts them as missed).
    """
    with contextlib.suppress(Exception):  # a stream without a descriptor: nothing to do
        fd = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
