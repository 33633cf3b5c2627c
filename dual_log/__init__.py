"""dual_log: every log record to stdout and to a rotating file on a volume, at once.

The platform ships stdout over its network; the file on a volume is the copy that
survives when that pipeline does not. ``dual_log.setup()`` attaches both sinks to the
root logger; ``dual_log.logging_config()`` returns the same pair as a
``logging.config.dictConfig`` dict, and the handler and formatter classes below can be
named from any such dict (and so from Django's ``LOGGING``).

Framework integrations live in ``dual_log.django``, ``dual_log.flask`` and
``dual_log.asgi``, which this module never imports. Each name below is imported from its
module when first used, so ``import dual_log`` costs next to nothing until something is
set up.
"""

from __future__ import annotations

import importlib

# typing's own flag costs an import of typing; type checkers take this one alike.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dual_log._config import logging_config
    from dual_log._context import bind, context, unbind
    from dual_log._format.json import JsonFormatter
    from dual_log._format.redact import MASK, SENSITIVE_KEYS, Redactor
    from dual_log._format.text import TextFormatter
    from dual_log._options import OPTIONS, Options, Settings
    from dual_log._setup import setup
    from dual_log._sinks import DualLog, stats
    from dual_log._write.file import FileHandler
    from dual_log._write.lifecycle import flush_all, install_signal_handlers
    from dual_log._write.stdout import StdoutHandler

__version__ = "0.1.0"

# Where each public name lives (PEP 562): imported on first use, then kept here.
_HOMES = {
    "DualLog": "dual_log._sinks",
    "FileHandler": "dual_log._write.file",
    "JsonFormatter": "dual_log._format.json",
    "MASK": "dual_log._format.redact",
    "OPTIONS": "dual_log._options",
    "Options": "dual_log._options",
    "Redactor": "dual_log._format.redact",
    "SENSITIVE_KEYS": "dual_log._format.redact",
    "Settings": "dual_log._options",
    "StdoutHandler": "dual_log._write.stdout",
    "TextFormatter": "dual_log._format.text",
    "bind": "dual_log._context",
    "context": "dual_log._context",
    "flush_all": "dual_log._write.lifecycle",
    "install_signal_handlers": "dual_log._write.lifecycle",
    "logging_config": "dual_log._config",
    "setup": "dual_log._setup",
    "stats": "dual_log._sinks",
    "unbind": "dual_log._context",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dual_log' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
