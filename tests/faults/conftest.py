"""Fixtures of the fault suite: the write mode, and where measurements go."""

from __future__ import annotations

import pytest

from faults.harness import Measurements


@pytest.fixture(params=[True, False], ids=["queue", "sync"])
def queue(request: pytest.FixtureRequest) -> bool:
    """Both write modes: the background writer thread, and writes in the calling thread."""
    return bool(request.param)


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Measurements:
    """Records this test's numbers for docs/RELIABILITY.md (see tests/faults/report.py)."""
    return Measurements(request.node.nodeid)
