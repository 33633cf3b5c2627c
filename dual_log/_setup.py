"""``dual_log.setup()``: one call, every record to stdout and to the rotating file."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from dual_log import _lifecycle
from dual_log._file import FileHandler
from dual_log._formatting import JsonFormatter, TextFormatter
from dual_log._report import say
from dual_log._settings import Settings
from dual_log._stdout import StdoutHandler

if TYPE_CHECKING:
    from collections.abc import Mapping

# Marks the handlers setup() attached, so a second call replaces exactly those.
_OWNED = "_dual_log_setup"


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
        """Write what is queued, then detach and close both handlers."""
        for handler in self.handlers:
            self.logger.removeHandler(handler)
            handler.close()
        if self.settings.handle_signals:
            _lifecycle.uninstall_signal_handlers()

    def __repr__(self) -> str:
        return f"<DualLog {self.settings.path} on {self.logger.name!r}>"


def build_handlers(settings: Settings) -> tuple[StdoutHandler | None, FileHandler]:
    """The two handlers described by ``settings``, formatters and levels set."""
    fields: Mapping[str, Any] = settings.static_fields
    stdout_handler = None
    if settings.stdout:
        stdout_handler = StdoutHandler()
        stdout_handler.setLevel(settings.stdout_level)
        stdout_handler.setFormatter(
            _formatter(settings.stdout_format, fields, settings.platform_fields, settings.redact)
        )
    file_handler = FileHandler(
        settings.path,
        max_bytes=settings.max_bytes,
        keep=settings.keep,
        when=settings.when,
        compress=settings.compress,
        max_age_days=settings.max_age_days,
        queue=settings.queue,
        queue_size=settings.queue_size,
        queue_timeout=settings.queue_timeout,
        flush_interval=settings.flush_interval,
        flush_bytes=settings.flush_bytes,
        min_free=settings.min_free,
        create_dirs=settings.create_dirs,
        file_mode=settings.file_mode,
        dir_mode=settings.dir_mode,
    )
    file_handler.setLevel(settings.file_level)
    file_handler.setFormatter(
        _formatter(settings.file_format, fields, settings.platform_fields, settings.redact)
    )
    return stdout_handler, file_handler


def _formatter(
    kind: str, fields: Mapping[str, Any], platform: bool, redact: bool
) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(static_fields=fields, platform_fields=platform, redact=redact)
    return TextFormatter(redact=redact)


def setup(
    app: Any = None,
    /,
    *,
    logger: logging.Logger | str | None = None,
    **options: Any,
) -> DualLog:
    """Send every record of ``logger`` (the root logger: every logger) to stdout and a file.

    Each option is resolved as keyword argument > ``DUAL_LOG_*`` environment variable >
    default; the README lists them all. Calling it again replaces the handlers the
    previous call attached, and touches no other handler.

    Args:
        app: a Flask application, for ``dual_log.setup(app)``; see ``dual_log.flask``.
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
        from dual_log.flask import DualLogExtension  # imports Flask only when asked to

        extension = DualLogExtension(app, logger=logger, **options)
        assert extension.dual_log is not None
        return extension.dual_log
    settings = Settings.resolve(**options)
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    stdout_handler, file_handler = build_handlers(settings)
    detach(target)
    for handler in (stdout_handler, file_handler):
        if handler is not None:
            setattr(handler, _OWNED, True)
            target.addHandler(handler)
    target.setLevel(settings.level)
    if settings.handle_signals and settings.queue:
        _lifecycle.install_signal_handlers()
    _warn_about_doubles(target)
    return DualLog(target, settings, stdout_handler, file_handler)


def detach(logger: logging.Logger) -> None:
    """Remove and close the handlers a previous ``setup()`` attached to ``logger``."""
    for handler in list(logger.handlers):
        if getattr(handler, _OWNED, False):
            logger.removeHandler(handler)
            handler.close()


def _warn_about_doubles(logger: logging.Logger) -> None:
    for handler in logger.handlers:
        if getattr(handler, _OWNED, False) or type(handler) is not logging.StreamHandler:
            continue
        if getattr(handler, "stream", None) in (sys.stdout, sys.stderr):
            say(
                f"{logger.name!r} also has {handler!r}, which dual_log did not attach: "
                "records will show twice on the console. Remove it, or pass stdout=False."
            )
