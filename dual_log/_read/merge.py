"""Entries put in time order: within one file written by several processes, and across files.

Several processes append to one file in batches: each writer takes what its process
logged over the last ``flush_interval``, waits for the lock the others hold while they
write (or rotate and compress a file), and appends. So a file is in time order only to
within about ``flush_interval`` plus that wait: a record may follow records up to that
much newer than itself. Entries are therefore held in a reorder window: an entry is
printed once every stream has read past its time by ``WINDOW`` seconds, when no entry
older than it can still come. ``WINDOW`` is the writers' default ``flush_interval``
(0.25 s) plus ``LOCK_WAIT`` (1.75 s), the longest the lock is held in practice: a
rotation compresses a file of ``max_bytes`` (10 MiB by default) under it, about 0.2 s
on one core of a small machine, and a loaded machine may take several times that.

An entry that still comes after newer ones were printed (a writer that could not write
for longer than the window: a full disk, a stopped process) is printed at once, not
dropped, and counted in ``late``, which the commands report on stderr. Memory stays
flat: the window holds what the streams read within ``WINDOW`` seconds of each other,
and never more than ``LIMIT`` entries once it hands entries on (past that the oldest are
printed early, and any entry then out of place is counted as late too), ``BATCH`` and a
step more between two hand-ons.
"""

from __future__ import annotations

import bisect
import heapq
from operator import itemgetter
from typing import TYPE_CHECKING

from dual_log._options import OPTIONS
from dual_log._read.scan import earlier

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from dual_log._read.scan import Entry

FLUSH_INTERVAL = float(next(o.default for o in OPTIONS if o.name == "flush_interval"))
LOCK_WAIT = 1.75
WINDOW = FLUSH_INTERVAL + LOCK_WAIT
# At most this many entries are held (about 20 MB of typical lines).
LIMIT = 50_000
# ``merge`` hands entries on once this many have come since it last did: each hand-on sorts
# what is held, so a few large ones cost less than many small ones.
BATCH = 8192

_TIME = itemgetter(0)


class Window:
    """Entries held until no older one can come, then handed on in time order.

    Args:
        seconds: how far out of order entries may come and still be put in place.
        limit: the most entries held.
    """

    def __init__(self, seconds: float = WINDOW, limit: int = LIMIT) -> None:
        self.seconds = seconds
        self.limit = limit
        self.late = 0
        self._held: list[Entry] = []
        self._printed = b""  # the time of the newest entry handed on

    def __len__(self) -> int:
        return len(self._held)

    def add(self, entries: Iterable[Entry]) -> None:
        """Hold ``entries``."""
        self._held.extend(entries)

    def release(self, front: bytes) -> list[Entry]:
        """The entries older than ``front`` minus the window (``front``: the least time
        every stream has read up to), in time order; more when over ``limit``."""
        return self._cut(earlier(front, self.seconds))

    def rest(self) -> list[Entry]:
        """Every entry held, in time order: the streams have ended."""
        return self._cut(None)

    def _cut(self, before: bytes | None) -> list[Entry]:
        held = self._held
        if not held:
            return []
        # Sorting is stable, so equal times keep the order they were read in; the list
        # is mostly in order already, which Python's sort takes in about linear time.
        held.sort(key=_TIME)
        if before is None:
            cut = len(held)
        else:
            cut = max(bisect.bisect_left(held, before, key=_TIME), len(held) - self.limit)
        if not cut:
            return []
        out = held[:cut]
        del held[:cut]
        printed = self._printed
        if printed and out[0][0] < printed:  # older than what was printed already
            self.late += bisect.bisect_left(out, printed, key=_TIME)
        if out[-1][0] > printed:
            self._printed = out[-1][0]
        return out


Step = tuple["list[Entry]", bytes]


def interleave(streams: Sequence[Iterator[Step]]) -> Iterator[Step]:
    """The steps of ``streams`` (each a batch of entries in its files' order, and the time
    read up to), the stream that has read least far always next; each step comes with the
    least time every stream not ended has read up to, so no entry still to come is older
    than that by more than the window.
    """
    # (time read up to, stream number): the least first.
    fronts = [(b"", index) for index in range(len(streams))]
    heapq.heapify(fronts)
    while fronts:
        front, index = fronts[0]
        step = next(streams[index], None)
        if step is None:
            heapq.heappop(fronts)
            entries: list[Entry] = []
        else:
            entries, reached = step
            heapq.heapreplace(fronts, (max(front, reached), index))
        yield entries, fronts[0][0] if fronts else b""


def merge(streams: Sequence[Iterator[Step]], window: Window) -> Iterator[list[Entry]]:
    """Batches of entries in time order, from ``streams`` that each yield a batch of entries
    and the time read up to, in their files' order.

    The stream that has read least far is always read next, so the others wait with what
    they read, and the window holds only about ``window.seconds`` of each.
    """
    due = BATCH
    for entries, front in interleave(streams):
        window.add(entries)
        if len(window) >= due:
            out = window.release(front)
            due = len(window) + BATCH
            if out:
                yield out
    yield window.rest()
