"""dual_log's own diagnostics: one clear line on stderr per fault, never through logging.

A sink that fails must not report its failure through logging: the record would come
back to the handler that is failing (sentry-python keeps its own loggers away from its
handler for the same reason). So faults are written straight to stderr, once when a
fault starts, as a reminder at most once a minute while it lasts, and once when the
sink works again, with the number of records it missed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import argparse

REMINDER_SECONDS = 60.0
# A different error is news, but never a second line in the same instant as the first.
NEWS_SECONDS = 1.0


# Who speaks: the library in an application, or the ``dual-log`` command.
LIBRARY = "dual_log"
COMMAND = "dual-log"


def say(message: str, *, by: str = LIBRARY) -> None:
    """Write one line to stderr, ``dual_log: <message>`` (or ``dual-log: `` for the
    command); never raise, never log."""
    line = f"{by}: {message}\n"
    try:
        stream = sys.stderr
        if stream is None:
            raise OSError("no sys.stderr")
        stream.write(line)
        stream.flush()
    except Exception:  # stderr replaced by something broken: fall back to fd 2
        # If fd 2 is closed too, there is nowhere left to say it.
        with contextlib.suppress(Exception):
            os.write(2, line.encode("utf-8", "backslashreplace"))


# Records given up by file handlers closed on a failing file, by sink: said at exit, one
# line a sink (see FaultReport.gave_up and say_given_up); at once once that has passed.
_given_up: dict[str, tuple[int, str]] = {}
_exit_passed = False


def say_given_up() -> None:
    """Say how many records each failing file gave up at close; from now on, at once."""
    global _exit_passed
    _exit_passed = True
    for sink, (count, reason) in list(_given_up.items()):
        say(f"{records(count)} could not be written to {sink} before it was closed: {reason}.")
    _given_up.clear()


# Where a process tree remembers what it has said already: Django's autoreloader and a
# server's workers are children that build their own handlers for the same fault.
_SAID = "_DUAL_LOG_SAID"


def first_in_process_tree(key: str) -> bool:
    """True the first time ``key`` is asked in this process and the processes it starts.

    Used for start-up warnings that every process of one program would otherwise repeat.
    """
    said = os.environ.get(_SAID, "")
    if key in said.split("\n"):
        return False
    with contextlib.suppress(Exception):  # an environment that refuses it: say it again
        os.environ[_SAID] = f"{said}\n{key}" if said else key
    return True


# What an exception raised without a message means (asyncio's wait_for raises a bare
# TimeoutError when a connect attempt takes too long).
_UNSAID: dict[type[BaseException], str] = {
    TimeoutError: "timed out",
    ConnectionResetError: "the connection was reset",
}


def describe(error: BaseException) -> str:
    """A short, single-line description of an error, with its errno name when it has one."""
    if isinstance(error, OSError) and error.errno is not None:
        name = errno.errorcode.get(error.errno, str(error.errno))
        text = f"{name}: {error.strerror or error}"
        if error.filename is not None:
            text += f" ({error.filename})"
    else:
        try:
            detail = str(error) or _UNSAID.get(type(error), "no detail given")
        except Exception:  # an exception whose __str__ raises
            detail = "no detail given"
        text = f"{type(error).__name__}: {detail}"
    return text.replace("\n", " ").replace("\r", " ")


def size_text(count: float) -> str:
    """A byte count for people: ``64 MiB`` when it is a whole unit, else ``1.2 GiB``."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            whole = count % size == 0
            return f"{count // size:.0f} {unit}" if whole else f"{count / size:.1f} {unit}"
    return f"{count:.0f} B"


_SINGULAR = {"were": "was", "are": "is"}


def records(count: int, verb: str = "") -> str:
    """``1 record was``, ``2 records were``: a count of records, and ``verb`` (given in the
    plural) agreeing with it, for a sentence."""
    if count == 1:
        return f"1 record {_SINGULAR.get(verb, verb)}".rstrip()
    return f"{count} records {verb}".rstrip()


def where(error: BaseException) -> str:
    """Where ``error`` was raised: ``file.py:123 in function``, for a report of a bug."""
    tb = error.__traceback__
    if tb is None:
        return "an unknown place"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name}"


def _kind(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno is not None:
        return f"errno {error.errno}"
    return type(error).__name__


class FaultReport:
    """Tracks one sink's fault episodes and reports them without flooding stderr.

    Args:
        sink: how the sink is named in messages, e.g. ``"the log file /logs/app.log"``.
        consequence: what goes on while it fails, e.g. ``"Records still go to stdout"``.
    """

    def __init__(self, sink: str, consequence: str) -> None:
        self.sink = sink
        self.consequence = consequence
        self.failing = False
        self.last_error = ""
        self._last_kind = ""
        self.faults = 0
        self._since = 0.0
        self._reported_at = 0.0
        self._missed = 0
        # Reentrant: a signal handler that logs may interrupt this very thread in here.
        self._lock = threading.RLock()

    def failed(
        self, error: BaseException, missed: int, hint: str = "", *, quiet: bool = False
    ) -> None:
        """Count ``missed`` records lost to ``error``; report a new fault or a reminder.

        With ``quiet``, a new fault is taken note of without a line: another process of
        the same program has said it already.
        """
        text = describe(error)
        # The same fault can name another file from one attempt to the next (the folder,
        # then the lock file in it): only a different kind of error is news.
        kind = _kind(error)
        now = time.monotonic()
        with self._lock:
            self._missed += missed
            if not self.failing:
                self.failing = True
                self.faults += 1
                self._since = now
                message = f"cannot write to {self.sink}: {text}.{hint} {self.consequence}."
                if quiet:
                    self.last_error, self._last_kind, self._reported_at = text, kind, now
                    return
            elif (
                kind != self._last_kind and now - self._reported_at >= NEWS_SECONDS
            ) or now - self._reported_at >= REMINDER_SECONDS:
                message = f"{self.sink} is still failing: {text}; for {now - self._since:.1f}s."
                if self._missed:
                    message = message[:-1] + f", {records(self._missed)} missed meanwhile."
            else:
                self.last_error = text
                return
            self.last_error = text
            self._last_kind = kind
            self._reported_at = now
        say(message)

    def succeeded(self, detail: str | None = None) -> None:
        """Report the end of a fault episode, if one was going on.

        Args:
            detail: what became of the records meanwhile; by default, how many were
                missed (as counted by ``failed``).
        """
        if not self.failing:
            return
        with self._lock:
            if not self.failing:
                return
            took = time.monotonic() - self._since
            missed, self._missed = self._missed, 0
            self.failing = False
        if detail is None:
            detail = f"{records(missed, 'were')} not written to it meanwhile"
        say(f"{self.sink} works again after {took:.1f}s; {detail}.")

    def gave_up(self, count: int) -> None:
        """Count ``count`` records given up at close, to be said at exit with the last
        error: a program that re-applies its logging config (Django's runserver does) or
        has many handlers on one file says it once."""
        reason = self.last_error or "it kept failing"
        if _exit_passed:
            say(f"{records(count)} could not be written to {self.sink} before it was closed: "
                f"{reason}.")  # fmt: skip
            return
        earlier, _ = _given_up.get(self.sink, (0, ""))
        _given_up[self.sink] = (earlier + count, reason)

    def after_fork_in_child(self) -> None:
        """Give the child its own lock; the parent's may have been held at fork."""
        self._lock = threading.RLock()


def usage_error(parser: argparse.ArgumentParser, error: BaseException | str) -> NoReturn:
    """Stop with ``parser``'s usage and ``error`` (exit status 2), with one prefix only:
    an option's ``ValueError`` says ``dual_log: invalid ...``, argparse adds its own."""
    parser.error(str(error).removeprefix("dual_log: "))
