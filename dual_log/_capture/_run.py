"""Running the capture from its parsed command line: ``dual-log capture`` and
``python -m dual_log.capture`` are this one program."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from dual_log._capture import _lines
from dual_log._capture._files import Output
from dual_log._capture._options import from_arguments
from dual_log._capture._subscriber import Capture
from dual_log._report import say, usage_error

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the capture ``args`` ask for until SIGTERM or SIGINT; its exit status (a bad
    value is a usage error of ``parser``)."""
    try:
        options = from_arguments(args)
    except ValueError as exc:
        usage_error(parser, exc)
    if not _lines.FAST:
        say(
            "capture: msgspec is not installed, so json reads and writes every line, several "
            "times slower: install dual_log with its nats extra."
        )
    output = Output(options.path, per_app=options.per_app, file_options=options.file_options)
    return asyncio.run(Capture(options, output).run())
