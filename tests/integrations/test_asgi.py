"""dual_log.asgi.RequestIdMiddleware: one id per request, on every record of it, in ASGI apps.

The first tests call the middleware as an ASGI server does, in this process; the last ones
serve a real FastAPI app under real uvicorn, and under gunicorn with uvicorn workers, on
a loopback port, and send it concurrent requests.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import signal
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

import dual_log
from dual_log._context import current
from dual_log.asgi import ENVIRON_KEY, RequestIdMiddleware
from tests.e2e.servers import environment, fetch, free_port, running
from tests.helpers.logfiles import read_records
from tests.integrations.test_integrations import INTEGRATIONS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NEW_ID = re.compile(r"^[0-9a-f]{32}$")
log = logging.getLogger("tests.asgi.app")


@pytest.fixture
def sinks(log_path: Path) -> Iterator[dual_log.DualLog]:
    """Both sinks on the root logger, the file written at each call."""
    dual = dual_log.setup(path=str(log_path), queue=False, handle_signals=False)
    yield dual
    dual.close()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A plain ASGI app: logs, gives way, logs, answers with the id it was given."""
    if scope["type"] == "lifespan":
        log.info("lifespan %s", current().get("request_id"))
        return
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept", "headers": [(b"x-app", b"1")]})
        log.info("websocket")
        return
    log.info("start %s", scope["path"])
    await asyncio.sleep(0.001)
    if scope["path"] == "/boom":
        raise RuntimeError("deliberate failure")
    headers = [(b"content-type", b"text/plain"), (b"X-Request-Id", b"the-app's-own")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    log.info("end %s", scope["path"])
    await send({"type": "http.response.body", "body": scope[ENVIRON_KEY].encode()})


def call(
    middleware: RequestIdMiddleware,
    path: str,
    headers: list[tuple[bytes, bytes]],
    kind: str = "http",
) -> list[dict[str, Any]]:
    """Call ``middleware`` as a server does; the messages it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": kind, "path": path, "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent


def _response_headers(sent: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    [start] = [m for m in sent if m["type"] in ("http.response.start", "websocket.accept")]
    return list(start["headers"])


def test_the_id_comes_from_the_first_usable_header_else_a_new_one(
    sinks: dual_log.DualLog, log_path: Path
) -> None:
    """X-Request-Id, else Fly-Request-Id (any case), else a new id: in the response header
    (which replaces the app's own), the scope, and both records of the request."""
    middleware = RequestIdMiddleware(app)
    cases = [
        ([(b"x-request-id", b"abc-123"), (b"fly-request-id", b"fly-1")], "abc-123"),
        ([(b"Fly-Request-Id", b"01JQSECXHA-ams")], "01JQSECXHA-ams"),
        ([(b"x-request-id", b'forged" id'), (b"fly-request-id", b"fly-2")], "fly-2"),
        ([(b"x-request-id", b"x" * 129)], None),
        ([], None),
    ]
    seen = []
    for number, (headers, wanted) in enumerate(cases):
        sent = call(middleware, f"/{number}", headers)
        ours = [v for n, v in _response_headers(sent) if n.lower() == b"x-request-id"]
        assert len(ours) == 1
        request_id = ours[0].decode()
        assert request_id == wanted if wanted else NEW_ID.match(request_id)
        assert sent[-1]["body"] == ours[0]
        assert (b"content-type", b"text/plain") in _response_headers(sent)
        seen.append(request_id)
    assert current() == {}
    records, _ = read_records(log_path)
    assert [(r["message"], r["request_id"]) for r in records] == [
        (f"{edge} /{n}", seen[n]) for n in range(len(cases)) for edge in ("start", "end")
    ]


def test_concurrent_requests_never_mix_their_ids(sinks: dual_log.DualLog, log_path: Path) -> None:
    """50 requests interleaved in one event loop: every record carries its own request's id."""
    middleware = RequestIdMiddleware(app)

    async def one(number: int) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request"}

        async def send(message: dict[str, Any]) -> None:
            await asyncio.sleep(0)

        headers = [(b"x-request-id", f"r-{number}".encode())]
        await middleware({"type": "http", "path": f"/{number}", "headers": headers}, receive, send)

    async def main() -> None:
        await asyncio.gather(*(one(n) for n in range(50)))

    asyncio.run(main())
    records, _ = read_records(log_path)
    assert len(records) == 100
    assert [r["message"] for r in records[:50]] != [
        f"{e} /{n}" for n in range(25) for e in ("start", "end")
    ]  # they did interleave
    assert all(r["request_id"] == "r-" + r["message"].split("/")[1] for r in records)


def test_an_exception_leaves_the_id_bound_for_the_servers_traceback(
    sinks: dual_log.DualLog, log_path: Path
) -> None:
    """The app raises: what the server logs of it, in the request's task, carries the id."""
    middleware = RequestIdMiddleware(app)

    async def server() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request"}

        async def send(message: dict[str, Any]) -> None:
            return None

        scope = {"type": "http", "path": "/boom", "headers": [(b"x-request-id", b"b-1")]}
        try:
            await middleware(scope, receive, send)
        except RuntimeError:
            logging.getLogger("tests.asgi.server").exception("Exception in ASGI application")

    async def main() -> None:
        await asyncio.create_task(server())  # as servers do: one task per request
        log.info("after")

    asyncio.run(main())
    records, _ = read_records(log_path)
    assert [(r["message"], r.get("request_id")) for r in records] == [
        ("start /boom", "b-1"), ("Exception in ASGI application", "b-1"), ("after", None),
    ]  # fmt: skip
    assert records[1]["exc_info"].endswith("RuntimeError: deliberate failure")


def test_websocket_accept_gets_the_header_and_lifespan_passes_through(
    sinks: dual_log.DualLog, log_path: Path
) -> None:
    """A WebSocket connection is bound and its accept carries the id; lifespan gets none."""
    middleware = RequestIdMiddleware(app, headers=["X-Correlation-Id"])
    sent = call(middleware, "/ws", [(b"x-correlation-id", b"ws-1")], kind="websocket")
    assert _response_headers(sent) == [(b"x-app", b"1"), (b"x-correlation-id", b"ws-1")]
    assert call(middleware, "", [], kind="lifespan") == []
    records, _ = read_records(log_path)
    assert [(r["message"], r.get("request_id")) for r in records] == [
        ("websocket", "ws-1"), ("lifespan None", None),
    ]  # fmt: skip


def test_headers_come_from_the_option_and_a_bad_one_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """headers= > DUAL_LOG_REQUEST_ID_HEADERS > default; a bad name raises naming the option."""
    assert RequestIdMiddleware(app).headers == ("X-Request-Id", "Fly-Request-Id")
    monkeypatch.setenv("DUAL_LOG_REQUEST_ID_HEADERS", "X-Trace-Ref, X-Request-Id")
    assert RequestIdMiddleware(app).headers == ("X-Trace-Ref", "X-Request-Id")
    assert RequestIdMiddleware(app, headers="X-Mine").headers == ("X-Mine",)
    with pytest.raises(ValueError, match=r"request_id_headers='X Mine'; allowed: key names"):
        RequestIdMiddleware(app, headers="X Mine")


def test_import_dual_log_does_not_import_the_asgi_module(python: str) -> None:
    """dual_log.asgi is loaded only when asked for, and loads no framework."""
    code = (
        "import sys, dual_log\n"
        "print('dual_log.asgi' in sys.modules)\n"
        "import dual_log.asgi\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'fastapi', 'uvicorn', 'django', 'flask')))\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False", "[]"]


# A real FastAPI app under real servers -------------------------------------------------

FASTAPI_APP = """
import asyncio
import logging

from fastapi import FastAPI, Request

from dual_log.asgi import RequestIdMiddleware

log = logging.getLogger("api")


def build() -> FastAPI:
    api = FastAPI()

    @api.get("/work")
    async def work(id: str, request: Request) -> dict[str, str]:
        log.info("start %s", id)
        await asyncio.sleep(0.02)
        log.info("end %s", id)
        return {"id": id, "request_id": request.scope["dual_log.request_id"]}

    @api.get("/boom")
    async def boom(id: str) -> None:
        log.info("boom %s", id)
        raise RuntimeError(f"deliberate failure {id}")

    return api


# The README's way: a 500 for an exception is sent by Starlette's outermost middleware.
app = build()
app.add_middleware(RequestIdMiddleware)
# The whole app wrapped: that 500 carries the header too.
wrapped = RequestIdMiddleware(build())
"""
REQUESTS = 40


def _server(python: str, kind: str, target: str, port: int) -> list[str]:
    if kind == "uvicorn":
        return [python, "-m", "uvicorn", "--log-config",
                str(INTEGRATIONS / "uvicorn_log_config.json"),
                "--host", "127.0.0.1", "--port", str(port), target]  # fmt: skip
    return [python, "-m", "gunicorn", "-c", str(INTEGRATIONS / "gunicorn_uvicorn.conf.py"),
            "-k", "uvicorn.workers.UvicornWorker", "--workers", "2",
            "--bind", f"127.0.0.1:{port}", target]  # fmt: skip


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
@pytest.mark.parametrize("target", ["app", "wrapped"])
def test_every_record_of_a_fastapi_request_carries_its_id(
    kind: str, target: str, tmp_path: Path, python: str
) -> None:
    """Concurrent requests: the app's records, uvicorn's access line and, for an exception,
    uvicorn's traceback carry the request's id, and no other; the response sends it back."""
    (tmp_path / "fastapi_app.py").write_text(FASTAPI_APP)
    log_path = tmp_path / "logs" / "app.log"
    log_path.parent.mkdir()
    port = free_port()
    env = environment(DUAL_LOG_PATH=str(log_path), PYTHONPATH=str(tmp_path))
    run = uuid.uuid4().hex[:8]
    plans = []
    for number in range(REQUESTS):
        tag = f"{run}-{number:03d}"
        path = f"/boom?id={tag}" if number % 8 == 7 else f"/work?id={tag}"
        headers = {"X-Request-Id": f"client-{tag}"} if number % 2 else {}
        plans.append((tag, path, headers))
    base = f"http://127.0.0.1:{port}"
    argv = _server(python, kind, f"fastapi_app:{target}", port)
    with running(argv, tmp_path, env, tmp_path) as server:
        server.wait_until_serving(f"{base}/work?id=ready")
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda p: fetch(base + p[1], p[2]), plans))
        server.stop(signal.SIGTERM)
        stdout, stderr = server.stdout, server.stderr
    assert "dual_log:" not in stderr

    records, torn = read_records(log_path)
    assert torn == []
    by_id = collections.defaultdict(list)
    for record in records:
        by_id[record.get("request_id")].append(record)
    ends_with_id = collections.Counter(re.findall(r" request_id=(\S+)$", stdout, re.MULTILINE))
    for (tag, path, headers), (status, response_headers, body) in zip(plans, answers, strict=True):
        boom = path.startswith("/boom")
        assert status == (500 if boom else 200)
        mine = [r for r in records if tag in r["message"] and r["logger"] == "api"]
        (request_id,) = {r["request_id"] for r in mine}
        if headers:
            assert request_id == headers["X-Request-Id"]
        else:
            assert NEW_ID.match(request_id)
        if not boom:
            assert response_headers["x-request-id"] == request_id
            assert f'"request_id":"{request_id}"' in body
        else:  # only the wrapped app's 500 passes through the middleware
            assert response_headers.get("x-request-id") == (
                request_id if target == "wrapped" else None
            )
        found = sorted((r["logger"], r["message"]) for r in by_id[request_id])
        access = ("uvicorn.access", f'"GET {path} HTTP/1.1" {status}')
        expected = [("api", f"boom {tag}")] if boom else [("api", f"end {tag}"),
                                                           ("api", f"start {tag}")]  # fmt: skip
        if boom:  # uvicorn's message ends with a line break
            expected.append(("uvicorn.error", "Exception in ASGI application\n"))
        assert sorted((n, access[1] if m.endswith(access[1]) else m) for n, m in found) == sorted(
            [*expected, access]
        ), request_id
        assert ends_with_id[request_id] == len(found)
    tracebacks = [r for r in records if r["message"] == "Exception in ASGI application\n"]
    assert len(tracebacks) == REQUESTS // 8
    assert all("RuntimeError: deliberate failure" in r["exc_info"] for r in tracebacks)
