"""The reorder window: entries put in time order across streams, with bounded memory, and
entries later than the window printed and counted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from dual_log._read.merge import BATCH, Window, merge
from dual_log._read.scan import time_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dual_log._read.scan import Entry

START = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)


def _stream(
    name: str, count: int, late_at: int | None = None
) -> Iterator[tuple[list[Entry], bytes]]:
    """``count`` entries 1 ms apart, in batches of 1,000, each batch's neighbours swapped
    (as two processes' batches land); the one at ``late_at`` a minute old."""
    batch: list[Entry] = []
    for n in range(count):
        moment = START + timedelta(milliseconds=n + (1 if n % 2 == 0 else -1))
        if n == late_at:
            moment -= timedelta(minutes=1)
        batch.append((time_text(moment), f"{name}-{n}".encode(), True))
        if len(batch) == 1000:
            yield batch, batch[-1][0]
            batch = []
    if batch:
        yield batch, batch[-1][0]


def test_entries_come_in_time_order_with_memory_bounded() -> None:
    """Three streams of 100,000 entries each: every entry comes out once, in time order, and
    the window never holds more than its limit, a hand-on's worth and a batch."""
    window = Window(seconds=2.0, limit=5_000)
    most = 0
    out: list[Entry] = []
    streams = [_stream(name, 100_000) for name in ("a", "b", "c")]
    for batch in merge(streams, window):
        most = max(most, len(window))
        out += batch
    assert most <= 5_000 + BATCH + 1_000
    assert len(out) == len({line for _, line, _ in out}) == 300_000
    times = [moment for moment, _, _ in out]
    assert times == sorted(times)
    assert window.late == 0


def test_an_entry_later_than_the_window_is_handed_on_once_and_counted() -> None:
    """An entry a minute older than those around it is not dropped: it comes out once, after
    newer ones, and ``late`` counts it."""
    window = Window(seconds=2.0)
    out = [
        entry for batch in merge([_stream("a", 50_000, late_at=30_000)], window) for entry in batch
    ]
    assert len(out) == 50_000
    assert [line for _, line, _ in out].count(b"a-30000") == 1
    assert window.late == 1
    early = Window(seconds=3600.0)  # a window wider than the delay puts it in place
    placed = [
        entry for batch in merge([_stream("a", 50_000, late_at=30_000)], early) for entry in batch
    ]
    assert placed[0][1] == b"a-30000"
    assert early.late == 0
