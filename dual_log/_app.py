"""Attaching the sinks when a web application is initialised, Flask-style, importing no framework.

``dual_log.setup(app)`` and ``dual_log.flask.DualLogExtension`` both come here. The steps
need only what a Flask application offers publicly (``app.config``, ``app.extensions``,
``app.logger``, ``app.name``, and its ``before_request``, ``after_request`` and
``teardown_request`` hooks), so the core reads those rather than importing
``dual_log.flask``: ``import dual_log`` never imports Flask, and no module of the core
depends on an integration. ``dual_log.flask`` adds the clear ``ImportError`` and the names
Flask users look for.

Request ids (``request_ids=True``, the default): ``before_request`` takes the request's id
from the headers named by the ``request_id_headers`` option (else makes one) and binds it
as ``request_id`` with ``dual_log.context``; ``after_request`` puts it in the response
header; ``teardown_request``, which Flask runs last, also after an unhandled exception was
logged, takes it off. The id and the bound context are kept in the request's WSGI environ,
where gunicorn's access line (``integrations/gunicorn.conf.py``) finds the id.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Protocol

from dual_log import _request
from dual_log._context import context
from dual_log._options import OPTIONS, Settings
from dual_log._sinks import attach

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, MutableMapping, Sequence

    from typing_extensions import Unpack

    from dual_log._options import Options
    from dual_log._sinks import DualLog

# The key in app.extensions.
EXTENSION_KEY = "dual_log"
# Where a request's bound context waits, in its environ, for teardown_request.
_CONTEXT_KEY = "dual_log.request_context"


# What WebApp names: the attributes _check() looks for.
_APP_ATTRIBUTES = (
    "config", "extensions", "logger", "name",
    "before_request", "after_request", "teardown_request",
)  # fmt: skip


class WebApp(Protocol):
    """What dual_log uses of an application: Flask's public attributes of the same names."""

    @property
    def config(self) -> MutableMapping[str, Any]: ...
    @property
    def extensions(self) -> MutableMapping[str, Any]: ...
    @property
    def logger(self) -> logging.Logger: ...
    @property
    def name(self) -> str: ...
    def before_request(self, f: Any) -> Any: ...
    def after_request(self, f: Any) -> Any: ...
    def teardown_request(self, f: Any) -> Any: ...


class AppLogging:
    """Attaches dual_log's two sinks when an application is initialised.

    Args:
        app: the app, to initialise it at once; or None, and call ``init_app`` later.
        logger: the logger (or its name) to attach to; default the root logger.
        request_ids: give each request an id, bound as ``request_id`` for its records
            and sent back in a response header (see the module's docstring). Default True.
        **options: the options of ``dual_log.setup()``; these win over ``app.config``.
            Names and values are checked here, at once.

    Attributes:
        dual_log: the ``DualLog`` of the last ``init_app``, with the sinks' counters and
            ``flush()``/``close()``; None before.

    Raises:
        TypeError: an unknown option.
        ValueError: a bad option value, naming the option, the value and what is allowed.
    """

    def __init__(
        self,
        app: WebApp | None = None,
        *,
        logger: logging.Logger | str | None = None,
        request_ids: bool = True,
        **options: Unpack[Options],
    ) -> None:
        if app is not None:
            _check(app)
        # Checked with an empty environment: a bad keyword fails here, not at init_app.
        Settings.resolve({}, **options)
        self.logger = logger
        self.request_ids = request_ids
        self.options = {name: value for name, value in options.items() if value is not None}
        self.dual_log: DualLog | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: WebApp) -> DualLog:
        """Read the options from ``app.config`` and attach the sinks.

        Every option's key is set in ``app.config`` (``DUAL_LOG_PATH``, ``DUAL_LOG_LEVEL``,
        ...) with ``setdefault``: None there means "not set here", so the environment
        variable or the default applies.

        Returns:
            The ``DualLog`` (also in ``self.dual_log``; ``self`` is in
            ``app.extensions["dual_log"]``).

        Raises:
            RuntimeError: dual_log is already registered on ``app``.
            ValueError: a bad value in ``app.config``, naming the option.
        """
        _check(app)
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"dual_log is already registered on the Flask app {app.name!r}: call "
                "dual_log.setup(app), DualLogExtension(app) or init_app(app) once per app."
            )
        given: dict[str, Any] = {}
        for option in OPTIONS:
            key = "DUAL_LOG_" + option.name.upper()
            from_config = app.config.setdefault(key, None)
            given[option.name] = self.options.get(option.name, from_config)
        dual = attach(Settings.resolve(**given), self.logger)
        self._quiet_console_handler(app, dual.logger)
        if self.request_ids:
            self._add_request_ids(app, dual.settings.request_id_headers)
        self.dual_log = dual
        app.extensions[EXTENSION_KEY] = self
        return dual

    def console_handler(self) -> logging.Handler | None:
        """The handler the framework puts on ``app.logger`` to print to the console.

        Flask's is ``flask.logging.default_handler``. A Flask app exists only once
        ``flask.logging`` is imported, so it is looked up, never imported, here.
        """
        return getattr(sys.modules.get("flask.logging"), "default_handler", None)

    def request_environ(self) -> MutableMapping[str, Any]:
        """The WSGI environ of the request being handled: Flask's ``request.environ``.

        Looked up, never imported, here, as in ``console_handler``.
        """
        environ: MutableMapping[str, Any] = sys.modules["flask"].request.environ
        return environ

    def _add_request_ids(self, app: WebApp, names: Sequence[str]) -> None:
        """Register the hooks that bind, send back and take off each request's id."""
        keys = _request.environ_keys(names)
        header = _request.response_header(names)
        environ_of: Callable[[], MutableMapping[str, Any]] = self.request_environ

        def bind_request_id() -> None:
            environ = environ_of()
            request_id = _request.from_environ(environ, keys)
            bound = context(**{_request.FIELD: request_id})
            bound.__enter__()
            environ[_request.ENVIRON_KEY] = request_id
            environ[_CONTEXT_KEY] = bound

        def send_request_id(response: Any) -> Any:
            request_id = environ_of().get(_request.ENVIRON_KEY)
            if request_id is not None:
                response.headers[header] = request_id
            return response

        def unbind_request_id(error: BaseException | None) -> None:
            bound = environ_of().pop(_CONTEXT_KEY, None)
            if bound is not None:
                bound.__exit__(None, None, None)

        app.before_request(bind_request_id)
        app.after_request(send_request_id)
        app.teardown_request(unbind_request_id)

    def _quiet_console_handler(self, app: WebApp, target: logging.Logger) -> None:
        """Take the console handler off ``app.logger`` if its records reach ``target``."""
        handler = self.console_handler()
        logger: logging.Logger | None = app.logger
        while handler is not None and logger is not None:
            if logger is target:
                app.logger.removeHandler(handler)
                return
            if not logger.propagate:
                return
            logger = logger.parent


def _check(app: object) -> None:
    missing = [name for name in _APP_ATTRIBUTES if not hasattr(app, name)]
    if missing:
        raise TypeError(
            "dual_log: setup(app) needs a Flask app (or one with its config, extensions, "
            "logger, name and request hooks); got "
            f"{type(app).__name__}, without {', '.join(missing)}"
        )
