"""The room a log file has on its volume: ``min_free``, and volumes smaller than the logs.

The volume is asked (``statvfs``) before every batch, never from a cache: the database
beside the logs takes space at its own pace. When a batch would cut into ``min_free``,
rotated files go, oldest first, never the live file, which holds the newest records: on
a volume that something else fills, the logs pause rather than lose them. The lines that
fit then are written and the rest wait (``LowSpace``, which the caller holds them
through). A line longer than the volume could ever hold is refused and counted.

When the file is opened, the volume's size says what it can hold: on one too small for
two files of ``max_bytes`` the file rotates at half of that instead, so it never fills
the volume unable to grow or rotate.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._parsers import Space


class LowSpace(OSError):
    """Writing would leave less than ``min_free`` on the volume."""

    def __init__(self, folder: str, free: int, needed: int) -> None:
        super().__init__(
            errno.ENOSPC,
            f"only {free} bytes free on the volume, and min_free keeps {needed}",
            folder,
        )


class Room:
    """What the volume of ``folder`` leaves the log file.

    Args:
        folder: the log's folder.
        max_bytes: the size the file rotates at; 0 for never.
        keep: rotated files kept (0 empties the file instead of rotating it).
        min_free: free space the volume keeps.
        on_small_volume: told the size the file rotates at, when the volume cannot hold
            two files of ``max_bytes``, each time the volume is measured.

    Attributes:
        limit: the size the file rotates at: ``max_bytes``, or less on a small volume.
        capacity: the longest line the volume could ever hold for the log.
        refused: lines taken off batches because they were longer than ``capacity``.
    """

    def __init__(
        self,
        folder: str,
        *,
        max_bytes: int,
        keep: int,
        min_free: Space,
        on_small_volume: Callable[[int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.keep = keep
        self.min_free = min_free
        self._on_small_volume = on_small_volume
        self.limit = max_bytes
        self.capacity = 1 << 62
        self.refused = 0

    def measure(self) -> None:
        """Work out ``limit`` and ``capacity`` from the volume's size (when the file is
        opened: a volume mounted anew may differ)."""
        self.limit, self.capacity = self.max_bytes, 1 << 62
        try:
            vfs = os.statvfs(self.folder)
        except OSError:
            return
        total = vfs.f_frsize * vfs.f_blocks
        if not total:  # a file system that does not say (some network ones)
            return
        self.capacity = total - (self.min_free.bytes_of(total) if self.min_free else 0)
        limit = max(1, self.capacity // (2 if self.keep else 1))
        if self.max_bytes and limit < self.max_bytes:
            self.limit = limit
            if self._on_small_volume is not None:
                self._on_small_volume(limit)

    def refuse_oversized(self, lines: list[bytes]) -> int:
        """Take off ``lines`` those longer than ``capacity``, counting them in ``refused``:
        held, they would wait for ever and keep every line behind them waiting too.
        Returns the bytes left."""
        kept = [line for line in lines if len(line) <= self.capacity]
        self.refused += len(lines) - len(kept)
        lines[:] = kept
        return sum(map(len, kept))

    def fits(self, needed: int) -> bool:
        """Whether ``needed`` bytes can be written without going below ``min_free``."""
        volume = self._volume()
        return volume is None or volume[0] - needed >= volume[1]

    def make(
        self, lines: list[bytes], count: int, group: int, rotated: list[tuple[int, str]]
    ) -> tuple[int, int]:
        """Make room for the first ``count`` of ``lines`` (``group`` bytes), deleting the
        ``rotated`` files (newest first) oldest first as needed; return how many lines fit
        then, and their bytes.

        Raises:
            LowSpace: not even the first line fits now; it may once space is freed.
        """
        volume = self._volume()
        if volume is None or volume[0] - group >= volume[1]:
            return count, group
        free, keep = volume
        for _, path in reversed(rotated):
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

    def _volume(self) -> tuple[int, int] | None:
        """The volume's free bytes and the bytes ``min_free`` keeps; None when not asked."""
        if not self.min_free:
            return None
        try:
            vfs = os.statvfs(self.folder)
        except OSError:  # a file system that cannot say: write, as without the option
            return None
        return vfs.f_frsize * vfs.f_bavail, self.min_free.bytes_of(vfs.f_frsize * vfs.f_blocks)
