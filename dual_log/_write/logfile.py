"""The log file on the volume: one owner for its descriptors, its lock and its rotation.

Several processes (gunicorn workers) append to one file. Each batch is appended with
``os.write`` to a descriptor opened with ``O_APPEND``, while this process holds an
exclusive ``flock()`` on the lock file beside the log (``.__app.lock`` for ``app.log``:
the lock file and the lock concurrent-log-handler takes, so a process that uses it
directly on the same file, with the same size rotation, is kept out too). Under that
lock, in this order:

1. the path is compared with the open descriptor: if another process rotated the file,
   or it was deleted, the path is opened again;
2. the file rotates when due, before the line that would take it past ``max_bytes``, or
   at a UTC time boundary (``when``): the numbered files shift (``app.log.1`` is the
   newest), the live file becomes ``app.log.1``, is gzipped if asked, and files beyond
   ``keep`` or older than ``max_age_days`` go. One step, right after the rotation, in
   one place (loguru's file sink works the same way);
3. free space is checked against ``min_free``: rotated files go first, oldest first; the
   lines that fit in what is left are written, and the rest wait (``LowSpace``: the
   caller keeps them and tries again later). A line that could not fit even on the
   empty volume is refused, and counted in ``refused``. On a volume too small for two
   files of ``max_bytes`` the file rotates at half of what the volume can hold, so that
   it never fills up with one live file that can neither grow nor rotate: the newest
   half-volume of records is always kept beside the live file;
4. the lines are written; a write cut short (a full disk) is cut back to the last whole
   line, so no part of a record is left behind. A line left unfinished by a process
   killed mid-write is ended before the next one, so it cannot swallow it.

Nothing here logs or prints: errors are returned to the caller, which reports them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import os
import shutil
import stat
import threading
import time
from typing import TYPE_CHECKING

from dual_log._facts import (
    GZ,
    STRANDED_AFTER,
    is_segment_of,
    lock_path,
    rotated_path,
    rotation_number,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._parsers import Space

# How rotate() copies into gzip: big enough to make few system calls, small enough to
# keep memory flat whatever the file size.
_COPY_CHUNK = 1 << 20
# Periods of time rotation, aligned to UTC; 1970-01-01 was a Thursday (weekday 3).
_PERIODS = {"S": 1, "M": 60, "H": 3600, "D": 86400, "MIDNIGHT": 86400}
_DAY = 86400
_EPOCH_WEEKDAY = 3


class LowSpace(OSError):
    """Writing would leave less than ``min_free`` on the volume."""

    def __init__(self, folder: str, free: int, needed: int) -> None:
        super().__init__(
            errno.ENOSPC,
            f"only {free} bytes free on the volume, and min_free keeps {needed}",
            folder,
        )


class NotAFile(OSError):
    """The log path leads to a FIFO, a socket or a block device, not to a file.

    A FIFO opened for reading and writing takes some 64 KiB and then nothing, and what it
    took no one may ever read: writing there would count records as written that are not.
    A character device (``/dev/null``, ``/dev/full``) is written as asked.
    """

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", path)
        self.kind = kind


class Busy(OSError):
    """The file's lock did not come free in the time given (see ``LogFile.append``)."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EWOULDBLOCK, "its lock did not come free in time", path)


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


class LogFile:
    """One log file with its lock file and rotation, opened lazily, reopened after a fault.

    Thread-safe: one lock guards the descriptors, which only this object opens and closes.

    Args:
        path: the log file (absolute).
        max_bytes: rotate before a file would pass this size; 0 for never.
        keep: rotated files kept; 0 empties the live file instead of rotating.
        when: time rotation (``"H"``, ``"MIDNIGHT"``, ``"W0"``...) or None.
        compress: gzip rotated files.
        max_age_days: delete rotated files older than this, or None.
        min_free: free space the volume keeps; what the file may not take.
        file_mode: permissions of the log file, the lock file and rotated files.
        create_dirs: create a missing folder, with ``dir_mode``.
        dir_mode: permissions of the folders it creates.
        on_rotation_failed: called with the error when a rotation's rename fails, and
            with None when a rotation succeeds again.
        on_small_volume: called with the size the file rotates at when the volume is
            too small for two files of ``max_bytes``, each time the file is opened.

    Attributes:
        refused: lines taken off a batch because they could not fit on the volume even
            if it held nothing else: the caller counts them as lost.
        rotations: rotations made by this process.
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
        min_free: Space,
        file_mode: int,
        create_dirs: bool = False,
        dir_mode: int = 0o750,
        on_rotation_failed: Callable[[OSError | None], None] | None = None,
        on_small_volume: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.folder, self.name = os.path.split(path)
        self.lock_path = lock_path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self.when = when
        self.compress = compress
        self.max_age_days = max_age_days
        self.min_free = min_free
        self.file_mode = file_mode
        self.create_dirs = create_dirs
        self.dir_mode = dir_mode
        self._on_rotation_failed = on_rotation_failed
        self._on_small_volume = on_small_volume
        self._rotation_failing = False
        # What the volume can hold (see _measure_volume): the size the file rotates at,
        # and the longest line that could ever fit on it.
        self._limit = max_bytes
        self._capacity = 1 << 62
        self._fd = -1
        self._lock_fd = -1
        self._identity: tuple[int, int] | None = None
        self._end = -1  # where this process's last write ended, if it is the file's end
        self._landing: tuple[int, int, int] | None = None  # a write under way
        self._next_boundary = 0.0
        self._lock = threading.Lock()
        self.rotations = 0
        self.refused = 0

    # Public -------------------------------------------------------------------------

    def append(self, lines: list[bytes], *, wait: float | None = None) -> OSError | None:
        """Append ``lines`` (each ending in ``b"\\n"``), in order, under the shared lock.

        Each line leaves ``lines`` once it is in the file whole, so what is left is what
        did not reach it: after an error, which is returned (None when all were
        written), and also when an exception raised by a signal handler (SystemExit,
        KeyboardInterrupt) cuts the call short. A caller that tries again later writes
        nothing twice and loses nothing. Lines that could never fit on the volume leave
        ``lines`` too, counted in ``refused``.

        Args:
            lines: the lines to write; what is written is taken off.
            wait: seconds to wait at most for this object's lock and the lock file
                (``Busy`` after that); None waits as long as it takes. At interpreter
                exit a thread frozen by the shutdown may hold either for ever.
        """
        if wait is None:
            # A with statement: an exception a signal handler raises right after the
            # lock is taken cannot leave it taken.
            with self._lock:
                return self._append(lines, None)
        if not self._lock.acquire(timeout=wait):
            return Busy(self.path)
        try:
            return self._append(lines, time.monotonic() + wait)
        finally:
            self._lock.release()

    def _append(self, lines: list[bytes], deadline: float | None) -> OSError | None:
        for _ in range(2):
            try:
                self._open()
                if not self._take_lock_file(deadline):
                    return Busy(self.lock_path)
            except OSError as exc:
                self._close()  # a vanished volume: start from scratch next time
                return exc
            try:
                error = self._append_locked(lines)
            except _LockMoved:
                # The folder was deleted and made again: the lock held is on the old
                # lock file, which keeps out no process that opened the new one.
                self._close()  # closing the descriptor lets go of its lock
                continue
            except BaseException:
                self._settle(lines)
                self._close()  # never keep the lock other processes wait for
                raise
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            if error is not None:
                # Let go of the volume: a failing disk must be free to be unmounted,
                # and the next attempt starts from the path, whatever it leads to then.
                self._close()
            return error
        return OSError(errno.ESTALE, "the lock file was replaced twice", self.lock_path)

    def _take_lock_file(self, deadline: float | None) -> bool:
        """Take the exclusive ``flock``: waiting for it, or polling it until ``deadline``."""
        if deadline is None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            return True
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.005)

    def twin(self) -> LogFile:
        """A second ``LogFile`` for the same path and settings, with descriptors and a lock
        of its own: it shares the file with this one as another process would."""
        return LogFile(
            self.path,
            max_bytes=self.max_bytes,
            keep=self.keep,
            when=self.when,
            compress=self.compress,
            max_age_days=self.max_age_days,
            min_free=self.min_free,
            file_mode=self.file_mode,
            create_dirs=self.create_dirs,
            dir_mode=self.dir_mode,
        )

    def close(self) -> None:
        """Close the file and the lock file; the next ``append`` opens them again."""
        with self._lock:
            self._close()

    def after_fork_in_child(self) -> None:
        """Give the child its own descriptors, so its lock excludes its parent's.

        ``flock()`` locks belong to an open file description, which a forked child
        shares with its parent: a lock taken through it would not keep them apart.
        """
        self._lock = threading.Lock()
        self._close()

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

    # Opening ------------------------------------------------------------------------

    def _open(self) -> None:
        if self._fd >= 0 and self._lock_fd >= 0:
            return  # every system call saved is one GIL hand-over fewer for the writer
        if self.create_dirs and not os.path.isdir(self.folder):
            make_folders(self.folder, self.dir_mode)
        if self._lock_fd < 0:
            self._lock_fd = self._open_file(self.lock_path, os.O_RDWR)
        if self._fd < 0:
            self._fd = self._open_file(self.path, os.O_RDWR | os.O_APPEND)
            info = os.fstat(self._fd)
            self._identity = (info.st_dev, info.st_ino)
            self._measure_volume()  # a volume mounted anew may differ

    def _open_file(self, path: str, flags: int) -> int:
        # O_NONBLOCK: a path that links to a FIFO with no reader fails at once instead
        # of blocking; it changes nothing for a regular file.
        fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK, self.file_mode)
        try:
            info = os.fstat(fd)
            kind = _not_a_file(info.st_mode)
            if kind:
                raise NotAFile(path, kind)
            # Only regular files: never the device a log path may link to. The mode is
            # set whatever the umask, as the files of an earlier run may differ.
            if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) != self.file_mode:
                with contextlib.suppress(OSError):  # another user's file: leave it as it is
                    os.fchmod(fd, self.file_mode)
        except OSError:
            os.close(fd)
            raise
        return fd

    def _close(self) -> None:
        self._end = -1
        fd, self._fd = self._fd, -1
        lock_fd, self._lock_fd = self._lock_fd, -1
        self._identity = None
        for descriptor in (fd, lock_fd):
            if descriptor >= 0:
                with contextlib.suppress(OSError):
                    os.close(descriptor)

    def _follow_path(self) -> tuple[bool, os.stat_result]:
        """Follow the path: another process may have rotated or deleted the file.

        Returns whether the file was opened again, and its status: the path's, which is
        the open file's when it was not, and saves asking the descriptor too.
        """
        try:
            info: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            info = None
        if info is not None and (info.st_dev, info.st_ino) == self._identity:
            return False, info
        fd, self._fd = self._fd, -1
        os.close(fd)
        try:
            self._fd = self._open_file(self.path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            if not self.create_dirs:
                raise
            make_folders(self.folder, self.dir_mode)  # the folder was deleted meanwhile
            self._fd = self._open_file(self.path, os.O_RDWR | os.O_APPEND)
        info = os.fstat(self._fd)
        self._identity = (info.st_dev, info.st_ino)
        self._end = -1
        return True, info

    # Writing ------------------------------------------------------------------------

    def _append_locked(self, lines: list[bytes]) -> OSError | None:
        try:
            moved, info = self._follow_path()
            if moved and not _same_file(self._lock_fd, self.lock_path):
                raise _LockMoved
            size = info.st_size
            regular = stat.S_ISREG(info.st_mode)
            if regular and self.when and size and self._time_to_rotate(info.st_mtime):
                size = self._rotate()
            # Unless the file ends where this process's last write ended, look at its
            # last byte: a process killed mid-write may have left a line unfinished.
            if regular and size and size != self._end and os.pread(self._fd, 1, size - 1) != b"\n":
                size += self._write(b"\n")  # a record cut short by a killed process
            total = sum(map(len, lines))
            if regular and total > self._capacity:  # rare: only then look at each line
                total = self._refuse_oversized(lines)
            if not regular or (
                (not self._limit or size + total <= self._limit) and self._room(total)
            ):
                # The common case, in a few C calls: the writer thread holds the GIL for
                # as short a time as it can, so it seldom makes the caller wait. A device
                # has no size to rotate at, and no volume to keep space on.
                self._write_lines(lines, len(lines), size, total, regular=regular)
                return None
            while lines:
                count, group = self._fit(lines, size)
                if not count:
                    size = self._rotate()
                    if not self._rotation_failing:
                        continue
                    # The rename failed (said once): the file grows past its limit.
                    count, group = len(lines), sum(map(len, lines))
                count, group = self._make_room(lines, count, group)
                if count:
                    self._write_lines(lines, count, size, group, regular=True)
                    size += group
        except OSError as exc:
            return exc
        return None

    def _fit(self, lines: list[bytes], size: int) -> tuple[int, int]:
        """How many of ``lines`` (and their bytes) the live file, at ``size``, takes before
        it must rotate; an empty file takes at least one line, however long."""
        if not self._limit:
            return len(lines), sum(map(len, lines))
        count = group = 0
        for line in lines:
            if size + group + len(line) > self._limit and (size or count):
                break
            count += 1
            group += len(line)
        return count, group

    def _write_lines(
        self, lines: list[bytes], count: int, size: int, group_size: int, *, regular: bool
    ) -> None:
        """Write the first ``count`` of ``lines`` at ``size``, then take them off ``lines``."""
        data = b"".join(lines[:count]) if count < len(lines) else b"".join(lines)
        written = 0
        self._end = -1
        # What settle() needs if an exception cuts this short. Only a regular file's size
        # can tell how much of an interrupted write landed; elsewhere the lines are kept.
        self._landing = (size, count, len(lines)) if regular else None
        try:
            while written < len(data):
                written += self._write(data[written:])
        except OSError:
            self._landing = None
            self._keep_whole(lines, count, size, written)
            raise
        del lines[:count]
        self._landing = None
        self._end = size + written

    def _keep_whole(self, lines: list[bytes], count: int, size: int, written: int) -> None:
        """After ``written`` bytes of ``lines[:count]`` landed at ``size``: keep what is whole.

        The file is cut back to the last whole line, so no part of a record stays
        (O_APPEND and the lock mean nobody else wrote after us meanwhile), and the
        whole lines leave ``lines``.
        """
        whole = done = 0
        for line in lines[:count]:
            if whole + len(line) > written:
                break
            whole += len(line)
            done += 1
        if whole != written:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size + whole)
        del lines[:done]

    def _settle(self, lines: list[bytes]) -> None:
        """After an exception from a signal handler: take off ``lines`` what landed anyway.

        It may strike after ``os.write`` returned and before the lines were taken off,
        so the file's size, with the lock still held, says how much landed.
        """
        landing, self._landing = self._landing, None
        if landing is None:
            return
        size, count, length = landing
        if len(lines) != length:  # they were taken off already
            return
        try:
            written = os.fstat(self._fd).st_size - size
        except OSError:  # cannot tell: keep them, the next attempt writes them
            return
        self._keep_whole(lines, count, size, max(0, written))

    def _write(self, data: bytes) -> int:
        written = os.write(self._fd, data)
        if written == 0:  # not expected from a file; never loop on it
            raise OSError(errno.EIO, "the file took no bytes", self.path)
        return written

    # Free space -----------------------------------------------------------------------

    def _volume(self) -> tuple[int, int] | None:
        """The volume's free bytes and the bytes ``min_free`` keeps; None when not asked.

        Asked of the file system for every batch, never cached: the database beside the
        logs takes space at its own pace.
        """
        if not self.min_free:
            return None
        try:
            vfs = os.statvfs(self.folder)
        except OSError:  # a file system that cannot say: write, as without the option
            return None
        keep = self.min_free.bytes_of(vfs.f_frsize * vfs.f_blocks)
        return vfs.f_frsize * vfs.f_bavail, keep

    def _room(self, needed: int) -> bool:
        """Whether ``needed`` bytes can be written without going below ``min_free``."""
        volume = self._volume()
        return volume is None or volume[0] - needed >= volume[1]

    def _make_room(self, lines: list[bytes], count: int, group: int) -> tuple[int, int]:
        """Make room for the first ``count`` of ``lines`` (``group`` bytes) above ``min_free``.

        Rotated files go, oldest first; never the live file, which holds the newest
        records: on a volume that something else (a database) fills, the logs pause
        rather than lose them. Returns how many lines fit then, and their bytes.

        Raises:
            LowSpace: not even the first line fits now; it may once space is freed.
        """
        volume = self._volume()
        if volume is None or volume[0] - group >= volume[1]:
            return count, group
        free, keep = volume
        for _, path in reversed(self._rotated()):  # the oldest first
            with contextlib.suppress(OSError):
                free += os.stat(path).st_size
                os.remove(path)
            if free - group >= keep:
                return count, group
        vfs = os.statvfs(self.folder)
        room = vfs.f_frsize * vfs.f_bavail - keep
        fits = taken = 0
        for line in lines[:count]:
            if taken + len(line) > room:
                break
            fits += 1
            taken += len(line)
        if not fits:
            raise LowSpace(self.folder, vfs.f_frsize * vfs.f_bavail, keep)
        return fits, taken

    def _measure_volume(self) -> None:
        """Work out, when the file is opened, what its volume can hold: the size the file
        rotates at (``_limit``) and the longest line that could ever fit (``_capacity``).

        ``max_bytes`` is the limit unless the volume cannot hold two such files above
        ``min_free``: then half of what it can hold (all of it with ``keep=0``, which
        empties the file instead of rotating it), so the file never fills the volume
        unable to grow or rotate. Rotated files beyond the first then make room for the
        newest, oldest first, as ``min_free`` deletes them anyway.
        """
        self._limit, self._capacity = self.max_bytes, 1 << 62
        try:
            vfs = os.statvfs(self.folder)
        except OSError:
            return
        total = vfs.f_frsize * vfs.f_blocks
        if not total:  # a file system that does not say (some network ones)
            return
        self._capacity = total - (self.min_free.bytes_of(total) if self.min_free else 0)
        limit = max(1, self._capacity // (2 if self.keep else 1))
        if self.max_bytes and limit < self.max_bytes:
            self._limit = limit
            if self._on_small_volume is not None:
                self._on_small_volume(limit)

    def _refuse_oversized(self, lines: list[bytes]) -> int:
        """Take off ``lines`` those longer than the volume could ever hold, counting them
        in ``refused``: held, they would wait for ever and keep every line behind them
        waiting too. Returns the bytes left."""
        kept = [line for line in lines if len(line) <= self._capacity]
        self.refused += len(lines) - len(kept)
        lines[:] = kept
        return sum(map(len, kept))

    # Rotation -----------------------------------------------------------------------

    def _time_to_rotate(self, mtime: float) -> bool:
        assert self.when is not None
        now = time.time()
        if now < self._next_boundary:
            return False
        self._next_boundary = period_end(self.when, now)
        # The file was last written in an earlier period: nobody has rotated it yet.
        return mtime < period_start(self.when, now)

    def _rotate(self) -> int:
        """Rotate the live file now (lock held); return the size of the file written next."""
        if self.keep == 0:
            os.ftruncate(self._fd, 0)
            self.rotations += 1
            return 0
        try:
            self._shift()
            os.rename(self.path, rotated_path(self.path, 1))
        except OSError as exc:
            # The file cannot be renamed (a folder that refuses it): it goes on growing.
            if not self._rotation_failing and self._on_rotation_failed is not None:
                self._on_rotation_failed(exc)
            self._rotation_failing = True
            return os.fstat(self._fd).st_size
        if self._rotation_failing and self._on_rotation_failed is not None:
            self._on_rotation_failed(None)
        self._rotation_failing = False
        self.rotations += 1
        self._follow_path()
        if self.compress:
            self._gzip(rotated_path(self.path, 1))
        self._prune()
        return 0

    def _shift(self) -> None:
        """``app.log.N`` becomes ``.N+1``, oldest first; one at ``keep`` or past it goes.

        One listing of the folder, not a look-up per possible number: ``keep`` may be
        in the thousands.
        """
        for number, path in reversed(self._rotated()):
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
        target = source + ".gz"
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

    def _rotated(self) -> list[tuple[int, str]]:
        """Rotated files with their numbers, newest first: ``app.log.1(.gz)``, ..."""
        numbered: list[tuple[int, str]] = []
        for name in self._listdir():
            number = rotation_number(name, self.name)
            if number is not None:
                numbered.append((number, os.path.join(self.folder, name)))
        return sorted(numbered)

    def _prune(self) -> None:
        """Delete rotated files beyond ``keep`` (after a smaller ``keep``) or too old."""
        cutoff = None if self.max_age_days is None else time.time() - self.max_age_days * _DAY
        for number, path in self._rotated():
            with contextlib.suppress(OSError):  # another process may delete it first
                if number > self.keep or (cutoff is not None and os.stat(path).st_mtime < cutoff):
                    os.remove(path)

    def _listdir(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except OSError:
            return []


def _same_file(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named, opened = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _not_a_file(mode: int) -> str:
    """What a path is if not something to append lines to: ``""`` for a file or device."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return ""


class _LockMoved(Exception):
    """The lock file is not the one the path names any more."""


def make_folders(folder: str, mode: int) -> None:
    """Create ``folder`` and its missing parents, each with ``mode`` whatever the umask.

    ``os.makedirs`` gives the parents it creates 0o777 minus the umask (world-writable
    under umask 0), and masks ``mode`` itself with the umask.
    """
    parent = os.path.dirname(folder)
    if parent and parent != folder and not os.path.isdir(parent):
        make_folders(parent, mode)
    try:
        os.mkdir(folder, mode)
    except FileExistsError:  # another process made it at the same moment, and sets its mode
        return
    os.chmod(folder, mode)
