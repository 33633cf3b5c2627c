"""One clock: a record shows the same instant, in UTC with its offset, on stdout and in the file."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

import dual_log

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def chicago() -> Iterator[None]:
    """The process's local time is America/Chicago (Django's default TIME_ZONE) meanwhile."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Chicago"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def stdout_time(line: str) -> datetime:
    """The time a default text line starts with."""
    return datetime.fromisoformat(line.split(" ", 1)[0])


@pytest.mark.usefixtures("chicago")
def test_text_and_json_show_the_same_utc_instant(
    log_path: Path, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a non-UTC zone, the stdout line's time has offset +00:00 and equals the file's time."""
    assert time.localtime(0).tm_hour != 0  # the zone took effect
    dual = dual_log.setup(path=str(log_path), queue=False, handle_signals=False)
    logger.info("paid")
    dual.close()
    (line,) = capsys.readouterr().out.splitlines()
    (record,) = [json.loads(text) for text in log_path.read_text().splitlines()]
    on_stdout = stdout_time(line)
    in_file = datetime.fromisoformat(record["time"])
    assert on_stdout.utcoffset() == timedelta(0)
    assert on_stdout == in_file
    assert line.split(" ", 1)[0] == record["time"]


@pytest.mark.usefixtures("chicago")
def test_a_datefmt_is_applied_in_utc(logger: logging.Logger) -> None:
    """A ``datefmt`` of the user's own is rendered in UTC, with offset +0000."""
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "x", (), None)
    record.created = 0.0
    formatter = dual_log.TextFormatter("%(asctime)s", datefmt="%Y-%m-%d %H:%M:%S %z")
    assert formatter.format(record) == "1970-01-01 00:00:00 +0000"
