"""Several streams of entries merged into one by record time, holding one entry per stream.

``heapq.merge`` keeps the head of each stream and nothing else, so memory does not grow
with the input. Each stream is in the order its file was written; where several
processes wrote one file, times within it can step back a little, and those entries
keep their file's order. Equal times keep the order of the streams given.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from dual_log._read.scan import Entry


def _numbered(index: int, entries: Iterable[Entry]) -> Iterator[tuple[bytes, int, bytes, Any]]:
    # The stream's number sits between the time and the line, so equal times are decided
    # by it and two entries are never compared beyond it.
    for moment, line, record in entries:
        yield moment, index, line, record


def merge(streams: Sequence[Iterable[Entry]]) -> Iterator[Entry]:
    """One stream of entries, ordered by time, from ``streams`` each ordered by time."""
    if len(streams) == 1:
        yield from streams[0]
        return
    for moment, _, line, record in heapq.merge(*(_numbered(i, s) for i, s in enumerate(streams))):
        yield moment, line, record
