"""Writing at interpreter exit when a thread the shutdown froze holds a lock of the file.

At interpreter exit Python stops daemon threads wherever they are, perhaps holding the
writer's lock or the log file's, for good. A record logged after that (a ``__del__`` in
the final collection) must neither wait for ever nor vanish unsaid: it goes through a
second ``LogFile`` on the same path, with descriptors and a lock of its own, as another
process's would. All such writes together wait at most ``LATE_WAIT`` for the file's lock;
what cannot be written then is counted as missed and said, once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dual_log._report import describe, records, say

if TYPE_CHECKING:
    from dual_log._write.logfile import LogFile

# At interpreter exit, the longest a log call waits for a lock: a daemon thread frozen by
# the shutdown may hold it for ever.
LATE_WAIT = 0.25


class LateWrites:
    """The writes of one file's records after its owner's lock was frozen at exit.

    Args:
        file: the file whose settings the second ``LogFile`` takes.
        sink: how the sink is named in the message.
    """

    def __init__(self, file: LogFile, sink: str) -> None:
        self.file = file
        self.sink = sink
        self._wait = LATE_WAIT  # what is left of the wait allowed
        self._said = False

    def write(self, lines: list[bytes]) -> tuple[int, int]:
        """Write ``lines`` (emptied in any case); return how many were written and lost."""
        if not lines:
            return 0, 0
        before = len(lines)
        started = time.monotonic()
        twin = self.file.twin()
        error: BaseException | None
        try:
            error = twin.append(lines, wait=self._wait)
        except Exception as exc:  # a bug of dual_log's own; nothing else is left to try
            error = exc
        finally:
            twin.close()
            self._wait = max(0.0, self._wait - (time.monotonic() - started))
        lost = len(lines)
        lines.clear()
        if lost and not self._said:
            self._said = True
            say(
                f"{records(lost)} logged during interpreter shutdown could not be written to "
                f"{self.sink}: a thread the shutdown stopped holds its lock "
                f"({describe(error) if error else 'busy'}). They are counted as missed."
            )
        return before - lost, lost
