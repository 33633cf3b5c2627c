"""Masking secrets before either sink writes them (opt-in).

Applied by both formatters to their own copy of the record. Two kinds of masking:

- by key: the values of sensitive keys in ``extra`` fields, in mapping arguments
  (``log.info("user %(user)s", {"user": u, "password": p})``), in a dict message, and in
  dicts and lists nested in them;
- in text: the rendered message, the traceback and every string value, where
  ``key=value`` / ``key: value`` pairs of sensitive keys (also quoted, as in JSON or a
  dict's repr), passwords in URLs (``https://bob:pw@host``), ``Authorization`` headers and
  ``Bearer`` tokens are masked, and so are the matches of the user's own patterns.

The caller's objects are never changed; masked containers are copies. The README lists
what is and is not caught: amend it there if edited here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.core import RESERVED_ATTRS

from dual_log import _options

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

# Every repetition that can backtrack is bounded, so no text makes these patterns slower
# than linear (a megabyte message is scanned, not tried a million times).
# The password of a URL: scheme://user:password@host. The password runs to the last "@"
# before the path, so a password holding "@" is masked whole.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]{0,30}://[^\s:/?#@]{0,256}:)[^\s/?#]{0,1024}(?=@)"
)
# A bearer token anywhere: "Bearer eyJhbGciOi..." (RFC 6750's token characters).
_BEARER = re.compile(r"(?P<head>\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# A key=value or key: value pair whose key holds a sensitive word. The key starts a word
# (so a long word is tried once, not at each of its characters), may be quoted (JSON, a
# dict's repr), and an authorization scheme after the separator is kept; a quoted value is
# masked up to its closing quote, a bare one up to a space, quote, "&", ",", ";" or bracket.
_SCHEME = r"(?:Bearer|Basic|Digest|Token|Negotiate|NTLM|ApiKey)[ \t]+"
_KEY_VALUE = (
    r"(?P<head>(?<![\w.-])[\w.-]{0,40}(?:KEYS)[\w.-]{0,40}[\"']?[ \t]{0,8}[:=][ \t]{0,8}"
    r"(?:(?P<quote>[\"'])|(?:" + _SCHEME + r")?))"
    # A masked value, or the scheme of one, is left as it is: masking twice changes nothing.
    r"(?(quote)(?:(?!(?P=quote)).)*|(?!\[REDACTED\]|" + _SCHEME + r")[^\s\"'&,;)}\]]+)"
)


class Redactor:
    """Masks secrets: values of sensitive keys, and secrets written in text.

    Args:
        keys: substrings that mark a key as sensitive (case-insensitive); default
            ``SENSITIVE_KEYS``.
        patterns: regular expressions (text or compiled) whose matches in text are masked;
            in a pattern with groups, only what the groups matched is masked.

    Raises:
        ValueError: an empty key, or a pattern that does not compile.
    """

    def __init__(
        self, keys: Iterable[str] = SENSITIVE_KEYS, patterns: Iterable[str | re.Pattern[str]] = ()
    ) -> None:
        self.keys = tuple(k.lower() for k in keys)
        if not self.keys or not all(isinstance(k, str) and k for k in self.keys):
            raise ValueError("dual_log: invalid redact keys; allowed: non-empty strings")
        try:
            self.patterns = tuple(re.compile(p) for p in patterns)
        except (re.error, TypeError) as exc:
            raise ValueError(
                f"dual_log: invalid redact_patterns; allowed: regular expressions ({exc})"
            ) from None
        alternatives = "|".join(re.escape(k) for k in sorted(self.keys, key=len, reverse=True))
        self._key_value = re.compile(_KEY_VALUE.replace("KEYS", alternatives), re.IGNORECASE)

    def sensitive(self, key: object) -> bool:
        """Whether ``key`` names a value to mask."""
        return isinstance(key, str) and any(k in key.lower() for k in self.keys)

    def text(self, text: str) -> str:
        """``text`` with the secrets written in it masked (see the module's docstring)."""
        lowered = text.lower()
        if "://" in text:
            text = _URL_PASSWORD.sub(r"\g<head>" + MASK, text)
        if "bearer" in lowered:
            text = _BEARER.sub(r"\g<head>" + MASK, text)
        if any(k in lowered for k in self.keys):  # the common case costs a few scans, no regex
            text = self._key_value.sub(r"\g<head>" + MASK, text)
        for pattern in self.patterns:
            text = pattern.sub(_mask_match, text)
        return text

    def value(self, value: Any, depth: int = 0) -> Any:
        """``value`` with the sensitive entries of nested mappings and lists masked."""
        if isinstance(value, str):
            return self.text(value)
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
        """Mask, in place, the sensitive parts of ``copy`` (a copy made by dual_log).

        The message is masked again once rendered (``_records.view``), since an argument
        merged into it may carry a secret that no key names.
        """
        if isinstance(copy.args, Mapping):
            copy.args = self.value(copy.args)
        if isinstance(copy.msg, Mapping):
            copy.msg = self.value(copy.msg)
        for key, value in list(copy.__dict__.items()):
            if key in _RECORD_FIELDS:
                continue
            copy.__dict__[key] = MASK if self.sensitive(key) else self.value(value)


def _mask_match(match: re.Match[str]) -> str:
    """The match masked whole, or, in a pattern with groups, only what the groups matched."""
    if not match.re.groups:
        return MASK
    text, start = match.group(), match.start()
    spans = sorted(match.span(g) for g in range(1, match.re.groups + 1) if match.start(g) >= 0)
    parts, at = [], 0
    for first, last in spans:
        first, last = first - start, last - start
        if first < at:  # a group nested in one already masked
            continue
        parts += [text[at:first], MASK]
        at = last
    parts.append(text[at:])
    return "".join(parts)


def redactor_of(
    redact: bool | Iterable[str] | None,
    redact_keys: Iterable[str] | str | None,
    redact_patterns: Iterable[str | re.Pattern[str]] | str | None,
) -> Redactor | None:
    """The formatter's Redactor, or None (no cost at all) when redaction is off.

    Arguments left out follow ``DUAL_LOG_REDACT*``, as ``setup()`` resolves them.
    """
    keys: Iterable[str] = SENSITIVE_KEYS
    if redact is not None and not isinstance(redact, bool):  # the key substrings themselves
        keys = [redact] if isinstance(redact, str) else list(redact)
        redact = True
    options = _options.resolve(
        {"redact": redact, "redact_keys": redact_keys, "redact_patterns": redact_patterns}
    )
    if not _options.redaction_on(options):
        return None
    return Redactor([*keys, *options["redact_keys"]], options["redact_patterns"])
