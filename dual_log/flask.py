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

Each request gets an id (``request_ids=True``, the default): the value of its
``X-Request-Id`` header, else of Fly.io's ``Fly-Request-Id``, else a new one (the headers
are the ``request_id_headers`` option, ``app.config["DUAL_LOG_REQUEST_ID_HEADERS"]``). It
is bound as ``request_id`` for every record logged while the request is handled, the
exception Flask logs included, sent back in the ``X-Request-Id`` response header, and kept
in ``request.environ["dual_log.request_id"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    import flask  # noqa: F401  # only to fail here, clearly, when Flask is missing
    from flask import request
    from flask.logging import default_handler
except ImportError as exc:
    raise ImportError(
        "dual_log.flask needs Flask: pip install flask (or, in dual_log's checkout, "
        "pip install '.[flask]')"
    ) from exc

from dual_log import _request
from dual_log._app import EXTENSION_KEY, AppLogging

if TYPE_CHECKING:
    import logging
    from collections.abc import MutableMapping
    from typing import Any

__all__ = ["ENVIRON_KEY", "EXTENSION_KEY", "DualLogExtension"]
ENVIRON_KEY = _request.ENVIRON_KEY


class DualLogExtension(AppLogging):
    """Attaches dual_log's two sinks when a Flask app is initialised.

    ``DualLogExtension(app, **options)`` or ``DualLogExtension(**options)`` then
    ``init_app(app)``; the options are those of ``dual_log.setup()``, typed (see
    ``dual_log.Options``) and checked at once.

    Args:
        app: the app, to initialise it at once; or None, and call ``init_app`` later.
        logger: the logger (or its name) to attach to; default the root logger.
        request_ids: give each request an id (see the module's docstring). Default True.
        **options: the options of ``dual_log.setup()``; these win over ``app.config``.

    Attributes:
        dual_log: the ``DualLog`` of the last ``init_app``, with the sinks' counters and
            ``flush()``/``close()``; None before.

    Raises:
        TypeError: an unknown option.
        ValueError: a bad option value, naming the option, the value and what is allowed.
    """

    def console_handler(self) -> logging.Handler | None:
        """Flask's stderr handler on ``app.logger``, taken off when records reach dual_log."""
        handler: logging.Handler = default_handler
        return handler

    def request_environ(self) -> MutableMapping[str, Any]:
        """The WSGI environ of the request being handled."""
        environ: MutableMapping[str, Any] = request.environ
        return environ
