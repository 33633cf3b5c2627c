"""The stdout sink: what the platform ships over its network pipeline."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import TYPE_CHECKING

from dual_log._formatting import TextFormatter
from dual_log._report import FaultReport

if TYPE_CHECKING:
    from typing import TextIO


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

    @property
    def stream(self) -> TextIO | None:
        """The stream records go to now."""
        return self._stream if self._stream is not None else sys.stdout

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record; count and report a failure instead of raising it."""
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
