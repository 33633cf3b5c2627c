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
import os
import stat
import threading
import time
from typing import TYPE_CHECKING

from dual_log._facts import lock_path
from dual_log._write.room import Room
from dual_log._write.rotation import Rotation

try:
    import fcntl
except ImportError:  # Windows: no flock, so no file several processes can share
    fcntl = None  # type: ignore[assignment]

# Whether this platform has the lock that lets processes share the file (see off).
SHARED_FILES = fcntl is not None

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._parsers import Space


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
        self.rotation = Rotation(
            path,
            keep=keep,
            when=when,
            compress=compress,
            max_age_days=max_age_days,
            file_mode=file_mode,
            on_failed=on_rotation_failed,
        )
        self.room = Room(
            self.folder,
            max_bytes=max_bytes,
            keep=keep,
            min_free=min_free,
            on_small_volume=on_small_volume,
        )
        self._fd = -1
        self._lock_fd = -1
        self._identity: tuple[int, int] | None = None
        self._end = -1  # where this process's last write ended, if it is the file's end
        self._landing: tuple[int, int, int] | None = None  # a write under way
        self._lock = threading.Lock()
        self.rotations = 0

    @property
    def refused(self) -> int:
        """Lines refused as longer than the volume could ever hold (see ``Room``)."""
        return self.room.refused

    @refused.setter
    def refused(self, count: int) -> None:
        self.room.refused = count

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
        """Segments a rotation that was killed left aside (see ``Rotation.stranded``)."""
        return self.rotation.stranded()

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
            self.room.measure()  # a volume mounted anew may differ

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
            if regular and size and self.rotation.due_by_time(info.st_mtime):
                size = self._rotate()
            # Unless the file ends where this process's last write ended, look at its
            # last byte: a process killed mid-write may have left a line unfinished.
            if regular and size and size != self._end and os.pread(self._fd, 1, size - 1) != b"\n":
                size += self._write(b"\n")  # a record cut short by a killed process
            total = sum(map(len, lines))
            room = self.room
            if regular and total > room.capacity:  # rare: only then look at each line
                total = room.refuse_oversized(lines)
            if not regular or ((not room.limit or size + total <= room.limit) and room.fits(total)):
                # The common case, in a few C calls: the writer thread holds the GIL for
                # as short a time as it can, so it seldom makes the caller wait. A device
                # has no size to rotate at, and no volume to keep space on.
                self._write_lines(lines, len(lines), size, total, regular=regular)
                return None
            while lines:
                count, group = self._fit(lines, size)
                if not count:
                    size = self._rotate()
                    if not self.rotation.failing:
                        continue
                    # The rename failed (said once): the file grows past its limit.
                    count, group = len(lines), sum(map(len, lines))
                count, group = room.make(lines, count, group, self.rotation.rotated())
                if count:
                    self._write_lines(lines, count, size, group, regular=True)
                    size += group
        except OSError as exc:
            return exc
        return None

    def _fit(self, lines: list[bytes], size: int) -> tuple[int, int]:
        """How many of ``lines`` (and their bytes) the live file, at ``size``, takes before
        it must rotate; an empty file takes at least one line, however long."""
        limit = self.room.limit
        if not limit:
            return len(lines), sum(map(len, lines))
        count = group = 0
        for line in lines:
            if size + group + len(line) > limit and (size or count):
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

    # Rotation -----------------------------------------------------------------------

    def _rotate(self) -> int:
        """Rotate the live file now (lock held); return the size of the file written next.

        With ``keep=0`` the file is emptied in place; if the rename fails (said once by the
        rotation), the file goes on growing and its size is returned.
        """
        if self.keep == 0:
            os.ftruncate(self._fd, 0)
            self.rotations += 1
            return 0
        if not self.rotation.rename_live():
            return os.fstat(self._fd).st_size
        self.rotations += 1
        self._follow_path()
        self.rotation.finish()
        return 0


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
