"""``dual-log fetch``: copy every machine's log folder of a Fly app into ``DEST/<machine id>/``."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        "log folder over 'fly ssh console' into DEST/<machine id>/; stopped or unreachable "
        "machines are listed, not fatal. Then: dual-log cat DEST.",
    )
    parser.add_argument("--app", "-a", required=True, help="the Fly app")
    parser.add_argument("--dest", "-d", default="fetched", help="where to put them (./fetched)")
    parser.add_argument(
        "--folder", default="/logs", help="the log folder on the machines (default /logs)"
    )
    parser.add_argument("--fly", help="the flyctl program (default: fly, else flyctl, on PATH)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="longest wait for one machine's copy (default 600)",
    )
    return parser


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``dual-log fetch`` with parsed ``args``; its exit status."""
    from dual_log._read import fetch

    return fetch.run(args.app, args.dest, folder=args.folder, fly=args.fly, timeout=args.timeout)
