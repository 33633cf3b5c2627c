"""Masking the values of sensitive keys before either sink writes them (opt-in).

Applied by both formatters to their own copy of the record: to ``extra`` fields, to
mapping arguments (``log.info("user %(user)s", {"user": u, "password": p})``), to a
dict message, and to dicts and lists nested in them. The caller's objects are never
changed; masked containers are copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.core import RESERVED_ATTRS

if TYPE_CHECKING:
    import logging

MASK = "[REDACTED]"
# Matched as substrings of the lower-cased key: "db_password", "X-Auth-Token", "api_key".
SENSITIVE_KEYS = (
    "password", "passwd", "secret", "token", "authorization", "api_key", "apikey",
    "cookie", "session", "credential", "private_key",
)  # fmt: skip
_RECORD_FIELDS = frozenset(RESERVED_ATTRS) | {"message", "asctime"}
_DEPTH = 8


class Redactor:
    """Masks values whose key contains one of ``keys`` (case-insensitive).

    Args:
        keys: substrings that mark a key as sensitive; default ``SENSITIVE_KEYS``.
    """

    def __init__(self, keys: Iterable[str] = SENSITIVE_KEYS) -> None:
        self.keys = tuple(k.lower() for k in keys)
        if not self.keys or not all(self.keys):
            raise ValueError("dual_log: invalid redact keys; allowed: non-empty strings")

    def sensitive(self, key: object) -> bool:
        """Whether ``key`` names a value to mask."""
        return isinstance(key, str) and any(k in key.lower() for k in self.keys)

    def value(self, value: Any, depth: int = 0) -> Any:
        """``value`` with the sensitive entries of nested mappings and lists masked."""
        if depth >= _DEPTH:
            return value
        if isinstance(value, Mapping):
            return {
                k: MASK if self.sensitive(k) else self.value(v, depth + 1) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v, depth + 1) for v in value)
        return value

    def apply(self, copy: logging.LogRecord) -> None:
        """Mask, in place, the sensitive parts of ``copy`` (a copy made by dual_log)."""
        if isinstance(copy.args, Mapping):
            copy.args = self.value(copy.args)
        if isinstance(copy.msg, Mapping):
            copy.msg = self.value(copy.msg)
        for key, value in list(copy.__dict__.items()):
            if key in _RECORD_FIELDS:
                continue
            copy.__dict__[key] = MASK if self.sensitive(key) else self.value(value)
