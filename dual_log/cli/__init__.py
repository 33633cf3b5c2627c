"""The ``dual-log`` command: read, merge, follow and check the files dual_log writes.

    dual-log cat [PATH ...] [filters] [--json]   every record, oldest first, merged by time
    dual-log tail [-f] [-n N] [PATH] [filters]   the last records of a live file; -f follows it
    dual-log doctor [--path P] [-o NAME=VALUE]   is the volume there, writable, big enough?
    dual-log fetch --app APP --dest DEST         every machine's log folder, one sub-folder each

``python -m dual_log`` is the same program. Each subcommand's module is imported only
when it runs; ``import dual_log`` imports none of this. Subcommands that live in modules
of their own elsewhere in the package (``EXTERNAL``) get their arguments unparsed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "dual-log"
# Subcommands owned by another module: name -> module whose main(argv) -> int runs it.
EXTERNAL = {"capture": "dual_log.capture"}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument(
        "--since",
        metavar="WHEN",
        help="records at or after WHEN: an ISO time (no zone means UTC) "
        "or a span back from now: 90s, 15m, 2h, 3d, 1w",
    )
    group.add_argument("--until", metavar="WHEN", help="records at or before WHEN (as --since)")
    group.add_argument(
        "--level", help="this level and above: DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )
    group.add_argument(
        "--logger",
        action="append",
        default=[],
        metavar="NAME",
        help="a logger and its children (repeat for several)",
    )
    group.add_argument(
        "--grep",
        metavar="REGEX",
        help="records whose message matches (a regular expression, or the "
        "text itself when it is not one)",
    )
    group.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="records whose JSON field KEY is VALUE, e.g. fly_machine=148e21 "
        "or rid=4f2a (repeat: all must match)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json",
        action="store_true",
        help="the raw JSON lines (lines that are not JSON go to stderr)",
    )
    out.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the level: auto = on a terminal unless NO_COLOR is set",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Read, merge, follow and check the log files dual_log writes.",
        epilog="Run 'dual-log COMMAND --help' for a command's options. Exit status: 0 ok, "
        "1 an input could not be read / a check failed, 2 bad usage.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cat = commands.add_parser(
        "cat",
        help="every record of files and folders, oldest first, merged by time",
        description="Print every record of the files and folders given (default: the folder "
        "of the log file setup() would write, DUAL_LOG_PATH), oldest first. A folder means "
        "every log in it and its sub-folders: live file, rotated files, .gz files, segments "
        "of an interrupted rotation. Several machines' files are merged by record time.",
    )
    cat.add_argument("paths", nargs="*", metavar="PATH", help="files and folders")
    _add_filters(cat)

    tail = commands.add_parser(
        "tail",
        help="the last records of a live log file; -f follows it across rotations",
        description="Print the last records of the live log file (default: the one setup() "
        "would write), and with -f keep printing new ones, across rotations, like tail -F, "
        "until interrupted (SIGINT or SIGTERM: exit status 0).",
    )
    tail.add_argument("path", nargs="?", metavar="PATH", help="the live log file, or its folder")
    tail.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    tail.add_argument(
        "-n",
        "--lines",
        type=int,
        default=10,
        metavar="N",
        help="records printed first (default 10)",
    )
    tail.add_argument(
        "--interval",
        type=float,
        default=0.1,
        metavar="SECONDS",
        help="how often to look for new lines when idle (default 0.1)",
    )
    _add_filters(tail)

    doctor = commands.add_parser(
        "doctor",
        help="check the log folder: there, a volume, writable, big enough",
        description="Resolve the options as setup() does (options given here > DUAL_LOG_* "
        "variables > defaults) and check the log folder. One line per check, then a verdict; "
        "exit status 1 when a check failed.",
    )
    doctor.add_argument("--path", help="the log file (default: DUAL_LOG_PATH, else /logs/app.log)")
    doctor.add_argument("--max-bytes", help="as setup(max_bytes=...)")
    doctor.add_argument("--keep", help="as setup(keep=...)")
    doctor.add_argument(
        "--stale-after",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a rotation segment older than this was left by an interrupted rotation (60)",
    )
    doctor.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setup() option, e.g. -o compress=true",
    )

    fetch = commands.add_parser(
        "fetch",
        help="copy every machine's log folder of a Fly app into DEST/<machine id>/",
        description="List the app's machines with flyctl and copy each started machine's "
        "log folder over 'fly ssh console' into DEST/<machine id>/; stopped or unreachable "
        "machines are listed, not fatal. Then: dual-log cat DEST.",
    )
    fetch.add_argument("--app", "-a", required=True, help="the Fly app")
    fetch.add_argument("--dest", "-d", default="fetched", help="where to put them (./fetched)")
    fetch.add_argument(
        "--folder", default="/logs", help="the log folder on the machines (default /logs)"
    )
    fetch.add_argument("--fly", help="the flyctl program (default: fly, else flyctl, on PATH)")
    fetch.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="longest wait for one machine's copy (default 600)",
    )

    for name, module in EXTERNAL.items():
        if _available(module):
            commands.add_parser(name, help=f"see 'dual-log {name} --help'", add_help=False)
    return parser


def _colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _default_path() -> str:
    from dual_log._options import Settings

    return Settings.resolve(path=None).path


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "doctor":
        from dual_log.cli import doctor as _doctor

        options = {"path": args.path, "max_bytes": args.max_bytes, "keep": args.keep}
        for item in args.option:
            name, sep, value = item.partition("=")
            if not sep:
                parser.error(f"-o {item!r}: give NAME=VALUE, e.g. -o compress=true")
            options[name.strip()] = value
        return _doctor.run(options, stale_after=args.stale_after)
    if args.command == "fetch":
        from dual_log._read import fetch as _fetch

        return _fetch.run(
            args.app, args.dest, folder=args.folder, fly=args.fly, timeout=args.timeout
        )

    from dual_log._read.scan import Filters
    from dual_log._read.show import Printer

    try:
        filters = Filters.build(
            since=args.since,
            until=args.until,
            level=args.level,
            loggers=args.logger,
            grep=args.grep,
            fields=args.field,
        )
    except ValueError as exc:
        parser.error(str(exc))
    # A buffer of our own: with PYTHONUNBUFFERED set, sys.stdout.buffer writes each line
    # with its own system call, which costs more than reading the line did.
    sys.stdout.flush()
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)
    printer = Printer(out, as_json=args.json, colour=_colour(args.color))
    if args.command == "cat":
        from dual_log.cli import cat as _cat

        paths = args.paths or [os.path.dirname(os.path.abspath(_default_path()))]
        return _cat.run(paths, filters, printer)
    from dual_log._read import follow as _tail

    if args.lines < 0:
        parser.error(f"-n {args.lines}: give a number of records >= 0")
    return _tail.run(
        args.path or _default_path(),
        filters,
        printer,
        follow=args.follow,
        lines=args.lines,
        interval=args.interval,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dual-log`` command line; return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in EXTERNAL and _available(EXTERNAL[arguments[0]]):
        module = importlib.import_module(EXTERNAL[arguments[0]])
        return int(module.main(arguments[1:]))
    parser = _parser()
    args = parser.parse_args(arguments)
    try:
        return _run(args, parser)
    except BrokenPipeError:
        # The reader of a pipe went away (dual-log cat | head): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # a bad option value, worded by _settings
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
