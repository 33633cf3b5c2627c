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
- Setting ``logconfig_dict`` turns the access log on, without ``--access-logfile``. The
  default ``access_log_format`` has ``"%(r)s"``, the request line: method, path and query
  string.
- The handlers are built once, in the master, and the workers inherit them through
  ``fork()``, with ``--preload`` or without: ``dual_log.FileHandler`` gives each child its
  own queue, writer thread and locks, and concurrent-log-handler reopens its lock file in
  the new process, so every worker appends to one file and the rotation happens once.
"""

from __future__ import annotations

from typing import Any

import dual_log

# Raises ValueError naming the variable on a bad DUAL_LOG_* value: gunicorn then refuses to
# start with that message, instead of serving without its log file.
_settings = dual_log.Settings.resolve()


def _formatter(kind: str) -> dict[str, Any]:
    # "()" rather than "class": dictConfig passes keyword options only to a factory.
    if kind == "json":
        return {
            "()": "dual_log.JsonFormatter",
            "static_fields": _settings.static_fields,
            "platform_fields": _settings.platform_fields,
            "redact": _settings.redact,
        }
    return {"()": "dual_log.TextFormatter", "redact": _settings.redact}


# "." sets attributes on each handler once it is built. This one marks the pair as
# dual_log.setup()'s own, so an application that also calls dual_log.setup() replaces this
# pair instead of adding a second one (which would print every line twice).
_OWNED = {".": {"_dual_log_setup": True}}

_handlers: dict[str, dict[str, Any]] = {
    "dual_log_file": {
        "class": "dual_log.FileHandler",
        "filename": _settings.path,
        "max_bytes": _settings.max_bytes,
        "keep": _settings.keep,
        "when": _settings.when,
        "compress": _settings.compress,
        "max_age_days": _settings.max_age_days,
        "queue": _settings.queue,
        "queue_size": _settings.queue_size,
        "queue_timeout": _settings.queue_timeout,
        "create_dirs": _settings.create_dirs,
        "file_mode": _settings.file_mode,
        "dir_mode": _settings.dir_mode,
        "level": _settings.file_level,
        "formatter": "dual_log_file",
        **_OWNED,
    },
}
if _settings.stdout:  # DUAL_LOG_STDOUT=false leaves the file alone
    _handlers["dual_log_stdout"] = {
        "class": "dual_log.StdoutHandler",
        "level": _settings.stdout_level,
        "formatter": "dual_log_stdout",
        **_OWNED,
    }

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "dual_log_stdout": _formatter(_settings.stdout_format),
        "dual_log_file": _formatter(_settings.file_format),
    },
    "handlers": _handlers,
    "root": {"level": _settings.level, "handlers": list(_handlers)},
    "loggers": {
        # No handlers of their own and propagate: gunicorn's records reach the root
        # logger's pair, once. No "level": gunicorn sets it from --log-level.
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": True},
    },
}
