"""Counting a log's rotations as they happen (Linux inotify), for ``dual-log tail -f``.

One batch of a writer can rotate a small file several times while it holds the lock, and
with few files kept, the first of them are gone before any reader can look. The reader
then finds the files it can still read, but not how many it missed. The kernel can tell:
every rotation renames the live file to ``.1`` (``app.log`` -> ``app.log.1``), and an
inotify watch on the folder queues each rename, also while the reader is busy or
stopped. ``RotationCounter.take`` counts them.

Elsewhere than on Linux, or when the kernel refuses a watch, there is no counter
(``start`` returns None) and the reader says that records may be missing without a number.
A queue that overflowed makes the count unknown, never wrong.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys

# From <sys/inotify.h>.
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


class RotationCounter:
    """An inotify watch on the folder of ``path``, counting renames of it to ``<path>.1``.

    Owns one file descriptor, closed by ``close``.
    """

    def __init__(self, fd: int, name: str) -> None:
        self._fd = fd
        self._from = name.encode()
        self._to = f"{name}.1".encode()
        self._cookies: set[int] = set()
        self._known = True
        self._dead = False

    @classmethod
    def start(cls, path: str) -> RotationCounter | None:
        """A counter for the log file ``path``, or None where inotify is not to be had."""
        if not sys.platform.startswith("linux"):
            return None
        folder, name = os.path.split(os.path.abspath(path))
        import ctypes  # only here: every dual-log command would pay for it at start

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(folder), IN_MOVED_FROM | IN_MOVED_TO) < 0:
            os.close(fd)
            return None
        return cls(fd, name)

    def take(self) -> int | None:
        """Rotations since the last call, or None if some may have gone uncounted."""
        count = 0
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            count += self._count(data)
        known, self._known = self._known, True
        return count if known and not self._dead else None

    def _count(self, data: bytes) -> int:
        count = offset = 0
        while offset + _EVENT.size <= len(data):
            _, mask, cookie, length = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
            offset += _EVENT.size + length
            if mask & IN_Q_OVERFLOW:  # events were lost
                self._known = False
            elif mask & IN_IGNORED:  # the folder went away: nothing more will be counted
                self._dead = True
            elif mask & IN_MOVED_FROM and name == self._from:
                if len(self._cookies) > 1024:  # renamed out of the folder: never matched
                    self._cookies.clear()
                self._cookies.add(cookie)
            elif mask & IN_MOVED_TO and name == self._to and cookie in self._cookies:
                self._cookies.discard(cookie)
                count += 1
        return count

    def close(self) -> None:
        """Stop watching."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
