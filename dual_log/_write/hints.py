"""What a failing log file's error means, in words, for its line on stderr.

The OS error says what failed; the folder often says why: a volume not mounted, a parent
that is a file, a process that may not create files there, a read-only or full volume,
``min_free`` reached, a FIFO at the path. ``FileHandler`` adds the sentence to the one
line it writes when a fault starts.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from dual_log._write.logfile import NotAFile
from dual_log._write.room import LowSpace

if TYPE_CHECKING:
    from dual_log._parsers import Space


def explain(error: BaseException, path: str, create_dirs: bool, min_free: Space) -> str:
    """Why ``error`` happened to the log file ``path``, as far as its folder can tell: a
    sentence (with a leading space) for the stderr line, or ``""``."""
    folder = os.path.dirname(path)
    if not isinstance(error, OSError):
        return " That is a fault of dual_log's own: please report it."
    if isinstance(error, NotAFile):
        return (
            f" {path} is {error.kind}: the file sink writes regular files only. "
            "Remove it, or set another path."
        )
    if isinstance(error, LowSpace):
        return (
            f" Writing pauses rather than take the volume's last free space "
            f"(min_free={min_free}); rotated files were deleted first."
        )
    code = getattr(error, "errno", None)
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        return f" {blocker} is a file, not a folder: the log's folder cannot be there."
    if code in (errno.ENOENT, errno.ENOTDIR) and not os.path.isdir(folder):
        if create_dirs:
            return f" The folder {folder} is missing and could not be created."
        return (
            f" The folder {folder} does not exist: is the volume mounted? "
            "(dual_log does not create it unless create_dirs=True.)"
        )
    if code == errno.EROFS:
        return " The volume is mounted read-only."
    if code == errno.ENOSPC:
        return " The volume is full."
    if code == errno.EISDIR:
        return f" {path} is a folder now."
    if code in (errno.EACCES, errno.EPERM):
        if not os.access(folder, os.W_OK | os.X_OK):
            return f" This process (uid {os.geteuid()}) cannot create files in {folder}."
        name = getattr(error, "filename", None)
        return f" This process (uid {os.geteuid()}) may not write {name or path}."
    if code == errno.ENXIO:
        return (
            f" {path} leads to a socket, or to a device that is not there: the "
            "file sink writes regular files only."
        )
    return ""


def _file_in_the_way(folder: str) -> str | None:
    """The first part of ``folder`` that exists and is not a folder, if any."""
    path = folder
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    if path and os.path.exists(path) and not os.path.isdir(path):
        return path
    return None
