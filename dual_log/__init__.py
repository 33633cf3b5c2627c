"""dual_log: every log record to stdout and to a rotating file on a volume, at once.

The platform ships stdout over its network; the file on a volume is the copy that
survives when that pipeline does not. ``dual_log.setup()`` attaches both sinks to the
root logger; ``dual_log.logging_config()`` returns the same pair as a
``logging.config.dictConfig`` dict, and the handler and formatter classes below can be
named from any such dict (and so from Django's ``LOGGING``).

Framework integrations live in ``dual_log.django``, ``dual_log.flask`` and
``dual_log.asgi``, which this module never imports.
"""

from __future__ import annotations

from dual_log._config import logging_config
from dual_log._context import bind, context, unbind
from dual_log._format.formatters import JsonFormatter, TextFormatter
from dual_log._format.redact import MASK, SENSITIVE_KEYS, Redactor
from dual_log._options import OPTIONS, Options, Settings
from dual_log._setup import DualLog, setup, stats
from dual_log._write.file import FileHandler
from dual_log._write.lifecycle import flush_all, install_signal_handlers
from dual_log._write.stdout import StdoutHandler

__version__ = "0.1.0"

__all__ = [
    "MASK",
    "OPTIONS",
    "SENSITIVE_KEYS",
    "DualLog",
    "FileHandler",
    "JsonFormatter",
    "Options",
    "Redactor",
    "Settings",
    "StdoutHandler",
    "TextFormatter",
    "__version__",
    "bind",
    "context",
    "flush_all",
    "install_signal_handlers",
    "logging_config",
    "setup",
    "stats",
    "unbind",
]
