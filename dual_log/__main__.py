"""``python -m dual_log``: the ``dual-log`` command (see ``dual_log.cli``)."""

from __future__ import annotations

import sys

from dual_log.cli import main

if __name__ == "__main__":
    sys.exit(main())
