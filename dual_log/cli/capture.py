"""``dual-log capture``: keep a copy of the platform's NATS log stream on a volume.

The same program as ``python -m dual_log.capture`` (``dual_log.capture.main``): this module
only gives it its place among the ``dual-log`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dual_log._capture._options import DESCRIPTION, add_arguments

if TYPE_CHECKING:
    import argparse


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``capture`` subcommand and its options."""
    parser = commands.add_parser(
        "capture",
        help="subscribe to the platform's NATS log stream and keep every app's lines on a volume",
        description=DESCRIPTION,
    )
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log capture`` with parsed ``args`` until SIGTERM or SIGINT."""
    from dual_log._capture import _run  # the subscriber only when it runs

    return _run.run(args, parser)
