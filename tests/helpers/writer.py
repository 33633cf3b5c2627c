"""A child program that logs numbered records through dual_log, for multi-process tests.

Usage: python -m tests.helpers.writer PATH TAG COUNT [option=value ...] [--fork N] [--threads N]
       [--pre N]

Each record's message is "<TAG>-<worker>-<n>", a unique id. With --fork N the process
sets dual_log up once and then forks N children without exec (gunicorn --preload); each
child and the parent log COUNT records; with --pre N the parent first logs N records
"<TAG>-pre-<n>" before it forks, so the fork finds records queued or being written.
With --threads N each process logs from N threads.
The counters of each process are printed on stderr as one JSON line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading

import dual_log


def _log(tag: str, count: int, threads: int) -> None:
    log = logging.getLogger("writer")
    pid = os.getpid()

    def run(thread: int) -> None:
        for n in range(count):
            log.info("%s-%d.%d-%d", tag, pid, thread, n)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main(argv: list[str]) -> int:
    path, tag, count = argv[0], argv[1], int(argv[2])
    options: dict[str, str] = {}
    forks = 0
    threads = 1
    pre = 0
    rest = iter(argv[3:])
    for arg in rest:
        if arg == "--fork":
            forks = int(next(rest))
        elif arg == "--threads":
            threads = int(next(rest))
        elif arg == "--pre":
            pre = int(next(rest))
        else:
            key, _, value = arg.partition("=")
            options[key] = value
    dual = dual_log.setup(path=path, stdout=False, **options)
    for n in range(pre):
        logging.getLogger("writer").info("%s-pre-%d", tag, n)
    children = []
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            _log(tag, count, threads)
            dual.close()
            _report(dual)
            os._exit(0)
        children.append(pid)
    _log(tag, count, threads)
    status = 0
    for pid in children:
        _, code = os.waitpid(pid, 0)
        status |= code
    dual.close()
    _report(dual)
    return 1 if status else 0


def _report(dual: dual_log.DualLog) -> None:
    """This process's counters as one JSON line on stderr, in one write: the processes
    share stderr, and print() writes the text and its line break apart."""
    line = {"pid": os.getpid(), "written": dual.file_written, "missed": dual.file_missed}
    os.write(2, (json.dumps(line) + "\n").encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
