"""gunicorn settings for an ASGI app (FastAPI, Starlette) on uvicorn workers, through both sinks.

    DUAL_LOG_PATH=/logs/app.log gunicorn -c gunicorn_uvicorn.conf.py \\
        -k uvicorn.workers.UvicornWorker --workers 3 main:app

(``-k uvicorn_worker.UvicornWorker`` with the ``uvicorn-worker`` package is the same.)
Keep ``gunicorn.conf.py`` from this folder beside this file: every setting of it is read
from there, so gunicorn's own records and the application's reach stdout and the file as
that file describes. This one adds what uvicorn's worker needs: the worker hands
``uvicorn.error`` and ``uvicorn.access`` gunicorn's own handlers and stops them from
propagating, and ``gunicorn.conf.py`` gives gunicorn's loggers no handlers of their own
(they propagate to the root logger's pair). Left so, uvicorn's records ("Application
startup complete.", one access line per request) would reach no sink. ``post_fork`` lets
them propagate again in each worker, after the worker is built and before it serves.

And the worker's last records: uvicorn ends a worker by raising the SIGTERM it caught
again, which skips every exit hook. ``post_worker_init`` installs dual_log's SIGTERM/SIGINT
flush in each worker once gunicorn has reset its signals, so uvicorn passes the signal on
to it and what the file sink had queued ("Application shutdown complete.") is written
before the worker dies.
"""

from __future__ import annotations

import logging
import runpy
from pathlib import Path
from typing import Any

from gunicorn.config import KNOWN_SETTINGS

import dual_log

_BASE = runpy.run_path(str(Path(__file__).resolve().with_name("gunicorn.conf.py")))
_SETTINGS = {setting.name for setting in KNOWN_SETTINGS}
globals().update({name: value for name, value in _BASE.items() if name in _SETTINGS})
_base_post_fork = _BASE.get("post_fork")
_base_post_worker_init = _BASE.get("post_worker_init")

# uvicorn's worker sets these two loggers up from gunicorn's (uvicorn/workers.py).
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")


def post_fork(server: Any, worker: Any) -> None:
    """In each worker: uvicorn's loggers without handlers propagate to the root logger's pair."""
    if _base_post_fork is not None:
        _base_post_fork(server, worker)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.propagate = True


def post_worker_init(worker: Any) -> None:
    """In each worker, once its signals are reset: write the file's queue on SIGTERM/SIGINT."""
    if _base_post_worker_init is not None:
        _base_post_worker_init(worker)
    dual_log.install_signal_handlers()
