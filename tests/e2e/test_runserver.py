"""Django's ``manage.py runserver`` on a machine without the /logs volume, as a newcomer runs it.

The autoreloader runs the command twice (a watching parent and a serving child), and the
child applies ``LOGGING`` twice (``django.setup()``, then ``get_wsgi_application()``): the
missing-folder warning must still show once, and the request lines reach stdout.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from tests.e2e.servers import SAMPLES, environment, free_port, get, running

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

WARNING = "is the volume mounted?"


@pytest.mark.parametrize("reload", [True, False], ids=["autoreload", "noreload"])
def test_missing_volume_warning_shows_once_per_runserver(
    python: str, tmp_path: Path, reload: bool
) -> None:
    """One "is the volume mounted?" line per runserver, with or without the autoreloader."""
    port = free_port()
    argv = [python, "manage.py", "runserver", f"127.0.0.1:{port}"]
    argv += [] if reload else ["--noreload"]
    env = environment(DUAL_LOG_PATH=str(tmp_path / "missing" / "app.log"))
    with running(argv, SAMPLES / "django_app", env, tmp_path) as server:
        server.wait_until_serving(f"http://127.0.0.1:{port}/?id=local")
        assert get(f"http://127.0.0.1:{port}/?id=again") == (200, "hello again")
        server.stop(signal.SIGINT)
        stdout, stderr = server.stdout, server.stderr
    assert " INFO mysite.requests GET /?id=again 200" in stdout
    assert stderr.count(WARNING) == 1, stderr
