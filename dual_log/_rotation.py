"""The rotating file on the volume, as concurrent-log-handler rotates it.

concurrent-log-handler takes an exclusive lock on a lock file around each rotation
check and write, so several processes (gunicorn workers) can share one file and one
rotation. dual_log hands it pre-formatted text, a whole batch at a time, and replaces
its ``do_write`` with a single ``os.write`` of the encoded batch: nothing sits in a
Python buffer (so a ``fork()`` cannot copy half a record into a child), and after a
failed write dual_log knows exactly how many bytes, and so which records, reached the
disk. Retention by age, which concurrent-log-handler lacks, is done here too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from typing import TYPE_CHECKING, Any

from concurrent_log_handler import (
    ConcurrentRotatingFileHandler,
    ConcurrentTimedRotatingFileHandler,
)

from dual_log._report import say

if TYPE_CHECKING:
    from collections.abc import Sequence

ENCODING = "utf-8"
# Seconds after which a "<file>.rotate.<n>" segment is taken as left by a dead rotation.
STRANDED_AFTER = 60.0
# Lone surrogates (bytes that were not UTF-8) become \udcXX escapes instead of an error.
ERRORS = "backslashreplace"


def _reraise(self: logging.Handler, record: logging.LogRecord) -> None:
    # concurrent-log-handler calls handleError() inside its ``except`` block; raising
    # again hands the error to dual_log, which counts and reports it once.
    raise


class _SizeRotating(ConcurrentRotatingFileHandler):
    handleError = _reraise


class _TimeRotating(ConcurrentTimedRotatingFileHandler):
    handleError = _reraise


class _Passthrough(logging.Formatter):
    """The batch arrives formatted; the rotating handler writes it as it is."""

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)


def _regular_files_only(chmod: Any) -> Any:
    """Wrap concurrent-log-handler's chmod so it never touches what a log path links to.

    ``os.chmod`` follows symlinks: a log path linked to ``/dev/full``, ``/dev/null`` or a
    FIFO would otherwise have that device's permissions changed (for every user of the
    machine, when run as root). ``file_mode`` is for the regular files dual_log writes.
    """

    def do_chown_and_chmod(filename: str) -> None:
        try:
            regular = stat.S_ISREG(os.stat(filename).st_mode)
        except OSError:  # gone again: nothing to change
            return
        if regular:
            chmod(filename)

    return do_chown_and_chmod


class RotatingFile:
    """One log file with its rotation, opened lazily and reopened after a fault.

    Args:
        path: the log file.
        max_bytes: rotate at this size; 0 for never.
        keep: rotated files kept.
        when: time rotation (``"H"``, ``"MIDNIGHT"``, ...) or None.
        compress: gzip rotated files.
        max_age_days: delete rotated files older than this, or None.
        file_mode: permissions of the file, its lock file and rotated files.
    """

    def __init__(
        self,
        path: str,
        *,
        max_bytes: int,
        keep: int,
        when: str | None,
        compress: bool,
        max_age_days: float | None,
        file_mode: int,
    ) -> None:
        self.path = os.path.abspath(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self.when = when
        self.compress = compress
        self.max_age_days = max_age_days
        self.file_mode = file_mode
        self.bytes_out = 0
        self.prefix = 0
        self.overdue = 0
        self._stranded_reported: list[str] = []
        self._handler: logging.Handler | None = None
        self._target: Any = None
        self._rollovers = 0
        # One private record carries every batch: the rotating handler only reads its msg.
        self._batch = logging.LogRecord("dual_log", logging.INFO, "", 0, "", None, None)

    @property
    def rollovers(self) -> int:
        """Rotations this process has done since the file was (re)opened."""
        return int(getattr(self._target, "num_rollovers", 0))

    def _open(self) -> logging.Handler:
        common: dict[str, Any] = {
            "maxBytes": self.max_bytes,
            "backupCount": self.keep,
            "encoding": ENCODING,
            "use_gzip": self.compress,
            "chmod": self.file_mode,
        }
        handler: logging.Handler
        if self.when:
            # The timed handler reads and writes its next rollover time in the lock file
            # here already, so a missing folder fails now and is handled as any fault.
            handler = _TimeRotating(self.path, when=self.when, utc=True, **common)
            target = handler.clh
        else:
            handler = _SizeRotating(self.path, **common)
            target = handler
        # Opened readable too, so the writer can see whether the file ends mid-line.
        target.mode = "a+"
        target.do_write = self._make_writer(target)  # type: ignore[method-assign]
        target._do_chown_and_chmod = _regular_files_only(target._do_chown_and_chmod)  # type: ignore[method-assign]
        handler.setFormatter(_Passthrough())
        self._target = target
        self._rollovers = 0
        self.prune()
        self._report_stranded()
        return handler

    def stranded(self) -> list[str]:
        """Segments a rotation killed half-way left as ``<file>.rotate.<n>``.

        concurrent-log-handler renames the live file to such a name, then to ``.1``, with
        its lock held; a segment whose inode has not changed for ``STRANDED_AFTER``
        seconds belongs to no rotation still going on.
        """
        folder, base = os.path.split(self.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        cutoff = time.time() - STRANDED_AFTER
        found = []
        for name in sorted(names):
            if name.startswith(base + ".rotate."):
                with contextlib.suppress(OSError):
                    if os.stat(os.path.join(folder, name)).st_ctime < cutoff:
                        found.append(os.path.join(folder, name))
        return found

    def _report_stranded(self) -> None:
        found = self.stranded()
        if found and found != self._stranded_reported:
            self._stranded_reported = found
            say(
                f"found {', '.join(found)}: part of the log left aside by a rotation that "
                "was interrupted (a process killed mid-rotation). Its records are there, "
                "outside the numbered files; dual_log leaves it alone."
            )

    def _make_writer(self, target: Any) -> Any:
        def do_write(message: str) -> None:
            # Called by concurrent-log-handler with its lock held.
            if target.stream is None or target.stream.closed:
                target.stream = target.do_open()
            fd = target.stream.fileno()
            data = (message + target.terminator).encode(ENCODING, ERRORS)
            self.prefix = 0
            size = os.fstat(fd).st_size
            # concurrent-log-handler has just checked, under this same lock, whether the
            # file is due to rotate; if it still is, its rotation failed (a rename the
            # folder refused) and it carries on in the same file without a word.
            self.overdue = size if self.max_bytes and size >= self.max_bytes else 0
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # A write that failed half-way (disk full) left a fragment: start on a
                # new line so the fragment cannot swallow this record.
                data = b"\n" + data
                self.prefix = 1
            view = memoryview(data)
            done = 0
            try:
                while done < len(data):
                    done += os.write(fd, view[done:])
            finally:
                self.bytes_out = done

        return do_write

    def append(self, lines: Sequence[str]) -> None:
        """Write ``lines`` as one batch, rotating first if due.

        Raises:
            OSError: and any other error of the file; ``complete()`` then tells how many
                of ``lines`` reached the file whole.
        """
        self.bytes_out = 0
        self.prefix = 0
        if self._handler is None:
            self._handler = self._open()
        self._batch.msg = "\n".join(lines)
        self._handler.emit(self._batch)
        if self.max_age_days is not None and self.rollovers != self._rollovers:
            self._rollovers = self.rollovers
            self.prune()

    def complete(self, lines: Sequence[str]) -> int:
        """How many of ``lines``, from the first, the last ``append`` wrote whole."""
        out = self.bytes_out - self.prefix
        count = 0
        end = 0
        for line in lines:
            end += len(line.encode(ENCODING, ERRORS)) + 1
            if end > out:
                break
            count += 1
        return count

    def prune(self) -> None:
        """Delete rotated files older than ``max_age_days``; the live file is never touched."""
        if self.max_age_days is None:
            return
        folder, base = os.path.split(self.path)
        cutoff = time.time() - self.max_age_days * 86400
        try:
            names = os.listdir(folder)
        except OSError:
            return
        for name in names:
            if not name.startswith(base + ".") or ".rotate." in name:
                continue
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):  # another process may prune the same file
                if os.stat(path).st_mtime < cutoff:
                    os.remove(path)

    def close(self) -> None:
        """Close the file and its lock file; the next ``append`` opens them again."""
        handler, self._handler, self._target = self._handler, None, None
        if handler is not None:
            with contextlib.suppress(Exception):  # a stream on a vanished volume
                handler.close()
