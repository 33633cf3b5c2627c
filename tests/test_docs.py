"""What the README says is true: links that work on a package index, numbers, recipes."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

import dual_log
from dual_log._parsers import parse_size
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
REPOSITORY = "https://github.com/dual-log/dual_log/"


def test_readme_links_are_absolute() -> None:
    """Every link in the README is absolute, so it works where a package index shows it."""
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    targets += re.findall(r"""(?:href|src)=["']([^"']+)""", README)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://"))]
    assert relative == []


def test_readme_links_into_the_repository_name_files_that_exist() -> None:
    """A link to this repository's blob/main or tree/main names a file or folder that exists."""
    links = re.findall(re.escape(REPOSITORY) + r"(?:blob|tree)/main/([^)#\s]+)", README)
    assert links
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


def test_files_named_in_readme_commands_exist() -> None:
    """Every integrations/, sample_projects/, scripts/ or docs/ path the README names exists."""
    paths = set(re.findall(r"\b((?:integrations|sample_projects|scripts|docs)/[\w./-]*\w)", README))
    assert "integrations/gunicorn_uvicorn.conf.py" in paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []


def test_size_units_are_as_the_readme_says() -> None:
    """Each '"<size>" is <n> bytes' in the README is what parse_size returns."""
    claims = re.findall(r'`"([^"`]+)"`\s+is\s+([\d,]+)\s+bytes', README)
    assert {size for size, _ in claims} >= {"10MB", "512k", "10 MiB", "512KiB"}
    for size, count in claims:
        assert parse_size(size) == int(count.replace(",", "")), size


def test_ruby_logger_section_maps_three_files_to_keep_two() -> None:
    """Logger.new(path, 3) keeps 3 files in all, so the README maps it to keep=2, nowhere keep=3."""
    section = README.split("### From Ruby's", 1)[1].split("\n### ", 1)[0]
    assert 'keep=2, max_bytes="1MiB"' in section
    assert "3 files *in all*" in section
    for path in [ROOT / "README.md", *ROOT.glob("*/**/*.md")]:
        if ".venv" not in path.parts:
            assert "keep=3" not in path.read_text(), path


def test_file_counters_lag_until_flush_as_documented(log_path: Path) -> None:
    """The README says the queue's file counts are exact once flush() returns: they are."""
    assert "are exact once `flush()`" in README
    dual = dual_log.setup(path=str(log_path), stdout=False, handle_signals=False)
    log = logging.getLogger("test.docs.counters")
    for n in range(500):
        log.info("record %d", n)
    assert dual.flush()
    assert (dual.file_written, dual.file_missed) == (500, 0)
    dual.close()


def test_running_locally_recipe_writes_the_file_without_the_warning(
    python: str, tmp_path: Path
) -> None:
    """DUAL_LOG_PATH at a folder of one's own with DUAL_LOG_CREATE_DIRS: a file, no warning."""
    section = README.split("### Running locally", 1)[1].split("\n## ", 1)[0]
    (export,) = re.findall(r"^export (.+)$", section, re.MULTILINE)
    env = dict(pair.split("=", 1) for pair in export.split())
    assert env == {"DUAL_LOG_PATH": '"$PWD/logs/app.log"', "DUAL_LOG_CREATE_DIRS": "true"}
    code = "import logging, dual_log; dual_log.setup(); logging.getLogger('local').info('hi')"
    done = subprocess.run(
        ["sh", "-c", f'export {export}; exec {python} -c "{code}"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.endswith(" INFO local hi\n")
    assert '"message": "hi"' in (tmp_path / "logs" / "app.log").read_text()


@pytest.mark.parametrize("where", ["README.md", "benchmarks/__main__.py"])
def test_benchmark_run_time_is_stated_only_in_performance_md(where: str) -> None:
    """The full benchmark run's duration is written once, in docs/PERFORMANCE.md."""
    pattern = re.compile(r"about \d+ minutes|\d+ min(?:ute)?s? to run", re.IGNORECASE)
    assert len(pattern.findall((ROOT / "docs" / "PERFORMANCE.md").read_text())) == 1
    assert pattern.findall((ROOT / where).read_text()) == []
