"""The README's FastAPI/Starlette recipe: gunicorn with uvicorn workers, through both sinks.

``gunicorn -k uvicorn.workers.UvicornWorker -c integrations/gunicorn_uvicorn.conf.py``
runs a real ASGI app on a loopback port; uvicorn's own records, from start-up to the
worker's exit, reach stdout and the file once each, as gunicorn's and the app's do.
(``uvicorn --log-config`` alone is tested in test_integrations.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.helpers.logfiles import read_records
from tests.integrations.test_integrations import (
    ASGI_APP,
    INTEGRATIONS,
    new_ids,
    serve,
    server_env,
    text,
)

if TYPE_CHECKING:
    from pathlib import Path

WORKERS = 2


@pytest.mark.e2e
def test_gunicorn_with_uvicorn_workers_sends_uvicorn_records_to_both_sinks(
    tmp_path: Path, log_path: Path, python: str
) -> None:
    """uvicorn.error and uvicorn.access, up to "Application shutdown complete.", in both sinks."""
    (tmp_path / "asgi_app.py").write_text(ASGI_APP)
    env = server_env(log_path)
    args = [python, "-m", "gunicorn", "-c", str(INTEGRATIONS / "gunicorn_uvicorn.conf.py")]
    args += ["-k", "uvicorn.workers.UvicornWorker", "--workers", str(WORKERS)]
    args += ["--bind", "127.0.0.1:0", "asgi_app:app"]
    ids = new_ids(20)
    server, out, err = serve(args, tmp_path, env, ids, r"Listening at: http://127\.0\.0\.1:(\d+)")
    assert server.returncode == 0, text(err)

    stdout = text(out).splitlines()
    records, torn = read_records(log_path)
    assert torn == []
    for request_id in ids:
        access = f'"GET /r?id={request_id} HTTP/1.1" 200'
        assert sum(" uvicorn.access " in line and access in line for line in stdout) == 1
        assert [r["logger"] for r in records if access in r["message"]] == ["uvicorn.access"]
        assert sum(line.endswith(f" app handled id={request_id}") for line in stdout) == 1
        assert sum(r["message"] == f"handled id={request_id}" for r in records) == 1
    for message in ("Application startup complete.", "Application shutdown complete."):
        assert sum(line.endswith(f" uvicorn.error {message}") for line in stdout) == WORKERS
        assert [r["logger"] for r in records if r["message"] == message] == [
            "uvicorn.error"
        ] * WORKERS
    assert sum(r["message"].startswith("Booting worker with pid") for r in records) == WORKERS
    assert "dual_log:" not in text(err)
