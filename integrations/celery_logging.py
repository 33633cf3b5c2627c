"""Celery worker logging through dual_log: stdout as text and the rotating JSON-lines file.

The worker's own records (``celery.worker``, ``celery.app.trace``: "Task ... succeeded"),
the records tasks log through ``celery.utils.log.get_task_logger`` and every other logger's
go to both sinks, once each. Copy this file into the project and import it where the Celery
application is created, so that the worker imports it before it sets up logging:

    # proj/celery.py
    from celery import Celery
    import celery_logging  # noqa: F401  (connects the signal handlers below)

    app = Celery("proj")

and start the worker as usual: ``DUAL_LOG_PATH=/logs/worker.log celery -A proj worker``.

Options come from the ``DUAL_LOG_*`` environment variables, as for ``dual_log.setup()``,
except two that the worker's own command line already says: ``--loglevel`` is the level
(the worker's default is WARNING) and ``--logfile``, when given, is the file.
"""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging, worker_process_shutdown  # type: ignore[import-untyped]

import dual_log


def setup_dual_log(loglevel: int | None = None, logfile: str | None = None, **_: Any) -> None:
    """Attach dual_log's two sinks to the root logger, in place of celery's handlers.

    A receiver on ``setup_logging`` is what tells celery to leave logging alone: it then
    adds no handler of its own (which would print every line a second time), does not
    replace ``sys.stdout`` with a logger (which the stdout sink would write back into),
    and leaves ``celery.task`` propagating to the root logger, so task records need no
    ``after_setup_task_logger`` handler. ``format`` and ``colorize`` are celery's
    settings for its own handlers and do not apply to dual_log's.
    """
    # None means "not given": the environment variable, then the default, decides.
    dual_log.setup(level=loglevel or None, path=logfile or None)


def flush_dual_log(**_: Any) -> None:
    """Write what the file sink has queued before a pool process exits.

    The prefork pool ends its child processes with ``os._exit()``, which skips the
    ``logging.shutdown()`` that otherwise writes the queue out at exit.
    """
    dual_log.flush_all()


# Connected on import: the worker imports the module that -A names before it sets up
# logging, so importing this one from there is early enough.
setup_logging.connect(setup_dual_log)
worker_process_shutdown.connect(flush_dual_log)
