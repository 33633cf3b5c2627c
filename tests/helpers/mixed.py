"""A child program that logs records of every kind through dual_log, for the reader's tests.

Usage: python -m tests.helpers.mixed PATH [option=value ...]

Logs, in this order: DEBUG, INFO, WARNING, ERROR (with a traceback) and CRITICAL records
of the loggers ``shop``, ``shop.cart`` and ``shopping``, records with the extras ``rid``
and ``order``, a message with a forged line break and an escape character.
"""

from __future__ import annotations

import logging
import sys

import dual_log


def main(argv: list[str]) -> int:
    options = dict(arg.split("=", 1) for arg in argv[1:])
    dual = dual_log.setup(path=argv[0], stdout=False, level="DEBUG", **options)
    shop, cart, shopping = (logging.getLogger(n) for n in ("shop", "shop.cart", "shopping"))
    shop.debug("debug detail")
    shop.info("order 17 placed", extra={"rid": "r-17", "order": 17})
    cart.warning("cart almost full", extra={"rid": "r-18"})
    try:
        raise ValueError("bad price")
    except ValueError:
        cart.exception("order 18 failed")
    shopping.critical("shopping down")
    shopping.info('forged\n{"level": "ERROR"} and \x1b[31mred')
    dual.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
