"""Following a live log file by name, like ``tail -F``, across its rotations (``dual-log tail``).

The file is followed by name. A rotation renames the live file away and the next write
creates a new one under the same name (a new inode). Writers check, under the rotation
lock, that the name still points at the file they hold before each write, so once the
name points elsewhere the old file gets no more lines: it is read to its end, then the
new one from its start. Nothing is lost and nothing printed twice.

Several rotations can happen between two looks (several processes writing fast with a
small ``max_bytes``). The files rotated in between are then ``.1``, ``.2``, ... (maybe
gzipped, so with new inodes): the file followed is found among them by its first line,
and the newer ones are read whole, oldest first, before the new live file.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import IO, TYPE_CHECKING

from dual_log._facts import ROTATED, SEGMENT, TIMED, lock_path

try:
    import fcntl
except ImportError:  # Windows: the files are listed without the writers' lock
    fcntl = None  # type: ignore[assignment]
from dual_log._read.discover import CHUNK, chunks, split_lines, warn

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator


# How many times a rotation is looked at again when the files are seen half-renamed.
RETRIES = 50
# Seconds the reader tries for the writers' lock before it lists the rotated files anyway.
LOCK_WAIT = 2.0


def live_file(path: str) -> str | None:
    """``path`` itself, or for a folder its one live log file (``app.log`` if several)."""
    if not os.path.isdir(path):
        return path
    names = sorted(
        name
        for name in os.listdir(path)
        if name[:1] != "."
        and os.path.isfile(os.path.join(path, name))
        and not (ROTATED.match(name) or TIMED.match(name) or SEGMENT.match(name))
    )
    if len(names) == 1 or "app.log" in names:
        return os.path.join(path, names[0] if len(names) == 1 else "app.log")
    warn(
        f"{path}: name the live file to follow: "
        + (", ".join(names) if names else "there is none in this folder")
    )
    return None


class Follower:
    """Reads one live log file by name, across rotations, handing complete lines on.

    Args:
        path: the live file.
        interval: seconds between looks when there is nothing new.
    """

    def __init__(self, path: str, interval: float) -> None:
        self.path = path
        self.interval = interval
        self.stopped = False
        self._fd: int | None = None
        self._ino: tuple[int, int] = (-1, -1)
        self._head: bytes | None = None
        self._rest = b""
        self._size = 0
        self._lost_warned = False

    @property
    def size(self) -> int:
        """Bytes read so far from the file now followed."""
        return self._size

    def open(self) -> bool:
        """Open the live file; False if it is not there."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        self._adopt(fd)
        return True

    def _adopt(self, fd: int) -> None:
        if self._fd is not None:
            os.close(self._fd)
        info = os.fstat(fd)
        self._fd, self._ino = fd, (info.st_dev, info.st_ino)
        self._head, self._rest, self._size = None, b"", 0

    def close(self) -> None:
        """Close the file followed."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self) -> list[bytes]:
        """The complete lines written since the last call (none if nothing new)."""
        assert self._fd is not None
        parts = [self._rest]
        # At most a few chunks at a time, so a large file is never held whole.
        while len(parts) <= 8 and (data := os.read(self._fd, CHUNK)):
            parts.append(data)
            self._size += len(data)
        if len(parts) == 1:
            return []
        lines = b"".join(parts).split(b"\n")
        self._rest = lines.pop()
        if self._head is None and lines:
            self._head = lines[0]
        return lines

    def drain(self) -> Iterator[bytes]:
        """Every complete line from where ``read`` stopped to the end of the file."""
        while True:
            before = self._size
            yield from self.read()
            if self._size == before:
                return

    def changed(self) -> list[bytes] | None:
        """After ``read`` found nothing: None if the file is still the live one, else the
        last lines of the old file, of any file rotated in between, and the switch done."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:  # renamed away; the next write creates it again
            return None
        if (info.st_dev, info.st_ino) == self._ino:
            if info.st_size < self._size:  # emptied in place (copytruncate): start again
                warn(f"{self.path}: file truncated; reading it from its start")
                assert self._fd is not None
                os.lseek(self._fd, 0, os.SEEK_SET)
                self._rest, self._size = b"", 0
            return None
        lines = list(self.drain())
        if self._rest:  # the old file ends in a line cut short: it is shown as it is
            lines.append(self._rest)
            self._rest = b""
        lines += self._switch()
        return lines

    def _switch(self) -> list[bytes]:
        """Move on to the file now live; return the lines of files rotated in between."""
        head = self._head
        for _ in range(RETRIES):
            with _rotations_held(self.path):
                try:
                    fd: int | None = os.open(self.path, os.O_RDONLY)
                except FileNotFoundError:
                    fd = None
                else:
                    between = self._rotated_after(head)
                    try:
                        info = os.stat(self.path)
                    except FileNotFoundError:
                        info = None
            if fd is None:
                time.sleep(self.interval / 5)
                continue
            fresh = os.fstat(fd)
            steady = info is not None and (info.st_dev, info.st_ino) == (
                fresh.st_dev,
                fresh.st_ino,
            )
            if steady and between is not None:
                self._adopt(fd)
                return _lines_of(between)
            os.close(fd)
            for stream in between or ():
                stream.close()
            time.sleep(self.interval / 5)
        if not self._lost_warned and head is not None:
            self._lost_warned = True
            warn(
                f"{self.path}: the file followed was not found among the rotated files: "
                "records written by rotations in between may be missing here (they are "
                "in the rotated files; dual-log cat reads them)"
            )
        self.open()
        return []

    def _rotated_after(self, head: bytes | None) -> list[IO[bytes]] | None:
        """The rotated files newer than the one whose first line is ``head``, oldest first,
        opened; None if that file is not (yet) among them."""
        if head is None:  # an empty file was rotated: nothing to look for
            return []
        opened: list[IO[bytes]] = []
        seen: set[tuple[int, int]] = set()
        number = 1
        while True:
            stream: IO[bytes] | None = None
            for name in (f"{self.path}.{number}", f"{self.path}.{number}.gz"):
                try:
                    stream = open(name, "rb")  # noqa: SIM115  # returned or closed below
                    break
                except FileNotFoundError:
                    continue
            if stream is None:
                break
            info = os.fstat(stream.fileno())
            if (info.st_dev, info.st_ino) in seen:  # renamed under us: a rotation is under way
                stream.close()
                break
            seen.add((info.st_dev, info.st_ino))
            if _head_of(stream) == head:
                stream.close()
                return opened[::-1]
            opened.append(stream)
            number += 1
        for earlier in opened:
            earlier.close()
        return None


@contextlib.contextmanager
def _rotations_held(path: str) -> Iterator[None]:
    """Keep writers from rotating while the rotated files are listed, if it can be done soon.

    A rotation renames the numbered files one by one, under the writers' lock: listed
    meanwhile, a file may be seen twice or not at all. A shared lock on the same lock
    file keeps them out for the few milliseconds of the listing. It is asked for without
    waiting, again and again for at most ``LOCK_WAIT`` seconds (a writer stopped while
    holding it must not stop the reader); then, or without a lock file (no dual_log
    writer made one), the files are listed as they are and ``_switch`` checks the result.
    """
    if fcntl is None:  # no lock to take (Windows): _switch checks what it lists
        yield
        return
    try:
        fd = os.open(lock_path(path), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.001)
        yield
    finally:
        os.close(fd)  # closing lets go of the lock


def _head_of(stream: IO[bytes]) -> bytes | None:
    found = None
    for line in split_lines(chunks(stream, stream.name)):
        found = line
        break
    stream.seek(0)
    return found


def _lines_of(streams: Iterable[IO[bytes]]) -> list[bytes]:
    lines: list[bytes] = []
    for stream in streams:
        with stream:
            lines.extend(split_lines(chunks(stream, stream.name)))
    return lines
