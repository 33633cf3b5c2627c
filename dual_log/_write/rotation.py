"""Rotation of one log file: the numbered files shift, the live one becomes ``.1``, then
gzip and retention, in one step (loguru's file sink works the same way).

Called by ``LogFile`` with the shared lock held, so one process rotates at a time; each
step tolerates a file another process already moved or deleted. A rename that fails
(a folder that refuses it) is not an error of the write: the file goes on growing, and
``on_failed`` is told once, and once more when a rotation works again.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import time
from typing import TYPE_CHECKING

from dual_log._facts import GZ, STRANDED_AFTER, is_segment_of, rotated_path, rotation_number

if TYPE_CHECKING:
    from collections.abc import Callable

# How a rotated file is copied into gzip: big enough for few system calls, small enough
# to keep memory flat whatever the file's size.
_COPY_CHUNK = 1 << 20
# Periods of time rotation, aligned to UTC; 1970-01-01 was a Thursday (weekday 3).
_PERIODS = {"S": 1, "M": 60, "H": 3600, "D": 86400, "MIDNIGHT": 86400}
_DAY = 86400
_EPOCH_WEEKDAY = 3


def period_start(when: str, now: float) -> float:
    """The start, in UTC, of the rotation period of ``when`` that holds ``now``."""
    if when in _PERIODS:
        length = _PERIODS[when]
        return now - now % length
    day = now - now % _DAY
    weekday = (int(day // _DAY) + _EPOCH_WEEKDAY) % 7
    return day - ((weekday - int(when[1])) % 7) * _DAY


def period_end(when: str, now: float) -> float:
    """The start of the next rotation period after ``now``."""
    start = period_start(when, now)
    return start + (7 * _DAY if when.startswith("W") else _PERIODS[when])


class Rotation:
    """The rotated files of the log ``path``, and how they are made.

    Args:
        path: the live log file (absolute).
        keep: rotated files kept (``app.log.1`` .. ``app.log.<keep>``).
        when: time rotation (``"H"``, ``"MIDNIGHT"``, ``"W0"``...) or None.
        compress: gzip rotated files.
        max_age_days: delete rotated files older than this, or None.
        file_mode: permissions of a gzipped file.
        on_failed: told the error when renaming the live file fails, None when it works
            again.
    """

    def __init__(
        self,
        path: str,
        *,
        keep: int,
        when: str | None,
        compress: bool,
        max_age_days: float | None,
        file_mode: int,
        on_failed: Callable[[OSError | None], None] | None = None,
    ) -> None:
        self.path = path
        self.folder, self.name = os.path.split(path)
        self.keep = keep
        self.when = when
        self.compress = compress
        self.max_age_days = max_age_days
        self.file_mode = file_mode
        self._on_failed = on_failed
        self.failing = False
        self._next_boundary = 0.0

    def due_by_time(self, mtime: float) -> bool:
        """Whether a UTC boundary of ``when`` passed since the file was last written."""
        if self.when is None:
            return False
        now = time.time()
        if now < self._next_boundary:
            return False
        self._next_boundary = period_end(self.when, now)
        # The file was last written in an earlier period: nobody has rotated it yet.
        return mtime < period_start(self.when, now)

    def rename_live(self) -> bool:
        """Shift the numbered files and rename the live one to ``.1``; False if it failed."""
        try:
            self._shift()
            os.rename(self.path, rotated_path(self.path, 1))
        except OSError as exc:
            if not self.failing and self._on_failed is not None:
                self._on_failed(exc)
            self.failing = True
            return False
        if self.failing and self._on_failed is not None:
            self._on_failed(None)
        self.failing = False
        return True

    def finish(self) -> None:
        """After the rename: gzip the new ``.1`` if asked, then apply retention."""
        if self.compress:
            self._gzip(rotated_path(self.path, 1))
        self._prune()

    def rotated(self) -> list[tuple[int, str]]:
        """Rotated files with their numbers, newest first: ``app.log.1(.gz)``, ..."""
        numbered: list[tuple[int, str]] = []
        for name in self._listdir():
            number = rotation_number(name, self.name)
            if number is not None:
                numbered.append((number, os.path.join(self.folder, name)))
        return sorted(numbered)

    def stranded(self) -> list[str]:
        """Segments (``app.log.rotate.<n>``) left aside by a rotation that was killed.

        concurrent-log-handler (and dual_log before it owned its rotation) renames the
        live file to such a name during a rotation; one that has not changed for
        ``STRANDED_AFTER`` seconds belongs to no rotation still going on.
        """
        cutoff = time.time() - STRANDED_AFTER
        found = []
        for name in self._listdir():
            if is_segment_of(name, self.name):
                with contextlib.suppress(OSError):
                    if os.stat(os.path.join(self.folder, name)).st_ctime < cutoff:
                        found.append(os.path.join(self.folder, name))
        return sorted(found)

    def _shift(self) -> None:
        """``app.log.N`` becomes ``.N+1``, oldest first; one at ``keep`` or past it goes.

        One listing of the folder, not a look-up per possible number: ``keep`` may be
        in the thousands.
        """
        for number, path in reversed(self.rotated()):
            gz = path.endswith(GZ)
            if number >= self.keep:
                with contextlib.suppress(FileNotFoundError):  # another process pruned it
                    os.remove(path)
                continue
            # Never leave both app.log.3 and app.log.3.gz.
            with contextlib.suppress(FileNotFoundError):
                os.remove(rotated_path(self.path, number + 1, gz=not gz))
            os.rename(path, rotated_path(self.path, number + 1, gz=gz))

    def _gzip(self, source: str) -> None:
        target = source + GZ
        partial = f"{target}.{os.getpid()}.tmp"
        try:
            with open(source, "rb") as plain:
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                with open(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as packed:
                    shutil.copyfileobj(plain, packed, _COPY_CHUNK)
                    os.fchmod(fd, self.file_mode)
                info = os.stat(source)
            os.utime(partial, (info.st_atime, info.st_mtime))  # its age is the log's age
            os.rename(partial, target)
            os.remove(source)
        except OSError:
            # A full disk mid-compression: app.log.1 stays as it is, uncompressed, and
            # readers take it as it is. Nothing is lost.
            with contextlib.suppress(OSError):
                os.remove(partial)

    def _prune(self) -> None:
        """Delete rotated files beyond ``keep`` (after a smaller ``keep``) or too old."""
        cutoff = None if self.max_age_days is None else time.time() - self.max_age_days * _DAY
        for number, path in self.rotated():
            with contextlib.suppress(OSError):  # another process may delete it first
                if number > self.keep or (cutoff is not None and os.stat(path).st_mtime < cutoff):
                    os.remove(path)

    def _listdir(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except OSError:
            return []
