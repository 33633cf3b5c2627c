"""The log capture sample: what its Dockerfile copies exists, and its fly.toml fits its CMD."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

from helpers.logfiles import read_records

from capture.rig import PASSWORD, TIMEOUT, USER
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


def test_the_documented_publisher_reaches_a_real_capture(nats_server, start_capture, tmp_path):
    """The "Try capture locally" trial: publish_demo.py, run with the README's arguments against a
    real nats-server, publishes lines that a real capture writes to web.log, each read in
    its shape (level, logger, fields) and with the machine the subject names."""
    readme = (SAMPLE / "README.md").read_text().split("## Try capture locally", 1)[1]
    (line,) = [ln for ln in readme.splitlines() if ln.startswith("python publish_demo.py ")]
    args = shlex.split(line)[2:]
    url = nats_server.url.replace("nats://", f"nats://{USER}:{PASSWORD}@")
    args[args.index("--server") + 1] = url
    (command,) = [ln for ln in readme.splitlines() if ln.startswith("dual-log capture ")]
    options = shlex.split(command.rstrip(" &"))[2:]
    for name in ("--server", "--path"):  # the test's server, and a path in tmp_path
        at = options.index(name)
        del options[at : at + 2]
    assert options == ["--per-app", "--create-dirs", "true"]
    capture = start_capture(tmp_path / "captured" / "fly.log", *options).ready()
    done = subprocess.run(
        [sys.executable, "publish_demo.py", *args], cwd=SAMPLE, capture_output=True,
        text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"published 4 lines on logs.web.ams.148ed1 to {url}\n"
    capture.written_reaches(4)
    assert capture.stop() == 0
    records, torn = read_records(tmp_path / "captured" / "web.log")
    assert torn == []
    assert [(r["level"], r.get("logger"), r["message"]) for r in records] == [
        ("INFO", "shop.orders", "demo line 0: order 17 paid"),
        ("WARNING", "shop.stock", "demo line 1: low stock"),
        ("ERROR", "shop.payments", "demo line 2: card declined"),
        ("INFO", None, "demo line 3: plain text, as any program prints it"),
    ]
    assert {(r["fly_app"], r["fly_region"], r["fly_machine"]) for r in records} == {
        ("web", "ams", "148ed1")
    }
    assert records[1]["sku"] == "T-9"
