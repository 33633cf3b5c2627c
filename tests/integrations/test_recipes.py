"""The README's structlog and loguru recipes, run as they are written, in real processes.

Each recipe is taken from the README, extended with a few more calls, and run with
DUAL_LOG_PATH set; then both sinks are read, and the real ``dual-log`` command finds the
records by their fields.
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from tests.conftest import ROOT
from tests.e2e.servers import environment
from tests.helpers import cli
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from pathlib import Path

README = (ROOT / "README.md").read_text()


def recipe(heading: str) -> str:
    """The first Python block of the README's section ``heading``."""
    section = README.split(f"\n### {heading}\n", 1)[1].split("\n## ", 1)[0].split("\n### ")[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, heading
    return match.group(1)


def run(code: str, tmp_path: Path) -> tuple[str, str, list[dict[str, Any]]]:
    """Run ``code`` as a script: its stdout, its stderr and the records of its log file."""
    (tmp_path / "script.py").write_text(code)
    log_path = tmp_path / "logs" / "app.log"
    log_path.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "script.py"],
        cwd=tmp_path,
        env=environment(DUAL_LOG_PATH=str(log_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records, torn = read_records(log_path)
    assert torn == []
    return done.stdout, done.stderr, records


def cat_messages(tmp_path: Path, *fields: str) -> list[str]:
    """The messages ``dual-log cat --field ... --json`` finds in the script's log folder."""
    args = [str(tmp_path / "logs"), "--json"]
    for field in fields:
        args += ["--field", field]
    done = cli.run("cat", *args)
    assert done.returncode == 0, done.stderr
    return [record["message"] for record in cli.records(done.stdout)]


STRUCTLOG_MORE = """
import dual_log

structlog.contextvars.bind_contextvars(request_id="r-1")
with dual_log.context(job="nightly"):
    log.warning("refund", amount=3)
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed", step="charge")
structlog.get_logger("shop.debug").debug("not at INFO")
"""


def test_structlog_recipe_writes_event_keys_as_fields_once_in_each_sink(tmp_path: Path) -> None:
    """structlog's bound and per-call keys, its contextvars and dual_log's context become
    JSON fields and key=value pairs; each event once per sink; the traceback in exc_info."""
    stdout, stderr, records = run(recipe("structlog") + STRUCTLOG_MORE, tmp_path)
    assert stderr == ""
    fields = [{k: v for k, v in r.items() if k not in ("time", "pid")} for r in records]
    traceback = fields[2].pop("exc_info")
    assert fields == [
        {"level": "INFO", "logger": "shop.orders", "message": "paid",
         "order_id": 17, "amount": 12.5, "currency": "EUR"},
        {"level": "WARNING", "logger": "shop.orders", "message": "refund",
         "request_id": "r-1", "order_id": 17, "amount": 3, "job": "nightly"},
        {"level": "ERROR", "logger": "shop.orders", "message": "failed",
         "request_id": "r-1", "order_id": 17, "step": "charge"},
    ]  # fmt: skip
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("ZeroDivisionError: division by zero")
    lines = stdout.splitlines()
    assert lines[0].endswith(" INFO shop.orders paid order_id=17 amount=12.5 currency=EUR")
    assert lines[1].endswith(
        " WARNING shop.orders refund order_id=17 amount=3 request_id=r-1 job=nightly"
    )
    assert lines[2].endswith(" ERROR shop.orders failed order_id=17 step=charge request_id=r-1")
    assert lines[3] == "Traceback (most recent call last):"
    assert stdout.count("ZeroDivisionError: division by zero") == 1
    assert sum(" shop.orders " in line for line in lines) == 3  # structlog printed nothing
    assert cat_messages(tmp_path, "order_id=17") == ["paid", "refund", "failed"]
    assert cat_messages(tmp_path, "request_id=r-1", "job=nightly") == ["refund"]


LOGURU_MORE = """
import dual_log

logger.bind(request_id="r-2").warning("low stock {sku}", sku="T-9")
with logger.contextualize(tenant="acme"), dual_log.context(job="nightly"):
    logger.success("restocked")
try:
    {}["missing"]
except KeyError:
    logger.exception("lookup failed")
logger.debug("below the root logger's INFO")
"""


def test_loguru_recipe_sends_level_name_traceback_and_extras_to_both_sinks(
    tmp_path: Path,
) -> None:
    """loguru's records reach both sinks once, with their level (SUCCESS too), logger name,
    traceback and bound fields; loguru's own stderr sink prints nothing."""
    stdout, stderr, records = run(recipe("loguru") + LOGURU_MORE, tmp_path)
    assert stderr == ""
    fields = [{k: v for k, v in r.items() if k not in ("time", "pid")} for r in records]
    traceback = fields[3].pop("exc_info")
    assert fields == [
        {"level": "INFO", "logger": "__main__", "message": "paid 12.5 EUR",
         "order_id": 17, "amount": 12.5},
        {"level": "WARNING", "logger": "__main__", "message": "low stock T-9",
         "request_id": "r-2", "sku": "T-9"},
        {"level": "SUCCESS", "logger": "__main__", "message": "restocked",
         "tenant": "acme", "job": "nightly"},
        {"level": "ERROR", "logger": "__main__", "message": "lookup failed"},
    ]  # fmt: skip
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("KeyError: 'missing'")
    lines = stdout.splitlines()
    assert lines[0].endswith(" INFO __main__ paid 12.5 EUR order_id=17 amount=12.5")
    assert lines[1].endswith(" WARNING __main__ low stock T-9 request_id=r-2 sku=T-9")
    assert lines[2].endswith(" SUCCESS __main__ restocked tenant=acme job=nightly")
    assert lines[3].endswith(" ERROR __main__ lookup failed")
    assert stdout.count("KeyError: 'missing'") == 1
    assert "below the root" not in stdout
    assert cat_messages(tmp_path, "request_id=r-2") == ["low stock T-9"]
    assert cat_messages(tmp_path, "tenant=acme") == ["restocked"]
