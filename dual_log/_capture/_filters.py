"""Which lines the capture keeps: by app and region, then by level and message.

The halves are asked apart: ``keep_app`` of every line's app (its answer kept per app
by the capture, since apps are few), ``keep_region`` of its region, then ``keep_line``
of its level and message. A machine whose lines pass the first two is one the capture
watches for silence, whatever their levels.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import TYPE_CHECKING

from dual_log._capture._levels import level_value

if TYPE_CHECKING:
    import re

# The platform's builders (remote Docker builds for `fly deploy`): their apps are named
# so, and they flood the stream while they build. Quoted in README.md.
BUILDER_APPS = "fly-builder-*"


@dataclasses.dataclass(frozen=True)
class StreamFilters:
    """Which lines to keep; an empty tuple means no condition (see ``_options``).

    Attributes:
        apps, exclude_apps, regions, exclude_regions: ``fnmatch`` patterns.
        builders: keep the lines of ``fly-builder-*`` apps (left out by default).
        level: keep this level and above (a number, as ``dual-log cat --level``): a line
            of a level not known passes. 0 keeps every level.
        exclude_levels: level names left out.
        match, exclude_match: patterns searched in the message (or the raw body).
    """

    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    exclude_regions: tuple[str, ...] = ()
    builders: bool = False
    level: int = 0
    exclude_levels: tuple[str, ...] = ()
    match: re.Pattern[str] | None = None
    exclude_match: re.Pattern[str] | None = None

    @property
    def by_region(self) -> bool:
        """Whether a region condition is set."""
        return bool(self.regions or self.exclude_regions)

    @property
    def by_line(self) -> bool:
        """Whether a condition on the level or the message is set."""
        return bool(self.level or self.exclude_levels or self.match or self.exclude_match)

    def keep_app(self, app: str) -> bool:
        """Whether lines of ``app`` are kept."""
        if not self.builders and fnmatch.fnmatchcase(app, BUILDER_APPS):
            return False
        return (not self.apps or _matches(app, self.apps)) and not _matches(app, self.exclude_apps)

    def keep_region(self, region: str) -> bool:
        """Whether lines from ``region`` are kept."""
        return (not self.regions or _matches(region, self.regions)) and not _matches(
            region, self.exclude_regions
        )

    def keep_line(self, level: str, text: str) -> bool:
        """Whether a line of ``level`` whose message is ``text`` is kept."""
        if self.level:
            value = level_value(level)
            if value is not None and value < self.level:
                return False
        return (
            level not in self.exclude_levels
            and (self.match is None or self.match.search(text) is not None)
            and (self.exclude_match is None or self.exclude_match.search(text) is None)
        )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
