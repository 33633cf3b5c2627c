"""The stdout sink: what the platform ships over its network pipeline."""

from __future__ import annotations

import contextlib
import logging
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

    @property
    def stream(self) -> TextIO | None:
        """The stream records go to now."""
        return self._stream if self._stream is not None else sys.stdout

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record; count and report a failure instead of raising it."""
        try:
            line = self.format(record) + self.terminator
            stream = self.stream
            if stream is None:
                raise OSError("sys.stdout is None")
            stream.write(line)
            stream.flush()
        except RecursionError:  # the stdlib idiom: recursion in logging itself is a bug to see
            raise
        except Exception as exc:  # closed stream, EPIPE, ENOSPC on a redirected file...
            self.missed += 1
            self._faults.failed(exc, 1)
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
