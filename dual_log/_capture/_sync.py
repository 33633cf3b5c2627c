"""``--fsync-interval``: what the capture has written is on the disk within that interval.

The file sink counts a line written when ``write()`` returns: it is then in the kernel's
page cache, and a crash of the host (not of the capture) loses whatever the kernel had
not written back yet, up to about 30 s by Linux's defaults. A thread of its own fsyncs
each file the capture writes, once per interval while lines are written, so a host crash
loses at most the last interval.

The sink offers no fsync of its own, so this opens each file read-only by its path and
fsyncs that descriptor. That is sound: ``fsync`` writes back the file's (the inode's)
dirty pages and metadata whichever descriptor asks, and a read-only one may ask on
Linux. The descriptor is kept open between rounds, so a file the sink rotated away
meanwhile (renamed, its data still being written back) is fsynced once more through it;
then ``os.sync()`` writes back everything else a rotation changed: the renames in the
folder, a gzipped copy, the new file's name. The capture's machine writes little else,
so that costs little, and only once per rotation.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from dual_log._report import REMINDER_SECONDS, describe, say
from dual_log._write.threads import start_without_signals

if TYPE_CHECKING:
    from collections.abc import Callable

    from dual_log._capture._files import Output

# How often the same fsync failure is said again while it lasts.


class Syncer:
    """fsyncs the files of ``output`` every ``interval`` seconds while lines are written.

    Args:
        output: the capture's files.
        interval: seconds between rounds.
        fsync, sync: ``os.fsync`` and ``os.sync``, or what calls them (a test watches them).
    """

    def __init__(
        self,
        output: Output,
        interval: float,
        *,
        fsync: Callable[[int], None] = os.fsync,
        sync: Callable[[], None] = os.sync,
    ) -> None:
        self.output = output
        self.interval = interval
        self.synced = 0
        """Lines known to be on the disk: written before the last round that succeeded."""
        self.failures = 0
        self._fsync = fsync
        self._sync = sync
        self._held: dict[str, tuple[int, int]] = {}  # path -> (descriptor, inode)
        self._written: dict[str, int] = {}  # path -> lines written at its last fsync
        self._said: tuple[str, float] = ("", 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dual_log-capture-fsync")
        self._thread.daemon = True

    def start(self) -> None:
        """Start the rounds (in a thread that leaves the process's signals to the loop)."""
        start_without_signals(self._thread)

    def stop(self) -> None:
        """End the rounds with a last one, and close the descriptors held."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sync_now()
        for descriptor, _ in self._held.values():
            os.close(descriptor)
        self._held.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync_now()

    def sync_now(self) -> None:
        """One round: fsync every file that was written since the last round."""
        total = 0
        ok = True
        for path, written in self.output.counts():
            total += written  # read before the fsync: those lines were written before it
            if written == self._written.get(path):
                continue
            try:
                self._sync_file(path)
            except OSError as exc:
                ok = False
                self.failures += 1
                self._tell(f"cannot fsync {path}: {describe(exc)}; trying again in a round.")
                continue
            self._written[path] = written
        if ok:
            self.synced = total

    def _sync_file(self, path: str) -> None:
        held = self._held.get(path)
        if held is not None:
            self._fsync(held[0])  # its lines; if it was rotated away since, its last ones
        inode = os.stat(path).st_ino
        if held is not None:
            if held[1] == inode:
                return
            del self._held[path]
            os.close(held[0])
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            inode = os.fstat(descriptor).st_ino
            self._fsync(descriptor)
            self._sync()  # a new file: its name, and what a rotation renamed or gzipped
        except BaseException:
            os.close(descriptor)
            raise
        self._held[path] = (descriptor, inode)

    def _tell(self, message: str) -> None:
        said, at = self._said
        now = time.monotonic()
        if message != said or now - at >= REMINDER_SECONDS:
            self._said = (message, now)
            say(f"capture: {message}")
