"""The WSGI application gunicorn serves in the end-to-end benchmark.

``BENCH_WSGI`` names the real application (``"mysite.wsgi:application"`` for the Django
sample, ``"app:create_app()"`` for the Flask one); without it, a minimal application
that calls ``dual_log.setup()`` and logs one line per request stands in. The
application configures its logging exactly as it does in production. With
``BENCH_LOGGING=stdout`` its dual_log handlers are then replaced, in each worker (or
in the master, with ``--preload``), by a plain ``StreamHandler`` to stdout with the
same format: the same application and the same records, with stdout-only logging.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

import dual_log

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _minimal() -> Callable[..., Iterable[bytes]]:
    dual_log.setup()
    log = logging.getLogger("bench.requests")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        body = b"hello\n"
        log.info("%s %s%s %s", environ["REQUEST_METHOD"], path, "?" + query if query else "", 200)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [body]

    return application


def _load(target: str) -> Callable[..., Iterable[bytes]]:
    """``"module:name"``, or ``"module:factory()"`` as gunicorn reads an app factory."""
    module, _, name = target.partition(":")
    factory = name.endswith("()")
    app: Callable[..., Iterable[bytes]] = getattr(
        importlib.import_module(module), name.removesuffix("()") or "app"
    )
    return app() if factory else app  # type: ignore[return-value]


def stdout_only() -> int:
    """Replace every dual_log handler: stdout by a plain StreamHandler, the file by nothing."""
    replaced = 0
    known = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(v for v in known if isinstance(v, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if isinstance(handler, dual_log.StdoutHandler):
                plain = logging.StreamHandler(sys.stdout)
                plain.setFormatter(logging.Formatter(TEXT_FORMAT))
                plain.setLevel(handler.level)
                logger.addHandler(plain)
            elif not isinstance(handler, dual_log.FileHandler):
                continue
            logger.removeHandler(handler)
            handler.close()
            replaced += 1
    return replaced


_target = os.environ.get("BENCH_WSGI")
app = _load(_target) if _target else _minimal()
if os.environ.get("BENCH_LOGGING") == "stdout" and not stdout_only():
    raise RuntimeError("BENCH_LOGGING=stdout, but the application attached no dual_log handler")
