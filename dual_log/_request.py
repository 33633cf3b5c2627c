"""Request ids: what the web integrations share about them, importing no framework.

The Django middleware (``dual_log.django.RequestIdMiddleware``), the Flask extension and
the ASGI middleware (``dual_log.asgi.RequestIdMiddleware``) give every request one id:
the value of the first of the ``request_id_headers`` option's headers that the request
carries (a caller's ``X-Request-Id``, the ``Fly-Request-Id`` Fly.io's proxy sets), else a
new one. Each binds it as ``request_id`` with ``dual_log.context`` while the request is
handled, so every record of the request carries it on both sinks; sends it back in the
response header named first in ``request_id_headers``; and leaves it in the WSGI environ
(or the ASGI scope) under ``ENVIRON_KEY``, where the application and the server's access
log (``integrations/gunicorn.conf.py``, which logs after the request's context is gone)
find it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dual_log import _options

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

# The bound field, the environ (and scope) key, and the response header used when the
# option names no header. ENVIRON_KEY is quoted in integrations/gunicorn.conf.py and the
# README: amend them there if edited here.
FIELD = "request_id"
ENVIRON_KEY = "dual_log.request_id"
RESPONSE_HEADER = "X-Request-Id"
# What an id taken from a request may be: short, and made of characters that cannot break
# a log line, a logfmt pair or a response header (ULIDs, UUIDs, Fly's "<ULID>-<region>",
# base64). Anything else gets a new id instead of being written anywhere.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:@+/=-]{1,128}")


def header_names(value: Sequence[str] | str | None = None) -> tuple[str, ...]:
    """The ``request_id_headers`` option: ``value`` > ``DUAL_LOG_REQUEST_ID_HEADERS`` > default.

    Raises:
        ValueError: a name that is not a header name, naming the option.
    """
    names: tuple[str, ...] = _options.resolve({"request_id_headers": value})["request_id_headers"]
    return names


def response_header(names: Sequence[str]) -> str:
    """The response header the id is sent back in: the first name, else ``X-Request-Id``."""
    return names[0] if names else RESPONSE_HEADER


def environ_keys(names: Iterable[str]) -> tuple[str, ...]:
    """The WSGI environ keys of request headers: ``X-Request-Id`` is ``HTTP_X_REQUEST_ID``."""
    return tuple("HTTP_" + name.upper().replace("-", "_") for name in names)


def new_id() -> str:
    """A new request id: 32 hex digits, random (a UUID4 without its dashes)."""
    import uuid  # here, not above: it imports platform, a cost setup() need not pay

    return uuid.uuid4().hex


def accepted(value: str | bytes | None) -> str | None:
    """``value`` as a request id if it can be used as one, else None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is None:
        return None
    value = value.strip()
    return value if _ACCEPTED.fullmatch(value) else None


def from_environ(environ: Mapping[str, object], keys: Iterable[str]) -> str:
    """The id of a WSGI request (or a Django ``request.META``): the first usable value of
    the environ ``keys`` (see ``environ_keys``), else a new id."""
    for key in keys:
        value = environ.get(key)
        found = accepted(value) if isinstance(value, str) else None
        if found is not None:
            return found
    return new_id()
