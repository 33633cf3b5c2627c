"""``dual_log.setup()``: one call, every record to stdout and to the rotating file."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from dual_log import _lifecycle
from dual_log._app import AppLogging
from dual_log._config import (
    FILE_HANDLER,
    HANDLER_NAMES,
    STDOUT_HANDLER,
    file_arguments,
    formatter_arguments,
)
from dual_log._file import FileHandler
from dual_log._formatting import JsonFormatter, TextFormatter
from dual_log._report import say
from dual_log._settings import Settings
from dual_log._stdout import StdoutHandler

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from dual_log._app import WebApp
    from dual_log._settings import Options


class DualLog:
    """What ``setup()`` attached: its handlers, its settings and the sinks' counters.

    Attributes:
        logger: the logger the handlers are attached to (the root logger by default).
        settings: every option as it was resolved.
        stdout_handler: the stdout sink, or None with ``stdout=False``.
        file_handler: the file sink.
    """

    def __init__(
        self,
        logger: logging.Logger,
        settings: Settings,
        stdout_handler: StdoutHandler | None,
        file_handler: FileHandler,
    ) -> None:
        self.logger = logger
        self.settings = settings
        self.stdout_handler = stdout_handler
        self.file_handler = file_handler

    @property
    def handlers(self) -> list[logging.Handler]:
        """The handlers attached, stdout first."""
        return [h for h in (self.stdout_handler, self.file_handler) if h is not None]

    @property
    def file_written(self) -> int:
        """Records written whole to the file by this process."""
        return self.file_handler.written

    @property
    def file_missed(self) -> int:
        """Records the file missed in this process: faults plus queue overflow."""
        return self.file_handler.missed

    @property
    def stdout_written(self) -> int:
        """Records written to stdout by this process."""
        return self.stdout_handler.written if self.stdout_handler else 0

    @property
    def stdout_missed(self) -> int:
        """Records stdout missed in this process (closed stream, broken pipe)."""
        return self.stdout_handler.missed if self.stdout_handler else 0

    def flush(self, timeout: float = 5.0) -> bool:
        """Write everything queued so far; False if ``timeout`` ran out first."""
        if self.stdout_handler is not None:
            self.stdout_handler.flush()
        return self.file_handler.flush(timeout)

    def close(self) -> None:
        """Write what is queued, then detach and close both handlers.

        The SIGTERM/SIGINT flush ``setup()`` installed is put back as it was only when no
        other file handler relies on it (another ``setup()``'s, one built with
        ``handle_signals=True``, or ``dual_log.install_signal_handlers()`` called).
        """
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        _lifecycle.release_signal_handlers(self.file_handler)

    def __repr__(self) -> str:
        return f"<DualLog {self.settings.path} on {self.logger.name!r}>"


def build_handlers(settings: Settings) -> tuple[StdoutHandler | None, FileHandler]:
    """The two handlers described by ``settings``, formatters, levels and names set."""
    stdout_handler = None
    if settings.stdout:
        stdout_handler = StdoutHandler()
        stdout_handler.set_name(STDOUT_HANDLER)
        stdout_handler.setLevel(settings.stdout_level)
        stdout_handler.setFormatter(_formatter(settings, settings.stdout_format))
    file_handler = FileHandler(**file_arguments(settings))
    file_handler.set_name(FILE_HANDLER)
    file_handler.setLevel(settings.file_level)
    file_handler.setFormatter(_formatter(settings, settings.file_format))
    return stdout_handler, file_handler


def _formatter(settings: Settings, kind: str) -> logging.Formatter:
    arguments = formatter_arguments(settings, kind)
    if kind == "json":
        return JsonFormatter(**arguments)
    return TextFormatter(**arguments)


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
    settings = Settings.resolve(**options)
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    stdout_handler, file_handler = build_handlers(settings)
    if settings.handle_signals and settings.queue:
        # Claimed before the previous pair is released, so the flush is never off between.
        _lifecycle.install_signal_handlers(owner=file_handler)
    detach(target)
    for handler in (stdout_handler, file_handler):
        if handler is not None:
            target.addHandler(handler)
    target.setLevel(settings.level)
    _warn_about_doubles(target)
    return DualLog(target, settings, stdout_handler, file_handler)


def detach(logger: logging.Logger) -> None:
    """Remove and close the handlers a previous ``setup()`` (or a config from
    ``dual_log.logging_config()``) attached to ``logger``, found by their names."""
    for handler in list(logger.handlers):
        if handler.get_name() in HANDLER_NAMES:
            logger.removeHandler(handler)
            handler.close()
            _lifecycle.release_signal_handlers(handler)


def _warn_about_doubles(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if handler.get_name() in HANDLER_NAMES or type(handler) is not logging.StreamHandler:
            continue
        if getattr(handler, "stream", None) in (sys.stdout, sys.stderr):
            say(
                f"{logger.name!r} also has {handler!r}, which dual_log did not attach: "
                "records will show twice on the console. Remove it, or pass stdout=False."
            )
