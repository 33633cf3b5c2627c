"""ASGI: a request id for every request of a FastAPI, Starlette or any other ASGI app.

::

    from dual_log.asgi import RequestIdMiddleware

    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)  # Starlette: the same, or middleware=[...]

Each HTTP request (and WebSocket connection) gets an id: the value of the first of the
``request_id_headers`` option's headers it carries (``X-Request-Id``, then Fly.io's
``Fly-Request-Id``, by default), else a new one. While the app handles it, the id is bound
as ``request_id`` (``dual_log.context``), so every record logged for it carries the id on
both sinks: the app's own, its libraries', and uvicorn's access line, which uvicorn logs
as the response starts, inside the app's call. The id goes back in the response header
named first in ``request_id_headers`` (``X-Request-Id``), and is in the scope under
``"dual_log.request_id"`` for the app (Starlette: ``request.scope["dual_log.request_id"]``).

When the app raises, the id stays bound while the exception travels up, so the response
an outer middleware sends for it (Starlette's 500), its access line and the server's
traceback ("Exception in ASGI application") carry it too. Servers run each request in a
task of its own, whose context ends with the request, so the id reaches no other request.

Pure ASGI 3: it imports no framework, and ``import dual_log`` does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dual_log import _request
from dual_log._context import context

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping, Sequence

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["ENVIRON_KEY", "RequestIdMiddleware"]

ENVIRON_KEY = _request.ENVIRON_KEY
# The messages that start a response, and so carry its headers.
_STARTS = ("http.response.start", "websocket.accept")


class RequestIdMiddleware:
    """Binds a request id around each HTTP request and WebSocket connection of ``app``.

    Args:
        app: the ASGI application to wrap.
        headers: the request headers the id is read from, in order (the first also names
            the response header); default the ``request_id_headers`` option
            (``DUAL_LOG_REQUEST_ID_HEADERS``, else ``X-Request-Id``, ``Fly-Request-Id``).

    Raises:
        ValueError: a name that is not a header name, naming the option.
    """

    def __init__(self, app: ASGIApp, *, headers: Sequence[str] | str | None = None) -> None:
        self.app = app
        self.headers = _request.header_names(headers)
        # ASGI gives header names as lower-case bytes.
        self._wanted = [name.lower().encode("latin-1") for name in self.headers]
        self._response = _request.response_header(self.headers).lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call: HTTP and WebSocket ones with their id, others as they are."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = self.request_id(scope)
        response_header = (self._response, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in _STARTS:
                headers = [
                    (name, value)
                    for name, value in message.get("headers") or ()
                    if name.lower() != self._response
                ]
                headers.append(response_header)
                message = {**message, "headers": headers}
            await send(message)

        bound = context(**{_request.FIELD: request_id})
        bound.__enter__()
        # Not a with block: the id stays bound while an exception leaves the app (see the
        # module's docstring); it is taken off when the app returns.
        await self.app({**scope, ENVIRON_KEY: request_id}, receive, send_with_id)
        bound.__exit__(None, None, None)

    def request_id(self, scope: Scope) -> str:
        """The id of the request ``scope``: from the first usable header, else a new one."""
        found: dict[bytes, bytes] = {}
        for name, value in scope.get("headers") or ():
            key = name.lower()
            if key in self._wanted and key not in found:
                found[key] = value
        for name in self._wanted:
            request_id = _request.accepted(found.get(name))
            if request_id is not None:
                return request_id
        return _request.new_id()
