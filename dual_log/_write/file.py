"""The file sink: the local copy on a volume, which must survive what the network does not.

A record goes one way: formatted in the calling thread (its message, arguments and
traceback are read now, while they are what the caller meant), encoded, handed to the
``Writer`` (``_queue``), which writes batches to the ``LogFile`` (``_logfile``).
"""

from __future__ import annotations

import errno
import logging
import os
from typing import TYPE_CHECKING

from dual_log import _options
from dual_log._format import records as _records
from dual_log._format.json import JsonFormatter
from dual_log._parsers import parse_bool
from dual_log._report import FaultReport, describe, first_in_process_tree, say
from dual_log._write import lifecycle as _lifecycle
from dual_log._write.hints import explain
from dual_log._write.logfile import SHARED_FILES, LogFile
from dual_log._write.off import FileOff
from dual_log._write.writer import Writer

if TYPE_CHECKING:
    from dual_log._parsers import Space

ENCODING = "utf-8"
# Lone surrogates (bytes that were not UTF-8) become \udcXX escapes instead of an error.
ERRORS = "backslashreplace"
# For a handler whose formatter was set to None: logging's own default formatter would
# store the message (and a traceback) on the record that the other sink also receives.
_FALLBACK = JsonFormatter()


class FileHandler(logging.Handler):
    """Writes records to a rotating file that several processes can share.

    A fault of the file (folder missing, read-only, full, deleted; the path taken by a
    folder) never raises into the application and never stops other handlers: one line
    on stderr names the path, the OS error and its likely cause; the records are held,
    in order, and written by themselves once the fault is gone (retried with backoff
    from 0.25 s to 5 s). Only when ``queue_size`` records are held are the oldest queued
    ones dropped, counted in ``missed`` and said on stderr.

    Every argument after ``filename`` is keyword-only and validated at once; sizes and
    modes may be given as text, so a ``dictConfig`` file can name them plainly. An
    argument left out (or None) is read from its ``DUAL_LOG_*`` environment variable, else
    takes the default below, exactly as ``dual_log.setup()`` resolves it; so a static
    config file still follows the environment.

    Args:
        filename: the log file. Default ``DUAL_LOG_PATH``, else ``"/logs/app.log"``. An
            existing folder is refused.
        max_bytes: rotate before the file would pass this size (``10485760``, ``"10MB"``
            (decimal), ``"10 MiB"`` (binary)); 0 turns size rotation off. Default ``"10MiB"``.
        keep: rotated files kept: ``app.log.1`` (newest) to ``app.log.<keep>``. Default 5.
        when: also rotate at UTC time boundaries: ``"S"``, ``"M"``, ``"H"``, ``"D"`` or
            ``"MIDNIGHT"`` (both at 00:00 UTC), ``"W0"``-``"W6"`` (00:00 UTC on Monday to
            Sunday). Rotated files are numbered as for size. Default: size only.
        compress: gzip rotated files (``app.log.1.gz``). Default False.
        max_age_days: at each rotation, also delete rotated files older than this many
            days. Default: none.
        min_free: free space the file never takes from its volume, in bytes
            (``"64MiB"``) or as a share of the volume (``"5%"``); below it the oldest
            rotated files are deleted, then writing pauses (records held) until space is
            freed. 0 turns it off. Default: 5% of the volume, at most 64 MiB.
        queue: write from a background thread, in batches. Default True. False writes
            in the calling thread before the log call returns.
        queue_size: records held for the file (queued, or kept through a fault) before
            the oldest are dropped. Default 50000.
        queue_timeout: seconds a log call waits for room in a full queue while the
            writer is healthy, before the oldest queued record is dropped. Default 1.0.
        flush_interval: seconds a queued record may wait before the writer thread
            writes it. Default 0.25.
        flush_bytes: queued bytes that wake the writer thread before ``flush_interval``.
            Default ``"4MiB"``.
        create_dirs: create a missing folder (with ``dir_mode``). Default False: a
            missing folder usually means an unmounted volume, which is reported, not
            papered over by writing to the container's own disk.
        file_mode: permissions of the log, lock and rotated files. Default ``0o640``.
        dir_mode: permissions of a folder made by ``create_dirs``. Default ``0o750``.
        handle_signals: with a queue, write what is queued on SIGTERM and SIGINT, then
            pass the signal on (see ``dual_log.install_signal_handlers``); only in the
            main thread. Default False here, since the server that builds the handler
            from a config file usually owns the signals; ``setup()`` turns it on.

    Raises:
        ValueError: a bad option value, naming the option and what is allowed.
    """

    # What goes on while the file fails, said in its stderr line; a subclass that has no
    # stdout sink beside it says what holds for it.
    consequence = "Records still go to stdout; the file's are held and written when it works again"

    # Over 60 lines for its signature alone: one keyword per option of the table in
    # _options.py, spelled out so type checkers see them (a test holds the two equal).
    def __init__(
        self,
        filename: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int | str | None = None,
        keep: int | str | None = None,
        when: str | None = None,
        compress: bool | str | None = None,
        max_age_days: float | str | None = None,
        min_free: int | str | Space | None = None,
        queue: bool | str | None = None,
        queue_size: int | str | None = None,
        queue_timeout: float | str | None = None,
        flush_interval: float | str | None = None,
        flush_bytes: int | str | None = None,
        create_dirs: bool | str | None = None,
        file_mode: int | str | None = None,
        dir_mode: int | str | None = None,
        handle_signals: bool | str = False,
    ) -> None:
        super().__init__()
        # The arguments above are the FILE options of the one table (a test holds this
        # signature to it): resolved there, by their keywords, in one call.
        arguments = dict(locals())
        options = _options.resolve_arguments(_options.FILE, arguments)
        signals = parse_bool(handle_signals, "handle_signals")
        self.path = os.path.abspath(options["path"])
        self._faults = FaultReport(f"the log file {self.path}", self.consequence)
        self._file = LogFile(
            self.path,
            max_bytes=options["max_bytes"],
            keep=options["keep"],
            when=options["when"],
            compress=options["compress"],
            max_age_days=options["max_age_days"],
            min_free=options["min_free"],
            file_mode=options["file_mode"],
            create_dirs=options["create_dirs"],
            dir_mode=options["dir_mode"],
            on_rotation_failed=self._rotation_failed,
            on_small_volume=self._small_volume,
        )
        self._writer: Writer | FileOff
        if not SHARED_FILES:
            self._writer = FileOff(f"the log file {self.path}")
            self.setFormatter(JsonFormatter())
            return
        self._writer = Writer(
            self._file,
            size=options["queue_size"],
            timeout=options["queue_timeout"],
            interval=options["flush_interval"],
            wake_bytes=options["flush_bytes"],
            threaded=options["queue"],
            report=self._faults,
            hint=self._hint,
        )
        self.setFormatter(JsonFormatter())
        _lifecycle.track(self)
        if signals and self.queued:
            # Claimed by this handler: the flush goes when no handler needs it any more.
            _lifecycle.install_signal_handlers(owner=self)
        self._report_at_start()

    # Counters -----------------------------------------------------------------------

    @property
    def written(self) -> int:
        """Records written whole to the file by this process (after ``flush()`` in queue mode)."""
        return self._writer.written

    @property
    def missed(self) -> int:
        """Records that never reach the file: dropped from a full queue, or given up at close."""
        return self._writer.dropped + self._writer.lost

    @property
    def dropped(self) -> int:
        """Records dropped because the queue was full (part of ``missed``)."""
        return self._writer.dropped

    @property
    def errors(self) -> int:
        """Exceptions of dual_log's own met while writing (said on stderr; records held)."""
        return self._writer.errors

    def stats(self) -> dict[str, int | bool]:
        """This sink's counters now: ``written``, ``missed`` (``dropped`` + ``lost``),
        ``pending``, ``failing``, ``faults`` (fault episodes) and ``errors``."""
        writer = self._writer
        return {
            "written": writer.written,
            "missed": writer.dropped + writer.lost,
            "dropped": writer.dropped,
            "lost": writer.lost,
            "pending": writer.pending,
            "failing": self._faults.failing,
            "faults": self._faults.faults,
            "errors": writer.errors,
        }

    @property
    def pending(self) -> int:
        """Records not yet written: queued, or held through a fault."""
        return self._writer.pending

    @property
    def failing(self) -> bool:
        """Whether the file is failing now."""
        return self._faults.failing

    @property
    def queued(self) -> bool:
        """Whether records are written from the background thread."""
        return self._writer.threaded

    # logging.Handler ----------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter ``record`` and emit it, without the handler's lock.

        The lock ``logging.Handler.handle`` takes on every call guards nothing here: the
        record is formatted into a new string, and the writer is thread-safe.
        """
        if self.filters:
            result = self.filter(record)
            if not result:
                return False
            if isinstance(result, logging.LogRecord):  # Python 3.12: a filter may replace it
                record = result
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` now and hand its line to the writer."""
        try:
            formatter = self.formatter or _FALLBACK
            try:
                line = formatter.format(record)
            except RecursionError:
                raise
            except Exception as exc:  # a user formatter that raises; ours never do
                line = (
                    f"[dual_log: record not formatted: {type(exc).__name__}] "
                    + _records.escape_text(_records.render_message(record))
                )
            self._writer.put((line + "\n").encode(ENCODING, ERRORS))
        except RecursionError:  # the stdlib idiom: recursion in logging itself is a bug to see
            raise
        except Exception:  # a bug of dual_log's own; still never the application's problem
            self.handleError(record)

    def write_line(self, line: bytes) -> None:
        """Queue one finished line (UTF-8, ending in ``b"\\n"``) as it is, with no record.

        For a caller that has its lines already (``dual-log capture``): they get the
        rotation, fault handling and counters of every record, and pass through no
        formatter, filter or ``logging`` at all.
        """
        self._writer.put(line)

    def write_soon(self) -> None:
        """Write what is queued now rather than at the next threshold; never blocks."""
        self._writer.wake()

    def flush(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Wait until every record so far is written; False if ``timeout`` ran out."""
        return self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is held, stop the writer, close the file; a later record reopens it."""
        with _lifecycle.closing():
            self._writer.close()  # and the file it writes
            _lifecycle.release_signal_handlers(self)
            super().close()

    def __repr__(self) -> str:
        return f"<FileHandler {self.path} ({logging.getLevelName(self.level)})>"

    def after_fork_in_child(self) -> None:
        """Start the child with its own writer and descriptors; the parent writes its own."""
        self._faults.after_fork_in_child()
        self._writer.after_fork_in_child()
        self._file.after_fork_in_child()

    # Formatting and messages --------------------------------------------------------

    def _report_at_start(self) -> None:
        folder = os.path.dirname(self.path)
        if not self._file.create_dirs and not os.path.isdir(folder):
            # Say it at start-up, not at the first record: this is the unmounted volume.
            error = FileNotFoundError(errno.ENOENT, "No such file or directory", folder)
            # Once per program, not once per handler: Django's runserver builds three.
            quiet = not first_in_process_tree(f"missing:{folder}")
            self._faults.failed(error, 0, self._hint(error), quiet=quiet)
        stranded = self._file.stranded()
        if stranded:
            say(
                f"found {', '.join(stranded)}: part of the log left aside by a rotation that "
                "was interrupted (a process killed mid-rotation). Its records are there, "
                "outside the numbered files; dual_log leaves it alone."
            )

    def _rotation_failed(self, error: OSError | None) -> None:
        if error is None:
            say(f"the log file {self.path} rotates again.")
            return
        say(
            f"the log file {self.path} did not rotate: renaming it in "
            f"{os.path.dirname(self.path)} failed ({describe(error)}). Records are still "
            "written to it, past max_bytes."
        )

    def _small_volume(self, limit: int) -> None:
        if first_in_process_tree(f"small volume:{self.path}:{limit}"):
            say(
                f"the volume of {self.path} cannot hold two files of max_bytes="
                f"{self._file.max_bytes} above min_free={self._file.min_free}: the file "
                f"rotates at {limit} bytes, half of what the volume can hold."
            )

    def _hint(self, error: BaseException) -> str:
        """Why ``error`` happened, as far as the folder can tell, for the stderr line."""
        return explain(error, self.path, self._file.create_dirs, self._file.min_free)
