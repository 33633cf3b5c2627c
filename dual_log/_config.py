"""``dual_log.logging_config()``: the two sinks as a ``logging.config.dictConfig`` dict.

This is the one place where resolved settings become handler and formatter arguments:
``setup()`` builds its handlers with them, and the Django helper, the gunicorn settings
and the config files in ``integrations/`` are this function's output (the tests compare
them). Which class takes which option is said once, in ``_settings.OPTIONS`` (``sink``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dual_log._facts import level_name
from dual_log._options import FILE, FORMATTER, JSON, OPTIONS, TEXT, Settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Unpack

    from dual_log._options import Options

# The names dual_log's handlers and formatters have in a config dict, and the names
# setup() gives its handlers: a setup() call replaces handlers so named on its logger, so
# an application that calls setup() after a server applied this dict has one pair, not two.
STDOUT_HANDLER = "dual_log_stdout"
FILE_HANDLER = "dual_log_file"
TEXT_FORMATTER = "dual_log_text"
JSON_FORMATTER = "dual_log_json"
HANDLER_NAMES = (STDOUT_HANDLER, FILE_HANDLER)
# What no option is given: the levels are written only when they differ from it.
DEFAULTS = Settings()
# The classes, by the dotted paths dictConfig imports.
CLASSES = {
    STDOUT_HANDLER: "dual_log.StdoutHandler",
    FILE_HANDLER: "dual_log.FileHandler",
    TEXT_FORMATTER: "dual_log.TextFormatter",
    JSON_FORMATTER: "dual_log.JsonFormatter",
}


def logging_config(**options: Unpack[Options]) -> dict[str, Any]:
    """A ``dictConfig`` dict sending every record to stdout and to the rotating file.

    The root logger gets the two handlers (``"dual_log_stdout"``, ``"dual_log_file"``),
    each with its formatter (``"dual_log_text"``, ``"dual_log_json"``), named by dotted
    class paths; ``disable_existing_loggers`` is False, so loggers made before it is
    applied keep logging. Options are those of ``setup()``, resolved the same way
    (keyword > ``DUAL_LOG_*`` > default) and checked at once. A handler's or formatter's
    option given here is written as it was given (``"64MiB"`` stays text, for the class to
    parse); one not given is left out, so the class resolves it when it is built, and a
    dict written to a file keeps following the environment. The levels and the formats,
    which no class reads from the environment, are written as resolved.
    ``handle_signals`` (default True) is written on the file handler.

    Args:
        **options: the options of ``setup()``: ``path``, ``level``, ``keep``, ...

    Returns:
        A new dict for ``logging.config.dictConfig``; plain data (JSON-serialisable).

    Raises:
        ValueError: a bad option value, naming the option, the value and what is allowed.
        TypeError: an unknown option.
    """
    settings = Settings.resolve(**options)
    given = {name: value for name, value in options.items() if value is not None}
    handlers = sink_handlers(settings, given)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            TEXT_FORMATTER: {
                "()": CLASSES[TEXT_FORMATTER],
                **formatter_arguments(settings, "text", given),
            },
            JSON_FORMATTER: {
                "()": CLASSES[JSON_FORMATTER],
                **formatter_arguments(settings, "json", given),
            },
        },
        "handlers": handlers,
        "root": {"level": config_level(settings.level), "handlers": list(handlers)},
    }


def sink_handlers(settings: Settings, given: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The handler entries of the config dict, stdout first (none with ``stdout=False``)."""
    handlers: dict[str, dict[str, Any]] = {}
    if settings.stdout:
        handlers[STDOUT_HANDLER] = {
            "class": CLASSES[STDOUT_HANDLER],
            "formatter": formatter_name(settings.stdout_format),
        }
        if settings.stdout_level != DEFAULTS.stdout_level:
            handlers[STDOUT_HANDLER]["level"] = config_level(settings.stdout_level)
    handlers[FILE_HANDLER] = {
        "class": CLASSES[FILE_HANDLER],
        "formatter": formatter_name(settings.file_format),
        **file_arguments(settings, given),
        # FileHandler's own default is False (a server usually owns the signals); the
        # option's is True, as for setup(): so it is always written.
        "handle_signals": settings.handle_signals,
    }
    if settings.file_level != DEFAULTS.file_level:
        handlers[FILE_HANDLER]["level"] = config_level(settings.file_level)
    return handlers


def file_arguments(settings: Settings, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``dual_log.FileHandler`` keyword arguments: all of them, resolved; or with ``given``,
    only those given, as they were given."""
    return _arguments(settings, (FILE,), given)


def formatter_arguments(
    settings: Settings, kind: str, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword arguments of the ``"text"`` or ``"json"`` formatter (as ``file_arguments``)."""
    return _arguments(settings, (FORMATTER, JSON) if kind == "json" else (FORMATTER, TEXT), given)


def _arguments(
    settings: Settings, sinks: tuple[str, ...], given: Mapping[str, Any] | None
) -> dict[str, Any]:
    if given is None:  # setup(): the parsed values, which the classes take as they are
        return {o.keyword: getattr(settings, o.name) for o in OPTIONS if o.sink in sinks}
    return {
        option.keyword: _plain(given[option.name])
        for option in OPTIONS
        if option.sink in sinks and option.name in given
    }


def _plain(value: Any) -> Any:
    """A tuple as a list, so a dict of plain values is one JSON or YAML write as they read it."""
    return list(value) if isinstance(value, tuple) else value


def formatter_name(kind: str) -> str:
    """The config dict's name of the ``"json"`` or ``"text"`` formatter."""
    return JSON_FORMATTER if kind == "json" else TEXT_FORMATTER


def config_level(level: int) -> str | int:
    """``"INFO"`` for 20; a level without a name stays a number, which dictConfig accepts."""
    name = level_name(level)
    return level if name.startswith("Level ") else name
