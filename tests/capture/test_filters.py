"""Which lines are kept: apps and regions, levels, and patterns on the message."""

from __future__ import annotations

import re

from dual_log._capture._filters import Filters
from dual_log._capture._options import parse


def test_apps_and_regions_take_globs_and_exclusions_win():
    """Globs for apps and regions; an exclusion wins over an inclusion."""
    filters = Filters(apps=("web*", "api"), exclude_apps=("web-old",), exclude_regions=("iad",))
    assert [filters.keep_app(a) for a in ("web", "web-2", "api", "worker", "web-old")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert filters.keep_region("ams")
    assert not filters.keep_region("iad")
    assert not Filters(regions=("syd",)).keep_region("ams")


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
    assert Filters(match=re.compile("x")).by_line
    assert not Filters(apps=("a",)).by_line


def test_level_keeps_only_the_levels_named():
    """--level names the levels kept, in the platform's words or Python's."""
    filters = parse(["--level", "info,warn"], {}).filters
    assert filters.levels == ("INFO", "WARNING")
    assert [filters.keep_line(level, "m") for level in ("DEBUG", "INFO", "WARNING", "ERROR")] == [
        False,
        True,
        True,
        False,
    ]
