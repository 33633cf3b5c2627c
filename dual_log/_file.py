"""The file sink: the local copy on a volume, which must survive what the network does not."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from dual_log import _lifecycle, _records, _settings
from dual_log._formatting import JsonFormatter, TextFormatter
from dual_log._queue import BackgroundWriter
from dual_log._report import FaultReport, say
from dual_log._rotation import RotatingFile

if TYPE_CHECKING:
    from collections.abc import Sequence

# Backoff between attempts to reopen a failing file: short enough that a volume mounted
# again is written within seconds, long enough that a dead one costs almost nothing.
FIRST_RETRY = 0.25
LAST_RETRY = 5.0
# Largest batch appended at once from the writer thread.
MAX_CHUNK = 1 << 20
# The format methods that copy the record first, which the writer's snapshots can skip.
_COPYING_FORMATS = (JsonFormatter.format, TextFormatter.format)


class FileHandler(logging.Handler):
    """Writes records to a rotating file that several processes can share.

    A fault of the file (folder missing, read-only, full, deleted; the path taken by a
    folder) never raises into the application and never stops other handlers: the
    records the file misses are counted in ``missed``, one line on stderr names the path
    and the OS error, and the file is reopened by itself, with backoff from 0.25 s to
    5 s, once the fault is gone.

    Every argument after ``filename`` is keyword-only and validated at once; sizes and
    modes may be given as text, so a ``dictConfig`` file can name them plainly. An
    argument left out (or None) is read from its ``DUAL_LOG_*`` environment variable, else
    takes the default below, exactly as ``dual_log.setup()`` resolves it; so a static
    config file still follows the environment.

    Args:
        filename: the log file. Default ``DUAL_LOG_PATH``, else ``"/logs/app.log"``.
        max_bytes: rotate when the file reaches this size (``10485760``, ``"10MB"``,
            ``"10 MiB"``); 0 turns size rotation off. Default ``"10MiB"``.
        keep: rotated files kept: ``app.log.1`` (newest) to ``app.log.<keep>``. Default 5.
        when: also rotate by time, as ``TimedRotatingFileHandler`` reads ``when``
            (``"S"``, ``"M"``, ``"H"``, ``"D"``, ``"MIDNIGHT"``, ``"W0"``-``"W6"``; UTC).
            Default: size only.
        compress: gzip rotated files (``app.log.1.gz``). Default False.
        max_age_days: also delete rotated files older than this many days. Default: none.
        queue: write from a background thread; the log call only queues a copy of the
            record. Default True. False writes in the calling thread.
        queue_size: records the queue holds before the overflow policy applies
            (see ``dual_log._queue``). Default 10000.
        queue_timeout: seconds a log call waits for room in a full queue before its
            record is dropped and counted. Default 1.0.
        create_dirs: create a missing folder (with ``dir_mode``). Default False: a
            missing folder usually means an unmounted volume, which is reported, not
            papered over by writing to the container's own disk.
        file_mode: permissions of the log, lock and rotated files. Default ``0o640``.
        dir_mode: permissions of a folder created by ``create_dirs``. Default ``0o750``.
        handle_signals: with a queue, write what is queued on SIGTERM and SIGINT, then
            pass the signal on (see ``dual_log.install_signal_handlers``); only in the
            main thread. Default False here, since the server that builds the handler
            from a config file usually owns the signals; ``setup()`` turns it on.

    Raises:
        ValueError: a bad option value, naming the option and what is allowed.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int | str | None = None,
        keep: int | str | None = None,
        when: str | None = None,
        compress: bool | str | None = None,
        max_age_days: float | str | None = None,
        queue: bool | str | None = None,
        queue_size: int | str | None = None,
        queue_timeout: float | str | None = None,
        create_dirs: bool | str | None = None,
        file_mode: int | str | None = None,
        dir_mode: int | str | None = None,
        handle_signals: bool | str = False,
    ) -> None:
        super().__init__()
        options = _settings.resolve(
            {
                "path": filename,
                "max_bytes": max_bytes,
                "keep": keep,
                "when": when,
                "compress": compress,
                "max_age_days": max_age_days,
                "queue": queue,
                "queue_size": queue_size,
                "queue_timeout": queue_timeout,
                "create_dirs": create_dirs,
                "file_mode": file_mode,
                "dir_mode": dir_mode,
            }
        )
        self.path = os.path.abspath(options["path"])
        self.create_dirs: bool = options["create_dirs"]
        self.dir_mode: int = options["dir_mode"]
        self._file = RotatingFile(
            self.path,
            max_bytes=options["max_bytes"],
            keep=options["keep"],
            when=options["when"],
            compress=options["compress"],
            max_age_days=options["max_age_days"],
            file_mode=options["file_mode"],
        )
        max_size = self._file.max_bytes
        self._chunk_bytes = min(MAX_CHUNK, max(1, max_size // 8)) if max_size else MAX_CHUNK
        self._writer: BackgroundWriter | None = None
        if options["queue"]:
            self._writer = BackgroundWriter(
                self._write_records,
                size=options["queue_size"],
                timeout=options["queue_timeout"],
                sink=f"the log file {self.path}",
            )
        if _settings.parse_bool(handle_signals, "handle_signals") and self._writer is not None:
            _lifecycle.install_signal_handlers()
        self.setFormatter(JsonFormatter())
        self.written = 0
        self._missed = 0
        self._io_lock = threading.Lock()
        self._retry_at = 0.0
        self._delay = 0.0
        self._error: BaseException | None = None
        self._rotation_stuck = False
        self._faults = FaultReport(
            f"the log file {self.path}", "Records still go to stdout; dual_log retries by itself"
        )
        _lifecycle.track(self)
        folder = os.path.dirname(self.path)
        if not self.create_dirs and not os.path.isdir(folder):
            # Say it at start-up, not at the first record: this is the unmounted volume.
            self._faults.failed(
                FileNotFoundError(2, "No such file or directory", folder), 0, self._hint()
            )

    # Counters -----------------------------------------------------------------------

    @property
    def missed(self) -> int:
        """Records that did not reach the file: write faults plus queue overflow."""
        return self._missed + self.dropped

    @property
    def dropped(self) -> int:
        """Records the full queue's overflow policy dropped (part of ``missed``)."""
        return self._writer.dropped if self._writer is not None else 0

    @property
    def failing(self) -> bool:
        """Whether the file is failing now."""
        return self._faults.failing

    @property
    def queued(self) -> bool:
        """Whether records are written from the background thread."""
        return self._writer is not None

    # logging.Handler ----------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter ``record`` and emit it; with a queue, without taking the handler's lock.

        Queueing needs no lock: the copy is the caller's own and the queue is
        thread-safe, so the lock round-trip ``logging.Handler.handle`` makes on every
        log call is skipped. Writing in the calling thread takes it as usual.
        """
        if self._writer is None or self.filters:
            return bool(super().handle(record))
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` now, or queue a copy of it for the writer thread."""
        try:
            if self._writer is not None:
                redactor = getattr(self.formatter, "redactor", None)
                self._writer.put(_records.snapshot(record, redactor))
            else:
                self._write_lines([self._format(record)])
        except RecursionError:  # the stdlib idiom: recursion in logging itself is a bug to see
            raise
        except Exception:  # a bug of dual_log's own; still never the application's problem
            self.handleError(record)

    def flush(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Wait until every queued record is written; False if ``timeout`` ran out."""
        if self._writer is None:
            return True
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued, then close the file; a later record reopens it."""
        if self._writer is not None:
            self._writer.close()
        with self._io_lock:
            self._file.close()
        super().close()

    def __repr__(self) -> str:
        return f"<FileHandler {self.path} ({logging.getLevelName(self.level)})>"

    # Writing ------------------------------------------------------------------------

    def _format(self, record: logging.LogRecord) -> str:
        try:
            return self.format(record)
        except Exception as exc:  # a user formatter that raises; ours never do
            return (
                f"[dual_log: record not formatted: {type(exc).__name__}] "
                + _records.escape_text(_records.render_message(record))
            )

    def _format_snapshot(self, record: logging.LogRecord) -> str:
        # The writer's records are snapshots no one else holds: dual_log's formatters may
        # format them as they are, without the copy they make of a caller's record. The
        # snapshot was redacted with the formatter's redactor when it was queued; with
        # redaction on, the full path redacts again in case the formatter was replaced.
        formatter = self.formatter
        if (
            isinstance(formatter, (JsonFormatter, TextFormatter))
            and type(formatter).format in _COPYING_FORMATS
            and formatter.redactor is None
        ):
            try:
                return formatter.format_copy(record)
            except Exception:  # not expected (format_copy catches); the full path falls back
                return self._format(record)
        return self._format(record)

    def _write_records(self, records: list[logging.LogRecord]) -> None:
        lines = [self._format_snapshot(r) for r in records]
        # A batch is appended under one lock, after one rotation check: cut it so the
        # file overshoots max_bytes by a fraction of it, not by a whole queue.
        limit = self._chunk_bytes
        start = 0
        size = 0
        for end, line in enumerate(lines):
            size += len(line) + 1
            if size >= limit:
                self._write_lines(lines[start : end + 1])
                start = end + 1
                size = 0
        if start < len(lines):
            self._write_lines(lines[start:])

    def _write_lines(self, lines: Sequence[str]) -> None:
        with self._io_lock:
            now = time.monotonic()
            if now < self._retry_at and self._error is not None:
                self._missed += len(lines)
                self._faults.failed(self._error, len(lines))
                return
            try:
                self._ensure_folder()
                self._file.append(lines)
            except Exception as exc:  # OSError above all; whatever it is, count and go on
                done = self._file.complete(lines)
                self.written += done
                self._missed += len(lines) - done
                self._file.close()
                self._error = exc
                self._delay = min(max(self._delay * 2, FIRST_RETRY), LAST_RETRY)
                self._retry_at = now + self._delay
                self._faults.failed(exc, len(lines) - done, self._hint())
            else:
                self.written += len(lines)
                self._error = None
                self._delay = 0.0
                if self._faults.failing:
                    self._faults.succeeded()
                self._check_rotation()

    def _check_rotation(self) -> None:
        """Say once when the file stopped rotating, and once when it rotates again."""
        size = self._file.overdue
        if size and not self._rotation_stuck:
            self._rotation_stuck = True
            say(
                f"the log file {self.path} did not rotate: it is {size} bytes, at or past "
                f"max_bytes={self._file.max_bytes}, and renaming it in "
                f"{os.path.dirname(self.path)} failed (can this process rename files "
                "there?). Records are still written to it."
            )
        elif not size and self._rotation_stuck:
            self._rotation_stuck = False
            say(f"the log file {self.path} rotates again.")

    def _ensure_folder(self) -> None:
        folder = os.path.dirname(self.path)
        if self.create_dirs and not os.path.isdir(folder):
            _make_folders(folder, self.dir_mode)

    def _hint(self) -> str:
        folder = os.path.dirname(self.path)
        if os.path.isdir(folder):
            return ""
        if self.create_dirs:
            return f" The folder {folder} is missing and could not be created."
        return (
            f" The folder {folder} does not exist: is the volume mounted? "
            "(dual_log does not create it unless create_dirs=True.)"
        )

    def after_fork_in_child(self) -> None:
        """Start the child with its own locks, queue and counters; the file is shared."""
        self._io_lock = threading.Lock()
        self._faults.after_fork_in_child()
        self.written = 0
        self._missed = 0
        if self._writer is not None:
            self._writer.after_fork_in_child()


def _make_folders(folder: str, mode: int) -> None:
    """Create ``folder`` and its missing parents, each with ``mode`` whatever the umask.

    ``os.makedirs`` gives the parents it creates 0o777 minus the umask (world-writable
    under umask 0), and masks ``mode`` itself with the umask.
    """
    parent = os.path.dirname(folder)
    if parent and parent != folder and not os.path.isdir(parent):
        _make_folders(parent, mode)
    try:
        os.mkdir(folder, mode)
    except FileExistsError:  # another process made it at the same moment, and sets its mode
        return
    os.chmod(folder, mode)
