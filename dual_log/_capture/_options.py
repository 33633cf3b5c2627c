"""The options of ``dual-log capture``: command line > environment > default, checked at once.

The environment names are the platform's log shipper's own (``ORG``, ``ACCESS_TOKEN``,
``SUBJECT``, ``QUEUE``, ``NATS_URL``) so that a machine set up for the shipper needs no
new secrets; ``FLY_APP_NAME`` is set by the platform on every machine. The file options
(``--max-bytes`` and the others) are the file sink's: left out, the sink reads its own
``DUAL_LOG_*`` variables, as ``dual_log.setup()`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from typing import TYPE_CHECKING, Any

from dual_log import _options
from dual_log._capture._filters import BUILDER_APPS, StreamFilters
from dual_log._capture._levels import level_from_word
from dual_log._capture._nats import parse_server
from dual_log._parsers import parse_level, parse_size

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# The platform's NATS endpoint for log lines, reachable from any machine of the
# organization over its private network. Quoted in README.md and the sample's README.
DEFAULT_SERVER = "nats://[fdaa::3]:4223"
DEFAULT_SUBJECT = "logs.>"
DEFAULT_PATH = "/logs/fly.log"
DEFAULT_STALL_SECONDS = 120.0
# Every line published while the capture is away is lost to it (core NATS keeps nothing),
# so it tries again soon: an attempt at a server that is down costs one refused connection.
DEFAULT_RECONNECT_WAIT = 0.25
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_STOP_TIMEOUT = 10.0
# A machine that sent lines and then none for this long is reported as silent.
DEFAULT_SILENT_AFTER = 600.0
# At most this much of what the capture wrote is lost if its host crashes.
DEFAULT_FSYNC_INTERVAL = 1.0
# The subscription's buffer inside this process: messages received but not yet handed
# to the file sink. Bounded so a stream faster than the capture costs at most this much
# memory (about 64 MiB); past it messages are dropped, counted and reported.
DEFAULT_PENDING_MESSAGES = 100_000
DEFAULT_PENDING_BYTES = 64 * 1024 * 1024
# The file options handed to dual_log.FileHandler as given (None: its own env/default).
FILE_OPTIONS = (
    "max_bytes",
    "keep",
    "when",
    "compress",
    "max_age_days",
    "queue_size",
    "create_dirs",
    "file_mode",
)


@dataclasses.dataclass(frozen=True)
class CaptureOptions:
    """Everything ``dual-log capture`` was asked to do (see ``parser()`` for each option)."""

    server: str
    user: str | None
    password: str | None
    subject: str
    queue: str | None
    own_app: str | None
    path: str
    per_app: bool
    file_options: dict[str, Any]
    filters: StreamFilters = dataclasses.field(default_factory=StreamFilters)
    stall_seconds: float = DEFAULT_STALL_SECONDS
    reconnect_wait: float = DEFAULT_RECONNECT_WAIT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    pending_messages: int = DEFAULT_PENDING_MESSAGES
    pending_bytes: int = DEFAULT_PENDING_BYTES
    health_port: int | None = None
    health_host: str = "0.0.0.0"  # noqa: S104  # the platform's checks come from outside
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    silent_after: float = DEFAULT_SILENT_AFTER
    fsync_interval: float = DEFAULT_FSYNC_INTERVAL

    @property
    def servers(self) -> list[tuple[str, int, str | None, str | None]]:
        """Host, port, user and password of each server (see ``_nats.parse_server``)."""
        return [parse_server(url) for url in self.server.split(",") if url.strip()]


def parser(prog: str = "dual-log capture") -> argparse.ArgumentParser:
    """The command line of ``dual-log capture`` on its own (``python -m dual_log.capture``)."""
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    return p


DESCRIPTION = (
    "Subscribe to the platform's NATS log stream and write every line, as JSON, to a "
    "rotating file on a volume. Diagnostics go to stderr, never to the file."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of ``dual-log capture``, in its groups."""
    _connection_arguments(p.add_argument_group("connection"))
    _file_arguments(p.add_argument_group("files (left out: the file sink's DUAL_LOG_* variables)"))
    _filter_arguments(
        p.add_argument_group(
            "filters (repeatable or comma-separated; apps and regions take * and ? globs)"
        )
    )
    _running_arguments(p.add_argument_group("running"))


def _connection_arguments(conn: argparse._ArgumentGroup) -> None:
    conn.add_argument(
        "--server", help=f"NATS server URL(s), comma-separated (env NATS_URL; {DEFAULT_SERVER})"
    )
    conn.add_argument("--org", help="user name: the organization slug (env ORG)")
    conn.add_argument("--token", help="password: an access token (env ACCESS_TOKEN)")
    conn.add_argument("--subject", help=f"subject to subscribe to (env SUBJECT; {DEFAULT_SUBJECT})")
    conn.add_argument(
        "--queue",
        help="queue group: captures in one group share the stream, each message written by "
        "one of them (env QUEUE). Default: none, each capture keeps a full copy",
    )
    seconds = (
        ("--reconnect-wait", DEFAULT_RECONNECT_WAIT, "seconds between reconnect attempts to "
         "one server"),
        ("--connect-timeout", DEFAULT_CONNECT_TIMEOUT, "seconds one connect attempt may take"),
        ("--stall-seconds", DEFAULT_STALL_SECONDS, "connected but no message for this long: "
         "report a stall, fail the health check and connect anew; 0 turns it off"),
    )  # fmt: skip
    for flag, default, text in seconds:
        conn.add_argument(flag, type=float, default=default, help=f"{text} ({default:g})")
    conn.add_argument(
        "--pending-messages",
        type=int,
        default=DEFAULT_PENDING_MESSAGES,
        help="messages received but not yet written that this process holds; past it, "
        f"messages are dropped and counted ({DEFAULT_PENDING_MESSAGES})",
    )
    conn.add_argument(
        "--pending-bytes",
        default=str(DEFAULT_PENDING_BYTES),
        help="bytes buffered in this process, as above (64MiB)",
    )


def _file_arguments(out: argparse._ArgumentGroup) -> None:
    out.add_argument("--path", help=f"the log file (env DUAL_LOG_PATH; {DEFAULT_PATH})")
    out.add_argument(
        "--per-app",
        action="store_true",
        help="one file per app beside --path: <folder>/<app>.log (names made safe)",
    )
    for option in _options.OPTIONS:  # the file sink's own, as dual_log.setup() takes them
        if option.name in FILE_OPTIONS:
            help_text = f"{option.doc} ({option.env}; default {option.shown})"
            out.add_argument(
                f"--{option.name.replace('_', '-')}",
                metavar="VALUE",
                help=help_text.replace("`", "").replace("%", "%%"),
            )
    out.add_argument(
        "--fsync-interval",
        type=float,
        default=DEFAULT_FSYNC_INTERVAL,
        help="fsync the files this often while lines are written: a crash of the host "
        f"loses at most this much; 0 leaves it to the kernel ({DEFAULT_FSYNC_INTERVAL:g})",
    )


def _filter_arguments(sel: argparse._ArgumentGroup) -> None:
    sel.add_argument("--app", action="append", default=[], help="only these apps")
    sel.add_argument("--exclude-app", action="append", default=[], help="not these apps")
    sel.add_argument("--region", action="append", default=[], help="only these regions")
    sel.add_argument("--exclude-region", action="append", default=[], help="not these regions")
    sel.add_argument(
        "--include-builders",
        action="store_true",
        help=f"also keep the lines of the platform's builders ({BUILDER_APPS}), left out by "
        "default: they flood the stream while they build",
    )
    sel.add_argument(
        "--level",
        help="this level and above, as for dual-log cat: DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL or a number; unlike cat, lines of a level not known are kept",
    )
    sel.add_argument("--exclude-level", action="append", default=[], help="not these levels")
    sel.add_argument("--match", help="only messages matching this regular expression")
    sel.add_argument("--exclude-match", help="not messages matching this regular expression")
    sel.add_argument(
        "--include-own-app",
        action="store_true",
        help="also keep the lines of this capture's own app (FLY_APP_NAME); off by default, "
        "since its own stderr travels the stream it reads",
    )


def _running_arguments(run: argparse._ArgumentGroup) -> None:
    run.add_argument(
        "--health-port",
        type=int,
        help="serve GET /health on this port: 200 while connected and not stalled, else 503",
    )
    run.add_argument(
        "--health-host",
        default="0.0.0.0",  # noqa: S104  # the platform's checks come from outside
        help="address the health endpoint listens on (0.0.0.0)",
    )
    run.add_argument(
        "--silent-after",
        type=float,
        default=DEFAULT_SILENT_AFTER,
        help="a machine that sent lines and then none for this many seconds is said to be "
        f"silent, on stderr and /health; 0 turns it off ({DEFAULT_SILENT_AFTER:g})",
    )
    run.add_argument(
        "--stop-timeout",
        type=float,
        default=DEFAULT_STOP_TIMEOUT,
        help="on SIGTERM/SIGINT, seconds to drain and write before exiting "
        f"({DEFAULT_STOP_TIMEOUT:g})",
    )


def parse(argv: Sequence[str] | None, environ: Mapping[str, str] | None = None) -> CaptureOptions:
    """Parse ``argv`` with ``environ`` (default ``os.environ``) as the fallback.

    Raises:
        SystemExit: ``--help``, or an argument argparse cannot read (exit status 2).
        ValueError: a bad value, naming the option and what is allowed.
    """
    return from_arguments(parser().parse_args(argv), environ)


def from_arguments(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> CaptureOptions:
    """What parsed ``args`` ask for, with ``environ`` (default ``os.environ``) as the
    fallback; every value checked.

    Raises:
        ValueError: a bad value, naming the option and what is allowed.
    """
    env = os.environ if environ is None else environ

    def pick(given: str | None, name: str, default: str | None = None) -> str | None:
        if given is not None and given.strip():
            return given.strip()
        value = env.get(name, "").strip()
        return value or default

    path = args.path
    if not path and not env.get("DUAL_LOG_PATH", "").strip():
        path = DEFAULT_PATH
    file_options = {name: getattr(args, name) for name in FILE_OPTIONS}
    # Resolved here only to refuse a bad value before connecting; the sink resolves again.
    resolved = _options.resolve({"path": path or None, **file_options}, env)
    _check_numbers(args)
    server = pick(args.server, "NATS_URL", DEFAULT_SERVER) or DEFAULT_SERVER
    _check_servers(server)
    return CaptureOptions(
        server=server,
        user=pick(args.org, "ORG"),
        password=pick(args.token, "ACCESS_TOKEN"),
        subject=pick(args.subject, "SUBJECT", DEFAULT_SUBJECT) or DEFAULT_SUBJECT,
        queue=pick(args.queue, "QUEUE"),
        own_app=None if args.include_own_app else pick(None, "FLY_APP_NAME"),
        path=resolved["path"],
        per_app=args.per_app,
        file_options=file_options,
        filters=_filters(args),
        stall_seconds=args.stall_seconds,
        reconnect_wait=args.reconnect_wait,
        connect_timeout=args.connect_timeout,
        pending_messages=args.pending_messages,
        pending_bytes=parse_size(args.pending_bytes, "--pending-bytes"),
        health_port=args.health_port,
        health_host=args.health_host,
        stop_timeout=args.stop_timeout,
        silent_after=args.silent_after,
        fsync_interval=args.fsync_interval,
    )


def _check_numbers(args: argparse.Namespace) -> None:
    for name in (
        "stall_seconds",
        "silent_after",
        "fsync_interval",
        "reconnect_wait",
        "connect_timeout",
        "stop_timeout",
    ):
        value = getattr(args, name)
        off = name in ("stall_seconds", "silent_after", "fsync_interval")  # 0: turned off
        if not (value >= 0 if off else value > 0) or value == float("inf"):
            raise ValueError(
                f"dual_log: invalid --{name.replace('_', '-')}={value!r}; allowed: "
                + ("a number of seconds >= 0 (0: off)" if off else "seconds > 0")
            )
    if args.pending_messages < 1:
        raise ValueError(
            f"dual_log: invalid --pending-messages={args.pending_messages!r}; allowed: >= 1"
        )
    if args.health_port is not None and not 0 <= args.health_port <= 65535:
        raise ValueError(
            f"dual_log: invalid --health-port={args.health_port!r}; allowed: 0 to 65535"
        )


def _check_servers(server: str) -> None:
    for url in server.split(","):
        try:
            parse_server(url)
        except ValueError:
            raise ValueError(
                f"dual_log: invalid --server={url.strip()!r}; allowed: nats://host:port, "
                "comma-separated (the platform's: nats://[fdaa::3]:4223)"
            ) from None


def _filters(args: argparse.Namespace) -> StreamFilters:
    return StreamFilters(
        apps=_names(args.app),
        exclude_apps=_names(args.exclude_app),
        regions=_names(args.region),
        exclude_regions=_names(args.exclude_region),
        builders=args.include_builders,
        level=parse_level(args.level, "--level") if args.level else 0,
        exclude_levels=tuple(level_from_word(v) for v in _names(args.exclude_level)),
        match=_pattern(args.match, "--match"),
        exclude_match=_pattern(args.exclude_match, "--exclude-match"),
    )


def _names(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _pattern(value: str | None, option: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(
            f"dual_log: invalid {option}={value!r}; allowed: a Python regular expression ({exc})"
        ) from None
