"""``dual_log.setup()``: one call, every record to stdout and to the rotating file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dual_log._app import AppLogging
from dual_log._options import Settings
from dual_log._sinks import attach

if TYPE_CHECKING:
    import logging

    from typing_extensions import Unpack

    from dual_log._app import WebApp
    from dual_log._options import Options
    from dual_log._sinks import DualLog


def setup(
    app: WebApp | None = None,
    /,
    *,
    logger: logging.Logger | str | None = None,
    **options: Unpack[Options],
) -> DualLog:
    """Send every record of ``logger`` (the root logger: every logger) to stdout and a file.

    Each option is resolved as keyword argument > ``DUAL_LOG_*`` environment variable >
    default; the README lists them all. Calling it again replaces the handlers the
    previous call attached (the handlers named ``"dual_log_stdout"`` and
    ``"dual_log_file"`` on that logger, as ``dual_log.logging_config()`` names them too),
    and touches no other handler.

    Args:
        app: a Flask application, for ``dual_log.setup(app)``: its ``app.config`` is read
            as ``dual_log.flask.DualLogExtension`` reads it.
        logger: the logger (or its name) to attach to; default the root logger.
        **options: ``path``, ``level``, ``keep``, ``max_bytes``, ``when``, ``compress``,
            ``stdout_format``, ``file_format`` and the others in the README.

    Returns:
        The ``DualLog`` whose ``close()`` flushes and detaches, with the sinks' counters.

    Raises:
        ValueError: a bad option value, naming the option, the value and what is allowed.
        TypeError: an unknown option.
    """
    if app is not None:
        extension = AppLogging(app, logger=logger, **options)
        assert extension.dual_log is not None
        return extension.dual_log
    return attach(Settings.resolve(**options), logger)
