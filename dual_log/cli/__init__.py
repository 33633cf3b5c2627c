"""The ``dual-log`` command: read, merge, follow and check the files dual_log writes.

    dual-log cat [PATH ...] [filters] [--json]   every record, oldest first, merged by time
    dual-log tail [-f] [-n N] [PATH] [filters]   the last records of a live file; -f follows it
    dual-log doctor [--path P] [-o NAME=VALUE]   is the volume there, writable, big enough?
    dual-log fetch --app APP --dest DEST         every machine's log folder, one sub-folder each
    dual-log capture [--per-app] [filters]       keep the platform's log stream on a volume

``python -m dual_log`` is the same program. Each command is a module of this package with
``add_parser(commands)`` and ``run(args, parser)``; ``import dual_log`` imports none of
this.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING

from dual_log._report import usage_error

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "dual-log"
# The commands, each a module of this package, in the order --help lists them.
COMMANDS = ("cat", "tail", "doctor", "fetch", "capture")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command's parser, and each subcommand's (for usage errors in its own words)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Read, merge, follow and check the log files dual_log writes.",
        epilog="Run 'dual-log COMMAND --help' for a command's options. Exit status: 0 ok, "
        "1 an input could not be read / a check failed, 2 bad usage.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers = {
        name: importlib.import_module(f"dual_log.cli.{name}").add_parser(commands)
        for name in COMMANDS
    }
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dual-log`` command line; return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, parsers = _parser()
    args, unknown = parser.parse_known_args(arguments)
    if unknown:  # said by the subcommand, with its own usage, not the whole command's
        usage_error(parsers[args.command], f"unrecognized arguments: {' '.join(unknown)}")
    command = importlib.import_module(f"dual_log.cli.{args.command}")
    try:
        return int(command.run(args, parsers[args.command]))
    except BrokenPipeError:
        # The reader of a pipe went away (dual-log cat | head): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # an option's value, worded by dual_log._options
        usage_error(parsers[args.command], exc)
