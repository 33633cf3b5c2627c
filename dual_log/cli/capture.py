"""``dual-log capture``: keep a copy of the platform's NATS log stream on a volume.

The same program as ``python -m dual_log.capture`` (``dual_log.capture.main``): this module
only gives it its place among the ``dual-log`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dual_log._capture._options import DESCRIPTION, add_arguments, from_arguments
from dual_log.cli._common import usage_error

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
    from dual_log.capture import run_capture

    try:
        options = from_arguments(args)
    except ValueError as exc:
        usage_error(parser, exc)
    return run_capture(options)
