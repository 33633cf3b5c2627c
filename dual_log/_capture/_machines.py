"""Machines that went silent: each one's last line, and who stopped sending.

A machine that has sent lines and then sends none for ``silent_after`` seconds is the
outage a second copy of the logs is for, seen from the outside: it crashed, hung, lost
its network, or was stopped. The capture cannot tell which, nor a machine stopped on
purpose (a deploy replacing it, autostop) from one that failed: it says that the machine
went silent, once, and once more if it sends again.

The capture marks each line's machine with the current ``tick`` (one dict store per
line, on its subject ``logs.<app>.<region>.<machine>``); ``advance()``, called every
``period`` seconds, moves the tick on and compares. Time only counts while the capture
itself receives the stream (``advance(counting=False)`` while it is disconnected or
stalled), so an outage of the capture never makes the machines look silent.
"""

from __future__ import annotations

import time
from typing import Any

from dual_log._facts import utc_text

# A machine silent this long is forgotten (no longer listed on /health): most are gone
# for good by then, replaced by a deploy.
FORGET_SECONDS = 24 * 3600.0


def where(subject: bytes) -> dict[str, str]:
    """``app``, ``region`` and ``machine`` of a subject (the subject itself if not one)."""
    text = subject.decode("utf-8", "backslashreplace")
    parts = text.split(".")
    if len(parts) == 4 and parts[0] == "logs":
        return {"app": parts[1], "region": parts[2], "machine": parts[3]}
    return {"app": "", "region": "", "machine": text}


def _name(subject: bytes) -> str:
    place = where(subject)
    if place["app"]:
        return f"machine {place['machine']} of {place['app']} in {place['region']}"
    return f"subject {place['machine']}"


class Machines:
    """Each machine's last line, in ticks of ``period`` seconds, and the silent ones.

    Args:
        silent_after: seconds without a line after which a machine is silent.
        period: seconds between calls of ``advance()``.
    """

    def __init__(self, silent_after: float, period: float) -> None:
        self.silent_after = silent_after
        self.period = period
        self.tick = 0
        self.seen: dict[bytes, int] = {}
        """Subject -> the tick of its last line; the capture writes it for every line."""
        self._last_line: dict[bytes, float] = {}  # wall clock, within one period
        self._silent: dict[bytes, int] = {}  # subject -> its tick when it went silent

    def advance(self, *, counting: bool) -> list[str]:
        """Move the tick on (if ``counting``); what to say about machines, if anything."""
        now = time.time()
        said = []
        if counting:
            self.tick += 1
        limit = self.silent_after / self.period
        gone = []
        for subject, tick in self.seen.items():
            if tick >= self.tick - 1:
                self._last_line[subject] = now
            quiet = self.tick - tick
            silent_since = self._silent.get(subject)
            if silent_since is not None:
                if tick > silent_since:
                    del self._silent[subject]
                    said.append(
                        f"{_name(subject)} sends again, after "
                        f"{(tick - silent_since) * self.period:.0f}s "
                        "without a line."
                    )
                elif quiet * self.period >= FORGET_SECONDS:
                    gone.append(subject)
            elif quiet >= limit:
                self._silent[subject] = tick
                last = self._last_line.get(subject, now)
                said.append(
                    f"{_name(subject)} is silent: no line for {quiet * self.period:.0f}s "
                    f"(--silent-after {self.silent_after:g}), the last at {utc_text(last)}."
                )
        for subject in gone:
            del self.seen[subject], self._silent[subject]
            self._last_line.pop(subject, None)
        return said

    def status(self) -> dict[str, Any]:
        """For /health: how many machines are watched, and the silent ones."""
        silent = []
        for subject in sorted(self._silent, key=self._silent.__getitem__):
            quiet = (self.tick - self.seen[subject]) * self.period
            last = self._last_line.get(subject)
            silent.append(
                {
                    **where(subject),
                    "last_line": utc_text(last) if last is not None else None,
                    "silent_seconds": round(quiet),
                }
            )
        return {"machines": len(self.seen), "silent_machines": silent}
