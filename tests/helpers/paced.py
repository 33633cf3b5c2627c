"""A child program that logs numbered records through dual_log at a steady rate.

Usage: python -m tests.helpers.paced PATH TAG COUNT RATE [option=value ...]

Logs COUNT records "<TAG>-<n>" (n zero-padded, so every line has the same length) at
RATE records a second, as an application under steady load does, with ``setup(path=PATH,
stdout=False, **options)``. The file's records are then written in the writer's own
batches, every ``flush_interval``, as several such processes interleave them.
"""

from __future__ import annotations

import logging
import sys
import time

import dual_log


def main(argv: list[str]) -> int:
    path, tag, count, rate = argv[0], argv[1], int(argv[2]), float(argv[3])
    options = dict(arg.split("=", 1) for arg in argv[4:])
    dual = dual_log.setup(path=path, stdout=False, **options)
    log = logging.getLogger("paced")
    start = time.monotonic()
    for n in range(count):
        ahead = start + n / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        log.info("%s-%06d", tag, n)
    dual.close()
    return 0 if dual.file_missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
