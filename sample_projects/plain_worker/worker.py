"""A worker loop whose every log record goes to stdout and to /logs/app.log.

It takes jobs one after another (here made up; in a real worker, from a queue), logs
one line per job, and logs the traceback of the jobs that fail. On SIGTERM (a deploy, a
scale-down) it finishes the job at hand, logs that it stops, and exits.

Environment: the ``DUAL_LOG_*`` variables, and
    WORKER_JOBS      stop after this many jobs (default 0: run until SIGTERM)
    WORKER_INTERVAL  seconds between jobs (default 1)
    WORKER_RUN_ID    prefix of the job ids (default: random)
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid

import dual_log

logger = logging.getLogger("worker")

# Every FAIL_EVERY-th job fails, to show a traceback in both sinks.
FAIL_EVERY = 7


class PaymentDeclined(Exception):
    """The made-up failure of a job."""


def process(job_id: str, number: int) -> float:
    """Do one job; return how long it took in milliseconds."""
    started = time.perf_counter()
    if number % FAIL_EVERY == FAIL_EVERY - 1:
        raise PaymentDeclined("the card was declined")
    total = sum(i * i for i in range(1000 + number % 100))
    logger.debug("job %s computed %d", job_id, total)
    return (time.perf_counter() - started) * 1000


def main() -> int:
    """Run jobs until WORKER_JOBS are done or SIGTERM/SIGINT arrives."""
    stop = threading.Event()
    # Installed before dual_log.setup(), which chains to it: on SIGTERM dual_log first
    # writes what is queued, then this handler asks the loop to stop.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    dual = dual_log.setup()
    jobs = int(os.environ.get("WORKER_JOBS", "0"))
    interval = float(os.environ.get("WORKER_INTERVAL", "1"))
    run = os.environ.get("WORKER_RUN_ID") or uuid.uuid4().hex[:8]
    logger.info("worker %s starting (pid %d)", run, os.getpid())
    done = 0
    while not stop.is_set() and (jobs == 0 or done < jobs):
        job_id = f"{run}-{done:06d}"
        try:
            took = process(job_id, done)
        except Exception:
            logger.exception("job %s failed", job_id)
        else:
            logger.info("job %s done in %.2f ms", job_id, took)
        done += 1
        if interval:
            stop.wait(interval)
    logger.info("worker %s stopping after %d jobs", run, done)
    dual.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
