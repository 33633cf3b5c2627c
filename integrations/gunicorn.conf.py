"""gunicorn settings that send gunicorn's logs and the application's to both dual_log sinks.

gunicorn's error log (``gunicorn.error``: "Booting worker", tracebacks), its access log
(``gunicorn.access``: one line per request, with the path and its query string) and every
record the application logs go to stdout as text and to the rotating JSON-lines file, each
once. Copy this file next to the application as ``gunicorn.conf.py``, which gunicorn reads
by default, or name it with ``-c``:

    DUAL_LOG_PATH=/logs/app.log gunicorn -c gunicorn.conf.py --workers 3 app:app

Options come from the ``DUAL_LOG_*`` environment variables, resolved exactly as
``dual_log.setup()`` resolves them (``DUAL_LOG_PATH``, ``DUAL_LOG_MAX_BYTES``,
``DUAL_LOG_KEEP``, ...; the README lists them all). ``DUAL_LOG_LEVEL`` is the level of the
root logger, that is of the application; gunicorn's own ``--log-level`` stays the level of
``gunicorn.error``.

Why ``logconfig_dict`` rather than a hook that calls ``dual_log.setup()``:

- gunicorn configures logging itself, in the master, before it forks the workers and (with
  ``--preload``) before it imports the application, and again on SIGHUP. Each time it hands
  ``logconfig_dict`` to ``logging.config.dictConfig``, which replaces the stderr handler
  gunicorn puts on ``gunicorn.error`` (and the stdout one ``--access-logfile -`` puts on
  ``gunicorn.access``): no line is printed twice. It would also close any handler a hook
  had attached before it.
- gunicorn merges ``logconfig_dict`` into its ``CONFIG_DEFAULTS`` one top-level key at a
  time, so this dict names all four of formatters, handlers, root and loggers.
- The handlers are named ``dual_log_stdout`` and ``dual_log_file``: an application that also
  calls ``dual_log.setup()`` replaces this pair rather than adding a second one.
- Setting ``logconfig_dict`` turns the access log on, without ``--access-logfile``. The
  default ``access_log_format`` has ``"%(r)s"``, the request line: method, path and query
  string.
- The handlers are built once, in the master, and the workers inherit them through
  ``fork()``, with ``--preload`` or without: ``dual_log.FileHandler`` gives each child its
  own queue, writer thread and file descriptors (its own lock), so every worker appends
  to one file and each rotation happens once.

Request ids: gunicorn writes the access line after the application has returned, when the
request id that dual_log's Django middleware or Flask extension bound is no longer bound.
``logger_class`` below binds it again, from the WSGI environ where they leave it
(``environ["dual_log.request_id"]``), around that one line: the access record carries the
same ``request_id`` field as every other record of the request, on both sinks. (With
``--statsd-host``, gunicorn's own ``Statsd`` logger class would be replaced by it: derive
``RequestIdLogger`` from ``gunicorn.instrument.statsd.Statsd`` instead.)
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

import dual_log

# dual_log.logging_config() reads the DUAL_LOG_* variables now and raises ValueError naming
# the variable on a bad value: gunicorn then refuses to start with that message, instead
# of serving without its log file. handle_signals=False: gunicorn's arbiter and workers
# own SIGTERM/SIGINT and leave through sys.exit, so the exit hook writes the queue out.
logconfig_dict = dual_log.logging_config(handle_signals=False)
# No handlers of their own and propagate: gunicorn's records reach the root logger's pair,
# once. No "level": gunicorn sets it from --log-level.
logconfig_dict["loggers"] = {
    "gunicorn.error": {"handlers": [], "propagate": True},
    "gunicorn.access": {"handlers": [], "propagate": True},
}


# Where dual_log's request-id middlewares leave the id (dual_log.django.ENVIRON_KEY).
REQUEST_ID_KEY = "dual_log.request_id"


class RequestIdLogger(Logger):
    """gunicorn's logger, whose access line carries the request's ``request_id``."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Write the access line with the request's id bound, when the app gave it one."""
        request_id = environ.get(REQUEST_ID_KEY)
        if not isinstance(request_id, str):
            super().access(resp, req, environ, request_time)
            return
        with dual_log.context(request_id=request_id):
            super().access(resp, req, environ, request_time)


logger_class = RequestIdLogger
