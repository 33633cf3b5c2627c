"""The file sink where it cannot work: a platform without POSIX file locks (Windows).

Processes share the log file under an ``flock``; without ``fcntl`` there is no such lock,
and several processes would tear each other's lines and rotations. A Windows laptop
running ``manage.py`` with the production settings must still start: the file sink is
then off, its records counted as missed, and one line on stderr (once per program) says
why. stdout keeps every record.
"""

from __future__ import annotations

import sys

from dual_log._report import first_in_process_tree, say


class FileOff:
    """Stands for the writer of a file sink that cannot work here: counts what it is given.

    Args:
        sink: how the sink is named in the message.
    """

    threaded = False
    written = dropped = errors = pending = 0

    def __init__(self, sink: str) -> None:
        self.sink = sink
        self.lost = 0
        if first_in_process_tree("file sink off"):
            say(
                f"{sink} is off: it needs POSIX file locks (fcntl), which this platform "
                f"({sys.platform}) does not have. Records still go to stdout. The file sink "
                "works on Linux and macOS."
            )

    def put(self, line: bytes) -> None:
        """Count ``line`` as missed."""
        self.lost += 1

    def wake(self) -> None:
        """Nothing waits."""

    def flush(self, timeout: float = 5.0) -> bool:
        """Nothing to write: True."""
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def after_fork_in_child(self) -> None:
        """The child counts its own."""
        self.lost = 0
