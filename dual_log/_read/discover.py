"""Finding the files dual_log wrote and reading them back in blocks of lines, plain or gzipped.

A folder holds, for each log (``app.log``), the live file, numbered rotations
(``app.log.1`` newest .. ``app.log.N`` oldest, each maybe ``.gz``) and, after a rotation
that was killed half-way, segments named ``app.log.rotate.<tag>`` (maybe ``.gz``): the
names ``dual_log._facts`` gives them, for the writer too.
A log's live and numbered files are one stream in the order they were written; each
segment is a stream of its own, merged by time with the others (see ``merge``).

Nothing is read into memory whole: files are read in chunks, each split into a list of
lines, which the scanner takes in one piece (see ``scan``). A
gzip file that ends early (a machine killed mid-compression) is read as far as it goes,
with one warning. A file is recognised as gzip by its first bytes, not by its name.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from typing import IO, TYPE_CHECKING

from dual_log._facts import ROTATED, SEGMENT, TIMED
from dual_log._report import COMMAND, say

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# Bytes read (and decompressed) at a time: a few of these per file open is the memory used.
CHUNK = 1 << 18
GZIP_MAGIC = b"\x1f\x8b"
# zlib's window bits for "gzip header and trailer" (16) + the largest window (15).
GZIP_WBITS = 31

# Folders a volume root holds that are never logs.
SKIPPED_FOLDERS = ("lost+found",)
# What ``dual-log fetch`` names the folder of a machine whose copy failed part-way: read
# only when named, never mixed into the folder of the machines fetched whole.
PARTIAL = ".partial"


def warn(message: str) -> None:
    """Say ``message`` on stderr as the ``dual-log`` command."""
    say(message, by=COMMAND)


@dataclasses.dataclass
class Source:
    """Files read one after the other as one stream: a log's rotations then its live file.

    Attributes:
        label: what messages call it (the live file's path, or the segment's).
        paths: the files, oldest first.
    """

    label: str
    paths: list[str]
    failed: list[str] = dataclasses.field(default_factory=list)

    def batches(self) -> Iterator[list[bytes]]:
        """Every line of every file, in lists of lines (no line spans two files). A file
        that cannot be opened or read is warned about, recorded in ``failed`` and skipped."""
        # Open every file first: a rotation going on meanwhile renames names, not open files.
        opened: list[tuple[str, IO[bytes]]] = []
        for path in self.paths:
            try:
                opened.append((path, open(path, "rb")))  # noqa: SIM115  # closed below
            except OSError as exc:
                self.failed.append(path)
                warn(f"cannot read {path}: {exc.strerror or exc}")
        try:
            for path, stream in opened:
                try:
                    yield from line_lists(chunks(stream, path))
                except OSError as exc:
                    self.failed.append(path)
                    warn(f"cannot read {path}: {exc.strerror or exc}")
        finally:
            for _, stream in opened:
                stream.close()


def chunks(stream: IO[bytes], label: str) -> Iterator[bytes]:
    """The bytes of ``stream``, decompressed when it starts as a gzip file does."""
    first = stream.read(CHUNK)
    if first[:2] != GZIP_MAGIC:
        while first:
            yield first
            first = stream.read(CHUNK)
        return
    decompressor = zlib.decompressobj(GZIP_WBITS)
    data = first
    while data:
        try:
            while data:
                # Bounded output: a well-compressed chunk would otherwise inflate tenfold.
                out = decompressor.decompress(data, CHUNK)
                data = decompressor.unconsumed_tail
                if out:
                    yield out
                if decompressor.eof:
                    # Concatenated gzip members are one file to gzip -d: on to the next.
                    data = decompressor.unused_data
                    if data:
                        decompressor = zlib.decompressobj(GZIP_WBITS)
        except zlib.error as exc:
            warn(f"{label}: damaged gzip data ({exc}); read as far as it goes")
            return
        data = stream.read(CHUNK)
    if not decompressor.eof:
        yield decompressor.flush()
        warn(f"{label}: gzip file ends early (cut while it was written); read as far as it goes")


def line_lists(parts: Iterable[bytes]) -> Iterator[list[bytes]]:
    """The lines of the concatenated ``parts``, without their line breaks, a list per part
    (a line cut between two parts comes whole with the second; a last line without its
    break comes last). Each part is split once, and no part is copied."""
    rest = b""
    for part in parts:
        lines = part.split(b"\n")
        if rest:
            lines[0] = rest + lines[0]
        rest = lines.pop()
        if lines:
            yield lines
    if rest:
        yield [rest]


def _sort_key(name: str) -> tuple[int, str, int, int]:
    """Oldest first: timed rotations by stamp, numbered ones from .N down to .1, live last."""
    if match := TIMED.match(name):
        return (0, match["stamp"], 0, 0 if match["gz"] else 1)
    if match := ROTATED.match(name):
        return (1, "", -int(match["n"]), 0 if match["gz"] else 1)
    return (2, "", 0, 0)


def discover(path: str) -> tuple[list[Source], list[str]]:
    """The sources a file or folder argument stands for, and the paths that are missing.

    A file is one source. A folder is searched recursively (one sub-folder per machine
    after ``dual-log fetch``); in each folder every log makes a source, and every segment
    left by an interrupted rotation another one. Hidden files (lock files), hidden folders
    and the ``<id>.partial`` folders of a fetch that failed part-way are skipped.
    """
    if not os.path.isdir(path):
        if os.path.lexists(path):
            return [Source(path, [path])], []
        return [], [path]
    sources: list[Source] = []
    for folder, folders, names in os.walk(path):
        folders[:] = sorted(
            f
            for f in folders
            if f not in SKIPPED_FOLDERS and f[:1] != "." and not f.endswith(PARTIAL)
        )
        sources.extend(_folder_sources(folder, names))
    return sources, []


def _folder_sources(folder: str, names: list[str]) -> list[Source]:
    logs: dict[str, list[str]] = {}
    segments: list[str] = []
    present = set(names)
    for name in names:
        if name[:1] == ".":
            continue
        full = os.path.join(folder, name)
        if not os.path.isfile(full) and not os.path.islink(full):
            continue
        if match := SEGMENT.match(name):
            # A plain segment beside its .gz: the gzip was interrupted, the plain one is whole.
            if match["gz"] and name[:-3] in present:
                continue
            segments.append(name)
            continue
        match = ROTATED.match(name) or TIMED.match(name)
        base = match["base"] if match else name
        logs.setdefault(base, [])
        logs[base].append(name)
    sources = [
        Source(
            os.path.join(folder, base),
            [os.path.join(folder, n) for n in sorted(group, key=_sort_key)],
        )
        for base, group in sorted(logs.items())
    ]
    sources += [
        Source(os.path.join(folder, n), [os.path.join(folder, n)]) for n in sorted(segments)
    ]
    return sources
