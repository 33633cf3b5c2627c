"""Request ids in the Django and Flask samples under real gunicorn, with threads.

Each sample is started with its Dockerfile's CMD (``integrations/gunicorn.conf.py``) on a
loopback port, with 2 workers of 4 threads each, so requests are handled at the same time
in one process. Clients send requests with an ``X-Request-Id``, with Fly.io's
``Fly-Request-Id``, with an unusable ``X-Request-Id`` beside a good ``Fly-Request-Id``,
and with none; some end in a 404 or a 500. For every request: the response's
``X-Request-Id`` is its id (the one sent, else a new one), and the records carrying that
id, in the file and on stdout, are exactly the records of that request: the app's, the
framework's (``django.request``'s 404 and 500 records, Flask's exception record) and
gunicorn's access line. No record of one request carries another's id.
"""

from __future__ import annotations

import collections
import re
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.e2e.servers import (
    SAMPLES,
    dockerfile_cmd,
    fetch,
    gunicorn_cmd_args,
    running,
    sample_environment,
)
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

REQUESTS = 60
CLIENTS = 8
# The logger each sample writes its per-request line to, and its orders logger.
REQUEST_LOGGER = {"django_app": "mysite.requests", "flask_app": "app"}
ORDERS_LOGGER = {"django_app": "mysite.orders", "flask_app": "flask_app.orders"}
NEW_ID = re.compile(r"^[0-9a-f]{32}$")


def _plan(run: str, number: int) -> tuple[str, dict[str, str], str | None]:
    """Request ``number``: its path, the headers it sends, and the id it must get (None:
    a new one)."""
    tag = f"{run}-{number:03d}"
    kind = number % 5
    if kind == 0:
        return f"/?id={tag}", {}, None
    if kind == 1:
        return f"/?id={tag}", {"X-Request-Id": f"client-{tag}"}, f"client-{tag}"
    if kind == 2:
        fly = f"01JQSECXHAJR7ZPG{tag}-ams"
        return f"/orders/nope-{tag}", {"Fly-Request-Id": fly}, fly
    if kind == 3:
        # Unusable (a space, a quote): the next header's value is taken instead.
        headers = {"X-Request-Id": f'forged "{tag}', "Fly-Request-Id": f"fly-{tag}"}
        return f"/?id={tag}", headers, f"fly-{tag}"
    return f"/boom?id={tag}", {"X-Request-Id": f"boom-{tag}"}, f"boom-{tag}"


def _expected(sample: str, path: str, status: int) -> list[tuple[str, str]]:
    """The (logger, message) of every record the request at ``path`` must produce."""
    expected = [(REQUEST_LOGGER[sample], f"GET {path} {status}"), ("gunicorn.access", path)]
    if path.startswith("/orders/"):
        expected.append((ORDERS_LOGGER[sample], f"order {path.split('/')[-1]} not found"))
        if sample == "django_app":
            expected.append(("django.request", f"Not Found: {path}"))
    if path.startswith("/boom"):
        if sample == "django_app":
            expected.append(("django.request", "Internal Server Error: /boom"))
        else:
            expected.append((REQUEST_LOGGER[sample], "Exception on /boom [GET]"))
    return sorted(expected)


@pytest.mark.parametrize("sample", ["django_app", "flask_app"])
def test_every_record_of_a_request_carries_its_id_and_no_other(sample: str, tmp_path: Path) -> None:
    """Concurrent requests to gthread workers: each id on exactly its request's records,
    in the file and on stdout, and in the response's X-Request-Id."""
    argv = dockerfile_cmd(SAMPLES / sample / "Dockerfile")
    log_path = tmp_path / "logs" / "app.log"
    base, env = sample_environment(
        log_path.parent, workers=2, cmd_args=gunicorn_cmd_args("--threads", "4")
    )
    run = uuid.uuid4().hex[:8]
    plans = [_plan(run, n) for n in range(REQUESTS)]

    with running(argv, SAMPLES / sample, env, tmp_path) as server:
        server.wait_until_serving(f"{base}/?id=ready")
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(lambda p: fetch(base + p[0], p[1]), plans))
        status = server.stop(signal.SIGTERM)
        stdout, stderr = server.stdout, server.stderr
    assert status == 0, stderr
    assert "dual_log:" not in stderr

    ids = []
    for (path, _, wanted), (code, headers, _) in zip(plans, answers, strict=True):
        assert code == (404 if "/orders/" in path else 500 if "/boom" in path else 200), path
        request_id = headers["x-request-id"]
        assert request_id == wanted if wanted else NEW_ID.match(request_id), (path, request_id)
        ids.append(request_id)
    assert len(set(ids)) == REQUESTS

    records, torn = read_records(log_path)
    assert torn == []
    by_id = collections.defaultdict(list)
    for record in records:
        if "request_id" in record:
            by_id[record["request_id"]].append(record)
    assert set(by_id) == {*ids, *_ready_ids(records)}
    lines = collections.Counter(re.findall(r" request_id=(\S+)$", stdout, re.MULTILINE))
    for (path, _, _), (code, _, _), request_id in zip(plans, answers, ids, strict=True):
        found = sorted(
            (r["logger"], path if r["logger"] == "gunicorn.access" and path in r["message"]
             else r["message"])
            for r in by_id[request_id]
        )  # fmt: skip
        assert found == _expected(sample, path, code), request_id
        assert lines[request_id] == len(found), request_id
    boom = [r for r in records if r.get("exc_info") and r["request_id"] in ids]
    assert len(boom) == REQUESTS // 5
    assert all("the sample's deliberate failure" in r["exc_info"] for r in boom)


def _ready_ids(records: list[dict[str, object]]) -> set[object]:
    """The ids of the readiness probes' requests (GET /?id=ready), sent before the test's."""
    return {
        r.get("request_id")
        for r in records
        if r.get("logger") == "gunicorn.access" and "id=ready" in str(r["message"])
    } - {None}
