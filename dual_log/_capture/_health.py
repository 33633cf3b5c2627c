"""A tiny HTTP health endpoint for the platform's checks: ``GET /health`` is 200 or 503.

asyncio's own server, so it runs in the capture's event loop and needs no framework.
Every path answers with the same JSON status; only the code tells healthy or not, which
is all an HTTP check reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

# A request line and headers larger than this are not a health check.
_MAX_REQUEST = 8192
_READ_TIMEOUT = 5.0


async def serve(
    host: str, port: int, status: Callable[[], tuple[bool, dict[str, Any]]]
) -> asyncio.Server:
    """Start answering on ``host:port`` with ``status()``: (healthy, details)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            with contextlib.suppress(Exception):  # a client gone or slow: answer anyway
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            healthy, details = status()
            body = json.dumps({"healthy": healthy, **details}).encode() + b"\n"
            head = (
                f"HTTP/1.1 {'200 OK' if healthy else '503 Service Unavailable'}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except Exception:  # noqa: S110  # a client gone mid-answer: nothing to tell
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_server(answer, host, port, limit=_MAX_REQUEST)
