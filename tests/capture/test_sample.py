"""The log capture sample: what its Dockerfile copies exists, and its fly.toml fits its CMD."""

from __future__ import annotations

import json
import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

from tests.conftest import ROOT

SAMPLE = ROOT / "sample_projects" / "log_capture"


def _instructions() -> list[str]:
    text = (SAMPLE / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_every_copy_source_exists_from_the_repository_root():
    """The image builds with the repository root as context: each COPY source is there."""
    copies = [line.split()[1:-1] for line in _instructions() if line.startswith("COPY ")]
    assert copies
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), source


def test_the_image_installs_the_nats_extra_and_runs_the_capture_with_its_health_port():
    """requirements.txt installs dual_log with the nats extra; fly.toml checks the health port."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "nats" in pyproject["project"]["optional-dependencies"]
    lines = _instructions()
    assert any(re.search(r"pip install .*-r requirements.txt", line) for line in lines)
    assert (SAMPLE / "requirements.txt").read_text().split() == ["../..[nats]"]
    (cmd,) = [line for line in lines if line.startswith("CMD ")]
    argv = json.loads(cmd[4:])
    assert argv[:3] == ["python", "-m", "dual_log.capture"]
    port = int(argv[argv.index("--health-port") + 1])
    fly = tomllib.loads((SAMPLE / "fly.toml").read_text())
    assert [c["port"] for c in fly["checks"].values()] == [port]
    assert fly["mounts"][0]["destination"] == "/logs"
    assert argv[argv.index("--path") + 1].startswith("/logs/")
    assert "http_service" not in fly
    assert "services" not in fly, "no public service"
    assert "ORG" not in fly.get("env", {})
    assert "ACCESS_TOKEN" not in fly.get("env", {})
