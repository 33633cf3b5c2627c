"""Flask: every record, the app's own included, to stdout and to the rotating file.

One line, for an app built at import time::

    app = Flask(__name__)
    dual_log.setup(app)

or the extension, for the application-factory pattern::

    dual_log_ext = DualLogExtension()

    def create_app():
        app = Flask(__name__)
        app.config.from_prefixed_env()
        dual_log_ext.init_app(app)
        return app

Each option is resolved as keyword passed to the extension > ``app.config["DUAL_LOG_<NAME>"]``
> ``DUAL_LOG_<NAME>`` environment variable > default. The handlers go on the root logger
(unless ``logger`` says otherwise), so the records of ``app.logger``, werkzeug and every
library reach both sinks. Flask's own stderr handler (``flask.logging.default_handler``)
is taken off ``app.logger`` when the records reach dual_log's handlers anyway, so a line is
never printed twice. An unhandled exception in a view is logged by Flask on ``app.logger``
with its traceback, which lands in the file's ``exc_info``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import flask  # noqa: F401  # only to fail here, clearly, when Flask is missing
    from flask.logging import default_handler
except ImportError as exc:
    raise ImportError("dual_log.flask needs Flask: pip install 'dual-log-handler[flask]'") from exc

from dual_log._settings import OPTIONS, Settings
from dual_log._setup import DualLog, setup

if TYPE_CHECKING:
    import logging

    from flask import Flask

__all__ = ["EXTENSION_KEY", "DualLogExtension"]

# The key in app.extensions.
EXTENSION_KEY = "dual_log"


class DualLogExtension:
    """Attaches dual_log's two sinks when a Flask app is initialised.

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
        app: Flask | None = None,
        *,
        logger: logging.Logger | str | None = None,
        **options: Any,
    ) -> None:
        # Checked with an empty environment: a bad keyword fails here, not at init_app.
        Settings.resolve({}, **options)
        self.logger = logger
        self.options = {name: value for name, value in options.items() if value is not None}
        self.dual_log: DualLog | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> DualLog:
        """Read the options from ``app.config`` and attach the sinks.

        Every option's key is set in ``app.config`` (``DUAL_LOG_PATH``, ``DUAL_LOG_LEVEL``,
        ...) with ``setdefault``: None there means "not set here", so the environment
        variable or the default applies.

        Returns:
            The ``DualLog`` (also in ``self.dual_log`` and ``app.extensions["dual_log"]``).

        Raises:
            RuntimeError: dual_log is already registered on ``app``.
            ValueError: a bad value in ``app.config``, naming the option.
        """
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
        dual = setup(logger=self.logger, **given)
        self._quiet_default_handler(app, dual.logger)
        self.dual_log = dual
        app.extensions[EXTENSION_KEY] = self
        return dual

    @staticmethod
    def _quiet_default_handler(app: Flask, target: logging.Logger) -> None:
        """Take Flask's stderr handler off ``app.logger`` if its records reach ``target``."""
        logger: logging.Logger | None = app.logger
        while logger is not None:
            if logger is target:
                app.logger.removeHandler(default_handler)
                return
            if not logger.propagate:
                return
            logger = logger.parent
