"""The platform's message body and the captured line, as msgspec ``Struct`` types.

Only imported with msgspec (the ``nats`` extra). ``PlatformBody`` is exactly the body
the platform sends (see ``_lines``): every key present, no other key, every value text,
app, region and machine not empty. msgspec checks all of it while decoding, in C (the
timestamp's shape is checked by ``_lines``); a body that differs in any way fails to
decode and takes the general path, which reads every shape. ``PlatformLine`` is the
line such a body becomes, its fields in the order the general path writes them. None of
them can hold a reference cycle, so the garbage collector does not track them
(``gc=False``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class PlatformApp(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``fly.app``."""

    instance: NonEmpty
    name: NonEmpty


class PlatformFly(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``fly``."""

    app: PlatformApp
    region: NonEmpty


class PlatformLog(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``log``."""

    level: str


class PlatformEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``event``."""

    provider: str


class PlatformBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A message body of exactly the platform's shape."""

    event: PlatformEvent
    fly: PlatformFly
    host: str
    log: PlatformLog
    message: str
    timestamp: str  # its shape is checked by _lines (a pattern here costs more)


class PlatformLine(msgspec.Struct, gc=False):
    """The line of a ``PlatformBody`` whose message is plain text."""

    time: str
    level: str
    fly_app: str
    fly_region: str
    fly_machine: str
    host: str
    provider: str
    message: str


def line_dict(line: PlatformLine) -> dict[str, Any]:
    """``line`` as the dict the general path would have built."""
    return {field: getattr(line, field) for field in line.__struct_fields__}


decode_json = msgspec.json.decode
decode_body = msgspec.json.Decoder(PlatformBody).decode
encode_json = msgspec.json.Encoder().encode
