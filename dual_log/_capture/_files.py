"""Where captured lines go: one file, or one file per app, each a ``dual_log.FileHandler``.

The lines are written through the file sink that ``dual_log.setup()`` uses, so rotation,
gzip, retention, file modes, fault reports on stderr and the ``written``/``missed``
counters are the same. Each line is finished before it reaches the sink (see
``_lines.to_line``) and goes straight to its writer: no ``LogRecord`` is made and
nothing passes through ``logging``, so nothing else (no root logger handler) sees it.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import Any

from dual_log import FileHandler


class CaptureFile(FileHandler):
    """dual_log's file sink, saying what holds for the capture while its file fails."""

    consequence = "Lines are held and written when it works again; the stream is still read"


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Longest app part of a file name: the platform's app names are far shorter.
_MAX_NAME = 64
UNKNOWN_APP = "_unknown"


def safe_name(app: str) -> str:
    """A file name part for ``app`` that stays in its folder and is unique to it.

    The platform's app names (lowercase letters, digits, dashes) come through as they
    are. Anything else (``../x``, ``a/b``, dots, spaces, an empty name) has each unsafe
    character replaced and a short hash of the real name added, so two names never
    share a file.
    """
    if app and not _UNSAFE.search(app) and len(app) <= _MAX_NAME and not app.startswith("-"):
        return app
    digest = hashlib.sha256(app.encode("utf-8", "backslashreplace")).hexdigest()[:8]
    cleaned = _UNSAFE.sub("_", app)[:_MAX_NAME].lstrip("-") or UNKNOWN_APP
    return f"{cleaned}-{digest}"


class Output:
    """The file sinks of one capture.

    Args:
        path: the log file; with ``per_app``, its folder holds ``<app>.log`` instead.
        per_app: one file per app.
        file_options: ``dual_log.FileHandler`` keyword arguments (None: its env/default).
    """

    def __init__(self, path: str, *, per_app: bool, file_options: dict[str, Any]) -> None:
        self.path = path
        self.per_app = per_app
        self._options = {k: v for k, v in file_options.items() if v is not None}
        self._handlers: dict[str, CaptureFile] = {}
        if not per_app:
            self._handlers[""] = self._open(path)

    def _open(self, path: str) -> CaptureFile:
        return CaptureFile(path, **self._options)

    def _handler_for(self, app: str) -> CaptureFile:
        if not self.per_app:
            return self._handlers[""]
        handler = self._handlers.get(app)
        if handler is None:
            folder = os.path.dirname(os.path.abspath(self.path))
            name = safe_name(app) if app else UNKNOWN_APP
            handler = self._handlers[app] = self._open(os.path.join(folder, f"{name}.log"))
        return handler

    @property
    def single(self) -> CaptureFile | None:
        """The one file, unless there is one per app."""
        return None if self.per_app else self._handlers[""]

    def write(self, line: bytes, app: str = "") -> None:
        """Hand ``line`` (one finished UTF-8 line with its newline) to the file of ``app``."""
        self._handler_for(app).write_line(line)

    def write_soon(self) -> None:
        """Have every file write what it was handed, without waiting for it."""
        for handler in self._handlers.values():
            handler.write_soon()

    @property
    def files(self) -> list[str]:
        """The files written so far."""
        return [h.path for h in self._handlers.values()]

    def counts(self) -> list[tuple[str, int]]:
        """Each file's path and the lines written to it; safe from any thread."""
        return [(h.path, h.written) for h in list(self._handlers.values())]

    @property
    def written(self) -> int:
        """Lines written, over every file."""
        return sum(h.written for h in self._handlers.values())

    @property
    def missed(self) -> int:
        """Lines that did not reach their file (write faults and queue overflow)."""
        return sum(h.missed for h in self._handlers.values())

    @property
    def failing(self) -> bool:
        """Whether any file is failing now."""
        return any(h.failing for h in self._handlers.values())

    def flush(self, timeout: float) -> bool:
        """Wait until every handed line is written; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        done = True
        for handler in list(self._handlers.values()):
            done = handler.flush(max(0.0, deadline - time.monotonic())) and done
        return done

    def close(self) -> None:
        """Write what is queued and close every file."""
        for handler in list(self._handlers.values()):
            handler.close()
