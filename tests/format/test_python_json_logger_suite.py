"""python-json-logger's own tests, run against ``dual_log.JsonFormatter``.

The 4.2.0 sdist carries them (``tests/test_formatters.py``, ``tests/test_dictconfig.py``).
They are downloaded from the package index, and run twice in a subprocess with
``dual_log.JsonFormatter`` in place of python-json-logger's formatter: configured as
python-json-logger is by default, where every test must pass; and with dual_log's own
defaults, where only the tests that assert a field dual_log documents as renamed may fail
(each listed below with its reason), and must.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT

VERSION = "4.2.0"
SUITES = ("tests/test_formatters.py", "tests/test_dictconfig.py")

# dual_log's defaults differ from python-json-logger's in three documented ways (README:
# "The JSON record"): levelname, name and process are written as level, logger and pid,
# and a UTC "time" field comes first. Each of these tests asserts one of those.
RENAMED = {
    "test_percentage_format": "asserts the exact keys with 'levelname' (dual_log: 'level', "
    "and 'time' first)",
    "test_string_template_format": "the same, with $-style fields",
    "test_comma_format": "the same, with ,-style fields",
    "test_sequence_list_format": "the same, with a list of fields",
    "test_sequence_tuple_format": "the same, with a tuple of fields",
    "test_rename_preserve_order": "asserts that the renamed level is the first key ('time' is)",
    "test_format_keys": "asserts 'levelname', 'name' and 'process' keys (dual_log: level, "
    "logger, pid)",
}

# What python-json-logger's tests get as "JsonFormatter": dual_log's, as the mode says.
UNDER_TEST = '''
"""dual_log.JsonFormatter, as python-json-logger's own tests get it."""
from __future__ import annotations

import os
from typing import Any

import dual_log

if os.environ["DUAL_LOG_PJL_MODE"] == "dual_log":
    JsonFormatter = dual_log.JsonFormatter
else:

    class JsonFormatter(dual_log.JsonFormatter):  # type: ignore[no-redef]
        """dual_log's formatter configured as python-json-logger's is by default."""

        def __init__(self, fmt: Any = None, *args: Any, rename_fields: Any = None,
                     time_field: str | None = None, platform_fields: bool = False,
                     **kwargs: Any) -> None:
            super().__init__(fmt, *args, rename_fields=rename_fields or {},
                             time_field=time_field, platform_fields=platform_fields, **kwargs)
'''


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python-json-logger's tests, with dual_log's formatter in place of its own."""
    where = tmp_path_factory.mktemp("python-json-logger")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
         ":all:", f"python-json-logger=={VERSION}", "--dest", str(where)],
        check=True, timeout=300, capture_output=True,
    )  # fmt: skip
    (sdist,) = where.glob("python_json_logger-*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/tests/" in m.name and m.isfile()]
        archive.extractall(where, members=members, filter="data")
    root = where / f"python_json_logger-{VERSION}"
    formatters = root / SUITES[0]
    text = formatters.read_text()
    text = text.replace(
        "from pythonjsonlogger.json import JsonFormatter\n",
        "from dual_log_under_test import JsonFormatter\n",
    )
    # Only dual_log's formatter: not python-json-logger's orjson and msgspec ones.
    text, count = re.subn(
        r"(ALL_FORMATTERS: list\[type\[BaseJsonFormatter\]\] = \[JsonFormatter\]\n)"
        r"(?:if pythonjsonlogger\.\w+_AVAILABLE:\n    ALL_FORMATTERS\.append\(\w+\)\n)+",
        r"\1",
        text,
    )
    assert count == 1, "python-json-logger's test module changed shape"
    formatters.write_text(text)
    dictconfig = root / SUITES[1]
    text = dictconfig.read_text()
    assert '"()": "pythonjsonlogger.json.JsonFormatter"' in text
    dictconfig.write_text(
        text.replace("pythonjsonlogger.json.JsonFormatter", "dual_log_under_test.JsonFormatter")
    )
    (root / "dual_log_under_test.py").write_text(UNDER_TEST)
    return root


# Its tests of what Python 3.11 added (exception notes and groups), skipped on 3.10.
NEEDS_3_11 = ("test_exception_groups", "test_exception_notes")


def run(suite: Path, mode: str) -> dict[str, str]:
    """Run the suite with dual_log's formatter in ``mode``; each test's outcome by name."""
    report = suite / f"{mode}.xml"
    env = {**os.environ, "DUAL_LOG_PJL_MODE": mode, "PYTHONPATH": f"{suite}:{ROOT}"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         f"--junitxml={report}", "--rootdir", str(suite), "-o", "addopts=", *SUITES],
        cwd=suite, env=env, timeout=300, check=False, capture_output=True,
    )  # fmt: skip
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314  # our own file
        name = case.get("name", "")
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[name] = "failed" if failed else "skipped" if skipped else "passed"
    return outcomes


def skipped_by_its_own_suite(outcomes: dict[str, str]) -> set[str]:
    """The tests python-json-logger's suite itself skips here: exception notes and groups
    exist from Python 3.11 on, and its tests of them skip on 3.10."""
    if sys.version_info >= (3, 11):
        return set()
    return {name for name in outcomes if name.startswith(NEEDS_3_11)}


def test_its_own_tests_pass_with_its_defaults(suite: Path) -> None:
    """Configured as python-json-logger is by default, every one of its tests passes."""
    outcomes = run(suite, "pjl")
    assert len(outcomes) > 60
    assert {name: o for name, o in outcomes.items() if o != "passed"} == dict.fromkeys(
        skipped_by_its_own_suite(outcomes), "skipped"
    )


def test_its_own_tests_pass_with_dual_logs_defaults_but_the_renamed_fields(suite: Path) -> None:
    """With dual_log's defaults, only the tests of the documented renames fail."""
    outcomes = run(suite, "dual_log")
    assert len(outcomes) > 60
    failed = {name.split("[")[0] for name, outcome in outcomes.items() if outcome == "failed"}
    assert failed == set(RENAMED)
    skipped = {name for name, outcome in outcomes.items() if outcome == "skipped"}
    assert skipped == skipped_by_its_own_suite(outcomes)
