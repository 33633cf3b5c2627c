"""Attaching the sinks when a web application is initialised, Flask-style, importing no framework.

``dual_log.setup(app)`` and ``dual_log.flask.DualLogExtension`` both come here. The steps
need only what a Flask application offers publicly (``app.config``, ``app.extensions``,
``app.logger``, ``app.name``), so the core reads those rather than importing
``dual_log.flask``: ``import dual_log`` never imports Flask, and no module of the core
depends on an integration. ``dual_log.flask`` adds the clear ``ImportError`` and the names
Flask users look for.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Protocol

from dual_log._options import OPTIONS, Settings
from dual_log._sinks import attach

if TYPE_CHECKING:
    import logging
    from collections.abc import MutableMapping

    from typing_extensions import Unpack

    from dual_log._options import Options
    from dual_log._sinks import DualLog

# The key in app.extensions.
EXTENSION_KEY = "dual_log"


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


class AppLogging:
    """Attaches dual_log's two sinks when an application is initialised.

    Args:
        app: the app, to initialise it at once; or None, and call ``init_app`` later.
        logger: the logger (or its name) to attach to; default the root logger.
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
        **options: Unpack[Options],
    ) -> None:
        if app is not None:
            _check(app)
        # Checked with an empty environment: a bad keyword fails here, not at init_app.
        Settings.resolve({}, **options)
        self.logger = logger
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
        self.dual_log = dual
        app.extensions[EXTENSION_KEY] = self
        return dual

    def console_handler(self) -> logging.Handler | None:
        """The handler the framework puts on ``app.logger`` to print to the console.

        Flask's is ``flask.logging.default_handler``. A Flask app exists only once
        ``flask.logging`` is imported, so it is looked up, never imported, here.
        """
        return getattr(sys.modules.get("flask.logging"), "default_handler", None)

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
    missing = [
        name for name in ("config", "extensions", "logger", "name") if not hasattr(app, name)
    ]
    if missing:
        raise TypeError(
            "dual_log: setup(app) needs a Flask app (or one with its config, extensions, "
            f"logger and name); got {type(app).__name__}, without {', '.join(missing)}"
        )
