"""Reading several sources at once, each group in a process of its own (``cat --jobs``).

Scanning is Python code, so one process uses one core. The sources of ``cat`` (one per
machine's log, after ``dual-log fetch``) are independent until they are merged: the
sources are shared out in groups of about the same size, this process keeps the first
group and forks one child per other group. A child interleaves its sources as ``merge``
would and sends each step (the entries kept, and the time read up to) down a pipe; here,
each child is one more stream for the merge, which holds and orders what comes as it
does for its own sources. The child's counts, late records and unreadable files come last.

A step is framed as ``S``, a header of four lengths, then the kinds of the entries (one byte
each: ``J`` a record, ``N`` a line that is not JSON), their times and their lines, each of
those joined by line breaks (neither holds one), so taking it apart is a few C calls.
A child's parsed records are sent as lines: the printer parses them again for text.
The end is ``E`` and a JSON object. A child that stops without it (killed) is reported,
and makes the exit status 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any

from dual_log._read.discover import warn
from dual_log._read.merge import interleave

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from dual_log._read.discover import Source
    from dual_log._read.merge import Step
    from dual_log._read.scan import Counts, Entry

_HEADER = struct.Struct("<IIII")  # entries, reached, times, lines: lengths
_TIME, _LINE, _RECORD = itemgetter(0), itemgetter(1), itemgetter(2)
_KINDS = {ord("J"): True, ord("N"): None}
# A gzip file's uncompressed size, judged from the compressed one, to share out work.
_GZIP_RATIO = 8
# Below this many bytes in all, a process of its own costs more than it saves.
SMALL = 8 << 20
# The most processes ``cat`` starts of its own accord.
MOST = 16
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which Python names only from 3.10 on Linux


def weight(source: Source) -> int:
    """About how many bytes of lines ``source`` holds."""
    total = 0
    for path in source.paths:
        with contextlib.suppress(OSError):
            size = os.path.getsize(path)
            total += size * _GZIP_RATIO if path.endswith(".gz") else size
    return total


def share(sources: Sequence[Source], jobs: int) -> list[list[int]]:
    """The numbers of ``sources`` in at most ``jobs`` groups of about the same weight,
    the heaviest first (longest processing time first)."""
    groups: list[tuple[int, list[int]]] = [(0, []) for _ in range(min(jobs, len(sources)))]
    for index in sorted(range(len(sources)), key=lambda i: -weight(sources[i])):
        total, members = min(groups, key=lambda group: group[0])
        groups.remove((total, members))
        groups.append((total + weight(sources[index]), [*members, index]))
    return [sorted(members) for _, members in groups if members]


def jobs_for(sources: Sequence[Source], asked: int | None) -> int:
    """How many processes to read ``sources`` with: ``asked``; else, when there are several
    sources and enough to read, one per idle CPU (the CPUs less the load average over the
    last minute, as ``make --load-average`` judges it: on a busy machine another process
    only adds its own start to the time); else one."""
    if not hasattr(os, "fork") or len(sources) < 2:
        return 1
    if asked is not None:
        return asked
    if sum(weight(source) for source in sources) < SMALL:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, min(len(sources), (cpus or 1) - busy, MOST))


class Child:
    """A forked process reading some sources: its steps, then its report.

    Args:
        streams: its sources' streams (made before the fork, run only in the child).
        labels: what messages call its sources.
    """

    def __init__(
        self,
        streams: Sequence[Iterator[Step]],
        report: Callable[[], dict[str, Any]],
        labels: list[str],
        *,
        siblings: Sequence[Child] = (),
    ) -> None:
        self.labels = labels
        self.report: dict[str, Any] | None = None
        read, write = os.pipe()
        with contextlib.suppress(OSError):  # more room: the child runs further ahead
            import fcntl

            fcntl.fcntl(write, _F_SETPIPE_SZ, _PIPE_SIZE)
        self.pid = os.fork()
        if self.pid == 0:  # the child
            os.close(read)
            for sibling in siblings:  # or a sibling would never see its reader go away
                sibling._pipe.close()
            _serve(streams, report, write)
        os.close(write)
        self._pipe: IO[bytes] = os.fdopen(read, "rb", buffering=_PIPE_SIZE)

    def steps(self) -> Iterator[Step]:
        """The child's steps, as they come; its report is kept in ``report``."""
        pipe = self._pipe
        while (kind := pipe.read(1)) == b"S":
            entries, reached, times, lines = _HEADER.unpack(_exactly(pipe, _HEADER.size))
            kinds = _exactly(pipe, entries)
            front = _exactly(pipe, reached)
            moments = _exactly(pipe, times).split(b"\n") if entries else []
            texts = _exactly(pipe, lines).split(b"\n") if entries else []
            records = map(_KINDS.__getitem__, kinds)
            yield list(zip(moments, texts, records, strict=True)), front
        if kind == b"E":
            self.report = json.loads(pipe.readline())

    def close(self) -> None:
        """Let go of the pipe (a child still writing then stops) and wait for the child."""
        self._pipe.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _exactly(pipe: IO[bytes], size: int) -> bytes:
    data = pipe.read(size)
    if len(data) != size:
        raise EOFError("the pipe ended in the middle of a step")
    return data


def _serve(
    streams: Sequence[Iterator[Step]], report: Callable[[], dict[str, Any]], fd: int
) -> None:
    """The child: send every step of ``streams``, then the report; never return."""
    status = 0
    try:
        with os.fdopen(fd, "wb", buffering=_PIPE_SIZE) as pipe:
            for entries, reached in interleave(streams):
                pipe.write(_step(entries, reached))
            pipe.write(b"E" + json.dumps(report()).encode() + b"\n")
    except (BrokenPipeError, KeyboardInterrupt):
        status = 0  # the reader went away, or was interrupted with us: nothing to say
    except BaseException as exc:  # said here, and seen as a missing report by the parent
        warn(f"a reading process failed: {type(exc).__name__}: {exc}")
        status = 1
    os._exit(status)


def _step(entries: list[Entry], reached: bytes) -> bytes:
    if None in map(_RECORD, entries):
        kinds = bytes(74 if record is not None else 78 for _, _, record in entries)
    else:
        kinds = b"J" * len(entries)
    times = b"\n".join(map(_TIME, entries))
    lines = b"\n".join(map(_LINE, entries))
    header = _HEADER.pack(len(entries), len(reached), len(times), len(lines))
    return b"".join((b"S", header, kinds, reached, times, lines))


def counts_of(counts: Counts) -> dict[str, int]:
    """What a child reports of its ``Counts``."""
    return {
        "read": counts.read,
        "kept": counts.kept,
        "not_json": counts.not_json,
        "not_json_hidden": counts.not_json_hidden,
    }


def add_counts(counts: Counts, report: dict[str, Any]) -> None:
    """Add what a child counted to ``counts``."""
    counts.read += int(report.get("read", 0))
    counts.kept += int(report.get("kept", 0))
    counts.not_json += int(report.get("not_json", 0))
    counts.not_json_hidden += int(report.get("not_json_hidden", 0))
