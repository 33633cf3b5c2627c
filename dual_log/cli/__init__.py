"""The ``dual-log`` command: read, merge, follow and check the files dual_log writes.

    dual-log cat [PATH ...] [filters] [--json]   every record, oldest first, merged by time
    dual-log tail [-f] [-n N] [PATH] [filters]   the last records of a live file; -f follows it
    dual-log doctor [--path P] [-o NAME=VALUE]   is the volume there, writable, big enough?
    dual-log fetch --app APP --dest DEST         every machine's log folder, one sub-folder each

``python -m dual_log`` is the same program. Each command is a module of this package with
``add_parser(commands)`` and ``run(args, parser)``; a command's module is imported only to
build the parser and run it, and ``import dual_log`` imports none of this. Subcommands that
live in modules of their own elsewhere in the package (``EXTERNAL``) get their arguments
unparsed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING

from dual_log.cli._common import usage_error

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "dual-log"
# The commands, each a module of this package, in the order --help lists them.
COMMANDS = ("cat", "tail", "doctor", "fetch")
# Subcommands owned by another module: name -> module whose main(argv) -> int runs it.
EXTERNAL = {"capture": "dual_log.capture"}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


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
    for name, module in EXTERNAL.items():
        if _available(module):
            commands.add_parser(name, help=f"see 'dual-log {name} --help'", add_help=False)
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dual-log`` command line; return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in EXTERNAL and _available(EXTERNAL[arguments[0]]):
        module = importlib.import_module(EXTERNAL[arguments[0]])
        return int(module.main(arguments[1:]))
    parser, parsers = _parser()
    args = parser.parse_args(arguments)
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
