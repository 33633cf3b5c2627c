"""Django: every record, Django's own included, to stdout and to the rotating file.

In ``settings.py``::

    import dual_log.django

    LOGGING = dual_log.django.logging_config()

or, to keep a ``LOGGING`` dict the project already has::

    LOGGING = dual_log.django.add_handlers(LOGGING)

Both return a fresh, plain ``dictConfig`` dict that Django applies itself, after its
``DEFAULT_LOGGING`` (``django.utils.log.configure_logging``). Options are resolved as in
``dual_log.setup()``: keyword > ``DUAL_LOG_*`` environment variable > default, and a bad
value raises ``ValueError`` here, when ``settings.py`` is read.

What Django's ``DEFAULT_LOGGING`` does that would double or bend the lines, and what the
dicts below do about it:

- the ``django`` logger has a ``console`` handler (stderr, only with ``DEBUG``): replaced,
  so with ``DEBUG`` on a record is not printed once on stdout and once on stderr;
- ``django.server`` (``runserver``'s request lines) has its own handler with
  ``ServerFormatter``, which rewrites ``record.msg``, and does not propagate: it is made
  to propagate to the root logger's two sinks like every other logger;
- ``mail_admins`` (errors mailed to ``ADMINS`` when ``DEBUG`` is off) is kept.

Request ids: put ``"dual_log.django.RequestIdMiddleware"`` first in ``MIDDLEWARE``. Each
request gets an id (from its ``X-Request-Id`` or Fly.io's ``Fly-Request-Id`` header, else
a new one), bound as ``request_id`` for every record logged while Django handles it,
``django.request``'s included, and sent back in the ``X-Request-Id`` response header; see
``RequestIdMiddleware``.

Signals: this module installs no signal handler. Django applies ``LOGGING`` in every
process that imports the settings, and the server owns the signals: a gunicorn worker
leaves through ``sys.exit`` on SIGTERM and ``logging.shutdown`` then writes what is
queued; ``runserver`` does the same on Ctrl-C. A process that is ended by the default
action of SIGTERM (a long-running management command, say) should call
``dual_log.install_signal_handlers()`` once, e.g. in its ``handle()``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

try:
    import django  # noqa: F401  # only to fail here, clearly, when Django is missing
except ImportError as exc:
    raise ImportError(
        "dual_log.django needs Django: pip install django (or, in dual_log's checkout, "
        "pip install '.[django]')"
    ) from exc

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings as django_settings
from django.utils.log import log_response

from dual_log import _request
from dual_log._config import FILE_HANDLER, STDOUT_HANDLER, config_level
from dual_log._config import logging_config as sinks_config
from dual_log._context import context
from dual_log._options import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest
    from typing_extensions import Unpack

    from dual_log._options import Options

__all__ = [
    "ENVIRON_KEY",
    "FILE_HANDLER",
    "STDOUT_HANDLER",
    "RequestIdMiddleware",
    "add_handlers",
    "logging_config",
]
ENVIRON_KEY = _request.ENVIRON_KEY
# Django's own names for the parts of DEFAULT_LOGGING kept here (django/utils/log.py).
MAIL_ADMINS = "mail_admins"
REQUIRE_DEBUG_FALSE = "require_debug_false"
# Handlers of these streams print to the console, which the stdout sink now does.
_CONSOLE_STREAMS = (None, "ext://sys.stderr", "ext://sys.stdout")


def logging_config(
    *, mail_admins: bool = True, db_queries: bool = False, **options: Unpack[Options]
) -> dict[str, Any]:
    """A ``LOGGING`` dict sending every record to stdout and to the rotating file.

    Shaped like Django's ``DEFAULT_LOGGING``: the root logger has the two sinks, and
    ``django`` and ``django.server`` propagate to it, at ``INFO`` (or ``level`` if higher).
    The sinks are ``dual_log.logging_config(**options)``'s, with Django's parts added.

    Args:
        mail_admins: keep Django's ``mail_admins`` handler on the ``django`` logger
            (errors mailed to ``ADMINS`` while ``DEBUG`` is off). Default True.
        db_queries: also log every SQL query (``django.db.backends`` at ``DEBUG``;
            Django logs them only while ``DEBUG`` is on). Default False.
        **options: the options of ``dual_log.setup()``: ``path``, ``level``,
            ``max_bytes``, ``keep``, ``stdout_format``, ... ``handle_signals`` has no
            effect here (see the module's docstring).

    Returns:
        A new dict for ``logging.config.dictConfig``.

    Raises:
        ValueError: a bad option value, naming the option, the value and what is allowed.
        TypeError: an unknown option.
    """
    settings = Settings.resolve(**options)
    django_level = config_level(max(settings.level, logging.INFO))
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {},
        "formatters": {},
        "handlers": {},
        "root": {"handlers": [], "level": config_level(settings.level)},
        "loggers": {
            "django": {"handlers": [], "level": django_level, "propagate": True},
            "django.server": {"handlers": [], "level": django_level, "propagate": True},
        },
    }
    if mail_admins:
        config["filters"][REQUIRE_DEBUG_FALSE] = {"()": "django.utils.log.RequireDebugFalse"}
        config["handlers"][MAIL_ADMINS] = _mail_admins_handler()
        config["loggers"]["django"]["handlers"].append(MAIL_ADMINS)
    if db_queries:
        config["loggers"]["django.db.backends"] = {
            "handlers": [],
            "level": "DEBUG",
            "propagate": True,
        }
    _add_sinks(config, options)
    return config


def add_handlers(
    existing: Mapping[str, Any], /, *, replace_console: bool = True, **options: Unpack[Options]
) -> dict[str, Any]:
    """A copy of an existing ``LOGGING`` dict with dual_log's two sinks added.

    The input is not changed. In the copy:

    - the root logger gets the stdout and file handlers (and ``level`` when it has none);
    - a logger with ``"propagate": False`` gets them too, since its records never reach
      the root logger: each record reaches each sink exactly once;
    - ``django`` and ``django.server``, when the dict does not name them, are set to
      propagate, as in ``logging_config()``; ``django`` keeps ``mail_admins``;
    - with ``replace_console``, console handlers (``logging.StreamHandler`` on stderr or
      stdout) are taken off every logger, because the stdout sink prints every record
      already; their definitions stay, unused.

    Everything else is kept as the project has it, ``disable_existing_loggers`` too
    (``dictConfig`` takes a missing one as True, which silences every logger made before
    the settings are read; Django's documentation recommends False). Calling it again on
    its own result changes nothing more.

    Args:
        existing: the project's ``LOGGING`` dict (``dictConfig`` schema, version 1).
        replace_console: take console handlers off the loggers. Default True.
        **options: the options of ``dual_log.setup()``.

    Returns:
        A new dict for ``logging.config.dictConfig``.

    Raises:
        TypeError: ``existing`` is not a mapping, or an unknown option.
        ValueError: ``existing`` is not a version 1, non-incremental ``dictConfig`` dict,
            or a bad option value.
    """
    _refuse_unusable(existing)
    settings = Settings.resolve(**options)
    config: dict[str, Any] = copy.deepcopy(dict(existing))
    config["version"] = 1
    for section in ("filters", "formatters", "handlers", "loggers"):
        config[section] = dict(config.get(section) or {})
    loggers: dict[str, Any] = config["loggers"]
    for name, entry in list(loggers.items()):
        loggers[name] = dict(entry or {})
    root = dict(loggers.pop("", None) or config.get("root") or {})
    root.setdefault("level", config_level(settings.level))
    config["root"] = root

    _add_django_loggers(config, config_level(max(settings.level, logging.INFO)))
    if replace_console:
        _take_off_console(config)
    _add_sinks(config, options)
    return config


def _refuse_unusable(existing: object) -> None:
    """Raise the error ``add_handlers`` documents when ``existing`` cannot take the sinks."""
    if not isinstance(existing, Mapping):
        raise TypeError(
            f"dual_log: add_handlers() needs a LOGGING dict, not {type(existing).__name__}"
        )
    if existing.get("version", 1) != 1:
        raise ValueError(
            f"dual_log: invalid LOGGING version={existing.get('version')!r}; allowed: 1"
        )
    if existing.get("incremental"):
        raise ValueError(
            "dual_log: add_handlers() cannot add handlers to an incremental LOGGING dict"
        )


def _add_django_loggers(config: dict[str, Any], level: str | int) -> None:
    """``django`` and ``django.server`` where ``config`` does not name them: propagating, as
    in ``logging_config()``; ``django`` with DEFAULT_LOGGING's ``mail_admins``."""
    loggers: dict[str, Any] = config["loggers"]
    if "django" not in loggers:
        # DEFAULT_LOGGING's "django" logger, without its console handler.
        if MAIL_ADMINS not in config["handlers"]:
            config["handlers"][MAIL_ADMINS] = _mail_admins_handler()
            config["filters"].setdefault(
                REQUIRE_DEBUG_FALSE, {"()": "django.utils.log.RequireDebugFalse"}
            )
        loggers["django"] = {"handlers": [MAIL_ADMINS], "level": level, "propagate": True}
    if "django.server" not in loggers:
        loggers["django.server"] = {"handlers": [], "level": level, "propagate": True}


def _take_off_console(config: dict[str, Any]) -> None:
    """Take console handlers (``StreamHandler`` on stderr or stdout) off every logger of
    ``config``; their definitions stay, unused."""
    console = {
        name
        for name, handler in config["handlers"].items()
        if isinstance(handler, Mapping)
        and handler.get("class") in ("logging.StreamHandler", "ext://logging.StreamHandler")
        and handler.get("stream") in _CONSOLE_STREAMS
    }
    for entry in [config["root"], *config["loggers"].values()]:
        if "handlers" in entry:
            entry["handlers"] = [h for h in entry["handlers"] if h not in console]


def _add_sinks(config: dict[str, Any], options: Options) -> None:
    """Define dual_log's formatters and handlers in ``config`` and attach them."""
    sinks = sinks_config(**options)
    # Django applies LOGGING in every process that reads the settings, and the server owns
    # the signals (see the module's docstring).
    sinks["handlers"][FILE_HANDLER]["handle_signals"] = False
    config["formatters"].update(sinks["formatters"])
    config["handlers"].pop(STDOUT_HANDLER, None)
    config["handlers"].update(sinks["handlers"])
    names = list(sinks["handlers"])
    ours = {STDOUT_HANDLER, FILE_HANDLER}
    targets = [config["root"]]
    targets += [e for e in config["loggers"].values() if e.get("propagate", True) is False]
    for entry in targets:
        kept = [h for h in entry.get("handlers", ()) if h not in ours]
        entry["handlers"] = kept + names


def _mail_admins_handler() -> dict[str, Any]:
    # As in django.utils.log.DEFAULT_LOGGING: amend it here if Django changes it there.
    return {
        "level": "ERROR",
        "filters": [REQUIRE_DEBUG_FALSE],
        "class": "django.utils.log.AdminEmailHandler",
    }


class RequestIdMiddleware:
    """Gives each request an id, bound for every record logged while Django handles it.

    First in ``MIDDLEWARE``, so the other middleware's records are inside too::

        MIDDLEWARE = ["dual_log.django.RequestIdMiddleware", ...]

    The id is the value of the first of the request headers named by the
    ``DUAL_LOG_REQUEST_ID_HEADERS`` setting (else the environment variable of that name,
    else ``X-Request-Id``, then Fly.io's ``Fly-Request-Id``) that the request carries, or
    a new one. While the request is handled it is bound as ``request_id``
    (``dual_log.context``); it is sent back in the response header named first there
    (``X-Request-Id``) and kept in ``request.META["dual_log.request_id"]``, where the
    view finds it and gunicorn's access line (``integrations/gunicorn.conf.py``) does too.

    Django logs a 4xx or 5xx response on ``django.request`` ("Not Found: /path") after
    the last middleware has returned; this middleware has Django log it (with Django's own
    ``log_response``, which marks it logged) before the id is taken off, so that record
    carries the id too. Works in sync and async (ASGI) stacks.

    Raises:
        ValueError: a bad ``DUAL_LOG_REQUEST_ID_HEADERS``, naming the option.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        names = _request.header_names(getattr(django_settings, "DUAL_LOG_REQUEST_ID_HEADERS", None))
        self.response_header = _request.response_header(names)
        self._keys = _request.environ_keys(names)
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Handle ``request`` with its id bound (a coroutine in an async stack)."""
        if self._async:
            return self._handle_async(request)
        request_id = self._start(request)
        with context(**{_request.FIELD: request_id}):
            # Any: django-stubs types log_response's response as HttpResponse, which a
            # StreamingHttpResponse is not; Django logs either.
            response: Any = self.get_response(request)
            if response.status_code >= 400:
                log_response(
                    "%s: %s", response.reason_phrase, request.path,
                    response=response, request=request,
                )  # fmt: skip
        response[self.response_header] = request_id
        return response

    async def _handle_async(self, request: HttpRequest) -> Any:
        request_id = self._start(request)
        with context(**{_request.FIELD: request_id}):
            response: Any = await self.get_response(request)
            if response.status_code >= 400:
                # As Django's own async handler calls it (sync_to_async copies the context).
                await sync_to_async(log_response, thread_sensitive=False)(
                    "%s: %s", response.reason_phrase, request.path,
                    response=response, request=request,
                )  # fmt: skip
        response[self.response_header] = request_id
        return response

    def _start(self, request: HttpRequest) -> str:
        """The request's id, also left in ``request.META``."""
        request_id = _request.from_environ(request.META, self._keys)
        request.META[ENVIRON_KEY] = request_id
        return request_id
