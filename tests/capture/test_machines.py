"""Silent machines, tick by tick: said once, back once, not while the capture is away."""

from __future__ import annotations

from dual_log._capture import _machines
from dual_log._capture._machines import Machines

M1, M2 = b"logs.web.ams.m1", b"logs.web.iad.m2"


def test_silence_is_said_once_and_a_return_once():
    """A machine quiet for silent_after seconds is said once; its next line, once more."""
    machines = Machines(silent_after=3.0, period=1.0)
    machines.seen[M1] = machines.tick
    machines.seen[M2] = machines.tick
    said = []
    for _ in range(6):
        machines.seen[M2] = machines.tick  # m2 goes on, m1 does not
        said += machines.advance(counting=True)
    assert len(said) == 1
    assert said[0].startswith("machine m1 of web in ams is silent: no line for 3s")
    assert [m["machine"] for m in machines.status()["silent_machines"]] == ["m1"]
    assert machines.status()["silent_machines"][0]["silent_seconds"] == 6
    machines.seen[M1] = machines.tick
    said = machines.advance(counting=True)
    assert said == ["machine m1 of web in ams sends again, after 6s without a line."]
    assert machines.status() == {"machines": 2, "silent_machines": []}


def test_time_does_not_count_while_the_capture_is_away():
    """Ticks that do not count (disconnected, stalled) never make a machine silent."""
    machines = Machines(silent_after=2.0, period=1.0)
    machines.seen[M1] = machines.tick
    said = [text for _ in range(50) for text in machines.advance(counting=False)]
    assert said == []
    assert machines.advance(counting=True) == []
    assert len(machines.advance(counting=True)) == 1


def test_a_machine_silent_for_a_day_is_forgotten(monkeypatch):
    """Listed until it sends again or for FORGET_SECONDS, then dropped (a deploy replaced it)."""
    monkeypatch.setattr(_machines, "FORGET_SECONDS", 10.0)
    machines = Machines(silent_after=2.0, period=1.0)
    machines.seen[M1] = machines.tick
    for _ in range(5):
        machines.advance(counting=True)
    assert machines.status()["silent_machines"]
    for _ in range(10):
        machines.advance(counting=True)
    assert machines.status() == {"machines": 0, "silent_machines": []}


def test_a_subject_not_of_the_platform_is_named_as_it_is():
    """A line on another subject is watched under that subject."""
    assert _machines.where(b"logs.odd") == {"app": "", "region": "", "machine": "logs.odd"}
    machines = Machines(silent_after=1.0, period=1.0)
    machines.seen[b"logs.odd"] = 0
    said = [text for _ in range(3) for text in machines.advance(counting=True)]
    assert said[0].startswith("subject logs.odd is silent")
