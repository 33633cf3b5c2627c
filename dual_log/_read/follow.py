"""Following a live log file by name, like ``tail -F``, across its rotations (``dual-log tail``).

The file is followed by name and read through a descriptor held open. A rotation renames
the live file away and the next write creates a new one under the same name (a new inode).
Writers rotate and write under an exclusive lock on the lock file, checking before each
write that the name still points at the file they hold, so once the name points elsewhere
the old file gets no more lines: it is read to its end through the descriptor (also if it
was compressed and removed meanwhile), then the files rotated after it, then the new one.

Several rotations can happen between two looks (several processes writing fast with a
small ``max_bytes``). Files are told apart by their first line, which a rotation or its
compression does not change. At each switch, holding a shared lock on the lock file for
the few milliseconds it takes (so no rotation is half done), the rotated files are opened
newest first (``.1``, ``.2``, ... maybe ``.gz``) down to the one followed, or to one read
or present before; the newer ones are read whole, oldest first, before the new live file.
Nothing is lost and nothing printed twice. Before the live file exists, or during a
rotation, the follower waits; every file rotated after it started is read once it appears.

A file rotated past ``keep`` before the reader could open it is gone. On Linux the
rotations are counted as they happen (``watch``), so the reader knows how many files it
missed and reports a ``Gap``; elsewhere it can only say that records may be missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import IO, TYPE_CHECKING

from dual_log._facts import ROTATED, SEGMENT, TIMED, lock_path, rotation_number

try:
    import fcntl
except ImportError:  # Windows: the files are listed without the writers' lock
    fcntl = None  # type: ignore[assignment]
from dual_log._read.discover import CHUNK, chunks, line_lists, warn
from dual_log._read.watch import RotationCounter

if TYPE_CHECKING:
    from collections.abc import Iterator

# How many times a switch is tried again when the files are seen half-renamed.
RETRIES = 50
# Seconds the reader tries for the writers' lock before it lists the rotated files anyway.
LOCK_WAIT = 2.0
# First lines of files read (or there before the start) remembered, newest last.
KNOWN = 256
# The longest first line looked for (a longer one is compared by its start).
HEAD_LIMIT = 1 << 20


# A rotated file, open, and its first line.
_Rotated = tuple[IO[bytes], "bytes | None"]


@dataclasses.dataclass
class Gap:
    """Files rotated past ``keep`` before they could be read.

    Attributes:
        files: how many (None: not known here; some may be).
        records: about how many records they held, at the lines per file read so far.
    """

    files: int | None
    records: int | None


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
    """Reads one live log file by name, across rotations, handing on lists of whole lines.

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
        self._rest = b""
        self._offset = 0
        self._lines = 0  # lines read of the current file, when read from its start
        self._per_file: int | None = None  # lines of the last whole file read
        self._known: dict[bytes, None] = {}
        self._rotations = 0
        self._counter: RotationCounter | None = None
        self._counted = False  # whether the counter saw every rotation since the start
        self.rotated_before = False  # whether a rotated file was there at the start

    # Starting --------------------------------------------------------------------

    def begin(self) -> bool:
        """Open the live file, and take note of the newest rotated file; False if the live
        file is not there (yet, or for a moment during a rotation)."""
        self._counter = RotationCounter.start(self.path)
        self._counted = self._counter is not None
        with _rotations_held(self.path):
            if self._counter is not None:
                self._counter.take()  # rotations before this look are not missed ones
            fd = _open(self.path)
            newest = next(self._rotated(), None)
        if newest is not None:
            self.rotated_before = True
            self._remember(_head_of(newest))
            newest.close()
        if fd is None:
            return False
        self._adopt(fd)
        return True

    def previous(self) -> Iterator[list[bytes]]:
        """Lines of the newest rotated file (for ``-n`` when the live file holds too few)."""
        stream = next(self._rotated(), None)
        if stream is not None:
            with stream:
                yield from line_lists(chunks(stream, stream.name))

    def skip(self) -> None:
        """Go to the end of the live file: only what is written from now on is read."""
        if self._fd is not None:
            self._offset = os.lseek(self._fd, 0, os.SEEK_END)
            self._rest, self._lines = b"", -1  # the count of lines is not known now

    # Reading ---------------------------------------------------------------------

    def poll(self) -> Iterator[list[bytes] | Gap]:
        """Lists of the lines written since the last look, in the order written, across
        any rotation meanwhile; a ``Gap`` where files went before they could be read."""
        if self._fd is None:
            if os.path.lexists(self.path):
                yield from self._switch()
            return
        yield from self._drain()
        try:
            info = os.stat(self.path)
        except FileNotFoundError:  # renamed away; the next write creates it again
            return
        if (info.st_dev, info.st_ino) != self._ino:
            yield from self._switch()
        elif info.st_size < self._offset:  # emptied in place (copytruncate): start again
            warn(f"{self.path}: file truncated; reading it from its start")
            self._offset = os.lseek(self._fd, 0, os.SEEK_SET)
            self._rest, self._lines = b"", 0
            yield from self._drain()

    def _drain(self) -> Iterator[list[bytes]]:
        """The whole lines of the current file from where reading stopped."""
        assert self._fd is not None
        while data := os.read(self._fd, CHUNK):
            self._offset += len(data)
            lines = data.split(b"\n")
            if self._rest:
                lines[0] = self._rest + lines[0]
            self._rest = lines.pop()
            if lines:
                if self._lines >= 0:
                    self._lines += len(lines)
                yield lines

    def _switch(self) -> Iterator[list[bytes] | Gap]:
        """Finish the file followed, read the files rotated after it, open the new one."""
        head = None
        if self._fd is not None:
            yield from self._drain()
            if self._rest:  # the old file ends in a line cut short: it is shown as it is
                yield [self._rest]
            head = _first_line(self._fd)
            if self._lines > 0:
                self._per_file = self._lines
            self.close()
            self._remember(head)  # where the next look stops, should this one fail
        fd, newer, reached = self._list(head)
        if fd is None:
            return
        gap = self._gap(head, len(newer), reached)
        if gap is not None:
            yield gap
        for stream, first in newer:
            with stream:
                count = 0
                for lines in line_lists(chunks(stream, stream.name)):
                    count += len(lines)
                    yield lines
            self._per_file = count or self._per_file
            self._remember(first)
        self._adopt(fd)
        yield from self._drain()

    def _list(self, head: bytes | None) -> tuple[int | None, list[_Rotated], bool]:
        """Under the writers' lock: the new live file, the rotated files newer than the one
        whose first line is ``head`` (oldest first, open), and whether that one (or one
        known) was reached."""
        stops = {*self._known, head} if head is not None else set(self._known)
        for _ in range(RETRIES):
            with _rotations_held(self.path):
                if self._counter is not None:
                    taken = self._counter.take()
                    self._counted = self._counted and taken is not None
                    self._rotations += taken or 0
                fd = _open(self.path)
                newer, reached = self._newer(stops) if fd is not None else ([], False)
                steady = fd is not None and _same(self.path, fd)
            if steady:
                return fd, newer[::-1], reached
            for stream, _ in newer:
                stream.close()
            if fd is not None:
                os.close(fd)
            if self.stopped:
                break
            time.sleep(self.interval / 5)
        return None, [], False

    def _newer(self, stops: set[bytes]) -> tuple[list[_Rotated], bool]:
        """Rotated files with their first lines, newest first and open, down to one whose
        first line is in ``stops``; whether one was reached. A plain file and its .gz
        count once."""
        found: list[_Rotated] = []
        previous = None
        for stream in self._rotated():
            head = _head_of(stream)
            if head in stops:
                stream.close()
                return found, True
            if head is not None and head == previous:  # the same file, plain and .gz
                stream.close()
                continue
            previous = head
            found.append((stream, head))
        return found, False

    def _gap(self, head: bytes | None, newer: int, reached: bool) -> Gap | None:
        """What went missing between the file followed and the files found after it."""
        rotations, self._rotations = self._rotations, 0
        if reached:
            return None
        if self._counter is not None and self._counted:
            # The file followed was the first rotated; before the live file existed, none.
            missed = rotations - (1 if head is not None else 0) - newer
            if missed <= 0:
                return None
            per_file = self._per_file
            return Gap(missed, missed * per_file if per_file else None)
        if head is None:
            return None  # nothing followed yet, and no count: nothing can be said
        return Gap(None, None)

    def _rotated(self) -> Iterator[IO[bytes]]:
        """The rotated files of the live file, newest first, each opened as it is reached
        (plain before .gz for the same number: the plain one is whole)."""
        folder, name = os.path.split(self.path)
        try:
            names = os.listdir(folder or ".")
        except OSError:
            return
        numbered = sorted(
            (number, entry.endswith(".gz"), entry)
            for entry in names
            if (number := rotation_number(entry, name)) is not None
        )
        for _, _, entry in numbered:
            try:
                yield open(os.path.join(folder, entry), "rb")  # noqa: SIM115  # the caller's
            except OSError:  # pruned meanwhile
                continue

    # State -----------------------------------------------------------------------

    def _adopt(self, fd: int) -> None:
        info = os.fstat(fd)
        self._fd, self._ino = fd, (info.st_dev, info.st_ino)
        self._rest, self._offset, self._lines = b"", 0, 0

    def _remember(self, head: bytes | None) -> None:
        if head is None:
            return
        self._known.pop(head, None)
        self._known[head] = None
        if len(self._known) > KNOWN:
            del self._known[next(iter(self._known))]

    def close(self) -> None:
        """Close the file followed (the rotation counter stays, for the next one)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def finish(self) -> None:
        """Close everything."""
        self.close()
        if self._counter is not None:
            self._counter.close()
            self._counter = None


def _open(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


def _same(path: str, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    fresh = os.fstat(fd)
    return (info.st_dev, info.st_ino) == (fresh.st_dev, fresh.st_ino)


@contextlib.contextmanager
def _rotations_held(path: str) -> Iterator[None]:
    """Keep writers from rotating while the files are listed, if it can be done soon.

    A rotation renames the numbered files one by one, under the writers' lock: listed
    meanwhile, a file may be seen twice or not at all. A shared lock on the same lock
    file keeps them out for the few milliseconds of the listing. It is asked for without
    waiting, again and again for at most ``LOCK_WAIT`` seconds (a writer stopped while
    holding it must not stop the reader); then, or without a lock file (no dual_log
    writer made one), the files are listed as they are and ``_list`` checks the result.
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
    """The first line of an open file (decompressed if gzip), then back to its start."""
    seen = b""
    for part in chunks(stream, stream.name):
        seen += part
        end = seen.find(b"\n")
        if end >= 0 or len(seen) > HEAD_LIMIT:
            seen = seen[:end] if end >= 0 else seen[:HEAD_LIMIT]
            break
    stream.seek(0)
    return seen or None


def _first_line(fd: int) -> bytes | None:
    """The first line of the plain file open as ``fd``, read without moving its offset."""
    seen = b""
    while len(seen) <= HEAD_LIMIT:
        data = os.pread(fd, CHUNK, len(seen))
        if not data:
            break
        seen += data
        end = seen.find(b"\n")
        if end >= 0:
            return seen[:end] or None
    return seen[:HEAD_LIMIT] or None
