"""``dual-log capture``: keep a copy of the platform's log stream on a volume.

A separate app subscribes to the NATS log stream the platform offers (``logs.>`` at
``nats://[fdaa::3]:4223``, user = the organization, password = an access token) and
writes every app's lines as JSON to rotating files through dual_log's own file sink.
It covers what an app's own file cannot: apps that are not Python, machines whose disk
is gone, and a copy kept off the machine that failed::

    ORG=my-org ACCESS_TOKEN=$(fly auth token) python -m dual_log.capture --path /logs/fly.log

``main(argv)`` is the command; ``python -m dual_log.capture --help`` lists its options.
It speaks the NATS protocol itself (``_capture._nats``) and needs nothing beyond
dual_log; the ``nats`` extra adds msgspec, which reads and writes each line several
times faster than json does. ``import dual_log`` never imports this module.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from dual_log._capture import _options, _run
from dual_log._capture._options import CaptureOptions
from dual_log._capture._subscriber import Capture

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Capture", "CaptureOptions", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the capture until SIGTERM or SIGINT; return the exit status.

    Args:
        argv: the arguments after ``capture`` (default ``sys.argv[1:]``).

    Returns:
        0 after a clean stop, 2 for a bad option (said with the usage on stderr).
    """
    parser = _options.parser()
    return _run.run(parser.parse_args(list(sys.argv[1:] if argv is None else argv)), parser)


if __name__ == "__main__":
    sys.exit(main())
