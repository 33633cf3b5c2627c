"""Which lines are kept: builders, apps and regions, and levels as dual-log cat reads them."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from dual_log._capture._filters import StreamFilters
from dual_log._capture._options import parse

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "Level 35", "Level 5", "VERBOSE")


def test_builders_are_left_out_unless_asked_for():
    """fly-builder-* apps are left out by default; --include-builders brings them back."""
    default = parse([], {}).filters
    assert not default.keep_app("fly-builder-red-sky-1234")
    assert default.keep_app("fly-builderish")
    assert default.keep_app("web")
    brought = parse(["--include-builders"], {}).filters
    assert brought.keep_app("fly-builder-red-sky-1234")
    assert not parse(["--include-builders", "--exclude-app", "fly-builder-*"], {}).filters.keep_app(
        "fly-builder-x"
    )


def test_apps_and_regions_take_globs_and_exclusions_win():
    """Globs for apps and regions; an exclusion wins over an inclusion."""
    filters = StreamFilters(
        apps=("web*", "api"), exclude_apps=("web-old",), exclude_regions=("iad",)
    )
    assert [filters.keep_app(a) for a in ("web", "web-2", "api", "worker", "web-old")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert filters.keep_region("ams")
    assert not filters.keep_region("iad")
    assert not StreamFilters(regions=("syd",)).keep_region("ams")


@pytest.mark.parametrize("given", ["warning", "WARNING", "warn", "30", "25"])
def test_level_keeps_that_level_and_above_as_dual_log_cat_does(given, python, tmp_path):
    """--level reads its value as dual-log cat does, and keeps the same records of the levels
    both know: that level and above. A level neither can rank is kept by the capture (a line
    not stored is gone) and left out by cat (it shows without --level)."""
    ours = parse(["--level", given], {}).filters
    kept_here = [level for level in LEVELS if ours.keep_line(level, "m")]
    path = tmp_path / "levels.log"
    records = [
        {"time": f"2026-11-24T09:30:41.{n:03d}+00:00", "level": level, "message": "m"}
        for n, level in enumerate(LEVELS)
    ]
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    done = subprocess.run(
        [python, "-m", "dual_log", "cat", "--json", "--level", given, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    kept_by_cat = [json.loads(line)["level"] for line in done.stdout.splitlines()]
    assert [level for level in kept_here if level != "VERBOSE"] == kept_by_cat
    assert "DEBUG" not in kept_here
    assert "VERBOSE" in kept_here
    assert "VERBOSE" not in kept_by_cat


def test_exclude_level_and_patterns():
    """--exclude-level names; --match and --exclude-match search the message."""
    filters = parse(
        ["--exclude-level", "debug,crit", "--match", "^GET", "--exclude-match", "healthz"], {}
    ).filters
    assert filters.exclude_levels == ("DEBUG", "CRITICAL")
    assert filters.keep_line("INFO", "GET /")
    assert not filters.keep_line("DEBUG", "GET /")
    assert not filters.keep_line("CRITICAL", "GET /")
    assert not filters.keep_line("INFO", "POST /")
    assert not filters.keep_line("INFO", "GET /healthz")
    assert StreamFilters(match=re.compile("x")).by_line
    assert not StreamFilters(apps=("a",)).by_line
