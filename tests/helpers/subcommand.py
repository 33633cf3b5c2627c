"""A subcommand living in a module of its own, as ``dual_log.capture`` does: main(argv) -> int."""

from __future__ import annotations

CALLS: list[list[str]] = []


def main(argv: list[str]) -> int:
    """Record the arguments; exit status 3, to be told apart."""
    CALLS.append(argv)
    return 3
