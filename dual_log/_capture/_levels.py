"""Level names and numbers as the capture writes and filters them.

Every level the capture writes is a Python level name (``DEBUG`` to ``CRITICAL``) when
the word it came with is one it knows: the platform's and syslog's words (``warn``,
``err``, ``crit``), any case, and pino's and bunyan's numbers. ``--level`` keeps that
level and above, as ``dual-log cat --level`` does: the names and numbers are the ones
the reader compares (``dual_log._facts``), and a level the capture does not know passes.
"""

from __future__ import annotations

from dual_log._facts import level_number

# The words apps and the platform write, and the Python level name each one is written as.
WORDS = {
    "trace": "DEBUG",
    "debug": "DEBUG",
    "info": "INFO",
    "notice": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
    "alert": "CRITICAL",
    "emerg": "CRITICAL",
}
# pino's and bunyan's numeric levels (Python's own numbers are not written as numbers by
# any logger the capture reads, so a number in a JSON line is taken as theirs).
NUMBERS = {10: "DEBUG", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL"}


def level_from_word(word: str) -> str:
    """The Python level name for a level word (``"warn"`` -> ``WARNING``); else upper case.

    ``Level 5``, logging's own name for a level without one, stays as it is.
    """
    text = word.strip()
    name = WORDS.get(text) or WORDS.get(text.lower())
    if name is not None:
        return name
    return text if text.startswith("Level ") and text[6:].isdigit() else text.upper()


def level_value(name: object) -> int | None:
    """What a written level is worth to ``--level``; None for a level not known here."""
    return level_number(name) if type(name) is str else None
