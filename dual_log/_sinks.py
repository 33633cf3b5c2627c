"""The pair of sinks ``setup()`` attaches: built from settings, put in place of the previous
pair in one step, and the ``DualLog`` that holds them and their counters."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from dual_log._config import (
    FILE_HANDLER,
    HANDLER_NAMES,
    STDOUT_HANDLER,
    file_arguments,
    formatter_arguments,
)
from dual_log._format.json import JsonFormatter
from dual_log._format.text import TextFormatter
from dual_log._report import say
from dual_log._write import lifecycle as _lifecycle
from dual_log._write import stdout as _stdout
from dual_log._write.file import FileHandler
from dual_log._write.stdout import StdoutHandler

if TYPE_CHECKING:
    from dual_log._options import Settings


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

    def stats(self) -> dict[str, dict[str, int | bool]]:
        """The counters of this pair, ``{"stdout": {...}, "file": {...}}``: see
        ``StdoutHandler.stats`` and ``FileHandler.stats``."""
        found = {"file": self.file_handler.stats()}
        if self.stdout_handler is not None:
            found["stdout"] = self.stdout_handler.stats()
        return found

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


def attach(settings: Settings, logger: logging.Logger | str | None = None) -> DualLog:
    """Attach the two sinks ``settings`` describe to ``logger`` (default: the root logger),
    in place of the pair a previous call attached; see ``dual_log.setup()``."""
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    stdout_handler, file_handler = build_handlers(settings)
    if settings.handle_signals and settings.queue:
        # Claimed before the previous pair is released, so the flush is never off between.
        _lifecycle.install_signal_handlers(owner=file_handler)
    replace(target, [h for h in (stdout_handler, file_handler) if h is not None])
    target.setLevel(settings.level)
    _warn_about_doubles(target)
    return DualLog(target, settings, stdout_handler, file_handler)


def replace(logger: logging.Logger, handlers: list[logging.Handler]) -> None:
    """Put ``handlers`` on ``logger`` in place of those a previous ``setup()`` attached.

    In one step: the logger's handler list is changed by a single slice assignment, which
    runs no Python code, so no record (from another thread, or a signal handler) finds
    neither pair attached, and none finds both. The old pair is closed after, writing
    what it had queued.
    """
    attached = logger.handlers
    old = [h for h in attached if h.get_name() in HANDLER_NAMES]
    attached[:] = [h for h in attached if h not in old] + [h for h in handlers if h not in attached]
    for handler in old:
        handler.close()
        _lifecycle.release_signal_handlers(handler)


def stats() -> dict[str, dict[str, int | bool]]:
    """The counters of every dual_log sink in this process, by sink: ``"stdout"`` (all
    stdout sinks together) and each log file's path.

    Each holds ``written`` and ``missed`` records; a file also ``dropped`` (queue full) and
    ``lost`` (given up) within ``missed``, ``pending``, and ``errors`` (exceptions of
    dual_log's own, said on stderr); both say whether they are ``failing`` now and how
    many ``faults`` (episodes) they had. A process's own counts: a forked child starts
    from zero.
    """
    found: dict[str, dict[str, int | bool]] = {}
    for handler in list(_stdout.live):
        total = found.setdefault("stdout", {"written": 0, "missed": 0, "failing": False,
                                            "faults": 0})  # fmt: skip
        for key, value in handler.stats().items():
            total[key] = (total[key] or value) if isinstance(value, bool) else total[key] + value
    for file_handler in _lifecycle.live_handlers():
        counts = file_handler.stats()
        previous = found.get(file_handler.path)
        if previous is not None:  # two handlers on one file (a second setup()): summed
            counts = {
                k: (v or previous[k]) if isinstance(v, bool) else v + previous[k]
                for k, v in counts.items()
            }
        found[file_handler.path] = counts
    return found


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
