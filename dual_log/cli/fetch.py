"""``dual-log fetch``: copy every machine's log folder of a Fly app into ``DEST/<machine id>/``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dual_log.cli._common import positive_seconds, whole_number

if TYPE_CHECKING:
    import argparse


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The ``fetch`` subcommand and its options."""
    parser = commands.add_parser(
        "fetch",
        help="copy every machine's log folder of a Fly app into DEST/<machine id>/",
        description="List the app's machines with flyctl and copy each started machine's "
        "log folder over 'fly ssh console' into DEST/<machine id>/, several at a time, with "
        "a line as each starts and ends. Stopped machines are listed and skipped. A copy "
        "that fails part-way keeps what arrived in DEST/<machine id>.partial/, apart from "
        "the good ones. Then: dual-log cat DEST.",
        epilog="Exit status: 0 when every started machine was copied whole; 1 when one could "
        "not be (or none is started, or the machines cannot be listed); 2 bad usage.",
    )
    parser.add_argument("--app", "-a", required=True, help="the Fly app whose machines to copy")
    parser.add_argument(
        "--dest",
        "-d",
        default="fetched",
        metavar="DEST",
        help="the folder to copy into, one sub-folder per machine (default: ./fetched)",
    )
    parser.add_argument(
        "--folder",
        default="/logs",
        help="the log folder on the machines (default: /logs)",
    )
    parser.add_argument(
        "--fly",
        metavar="PROGRAM",
        help="the flyctl program to run (default: fly, else flyctl, on PATH)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=whole_number("machines", minimum=1),
        default=4,
        metavar="N",
        help="machines copied at a time (default: 4)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="longest wait for one machine's copy (default: 600)",
    )
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log fetch`` with parsed ``args``; its exit status."""
    from dual_log._read import fetch

    return fetch.run(
        args.app,
        args.dest,
        folder=args.folder,
        fly=args.fly,
        timeout=args.timeout,
        jobs=args.jobs,
    )
