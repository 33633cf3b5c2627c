"""Rounds of processes rotating one file, each started the way a real server starts them.

Usage: python -m tests.helpers.contention SCENARIO FOLDER ROUNDS WORKERS COUNT [option=value ...]

Each round logs into ``FOLDER/round-<r>/app.log`` and prints one JSON line with the ids
it logged, ``"<r>-<worker>-<n>"``: the caller checks the files for every id, once.

Scenarios, each with ``multiprocessing``:
- ``after_fork``: fork; every child calls ``dual_log.setup()`` itself.
- ``before_fork``: the parent calls ``setup()`` and logs, then forks its children
  (gunicorn ``--preload``); the parent logs again while they run.
- ``spawn`` / ``forkserver``: children of that start method call ``setup()`` themselves.
- ``pool``: a ``Pool`` with ``maxtasksperchild=1``: each task runs in a new process
  that sets up in the pool's initializer, logs, and exits as the pool retires it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
from typing import Any

import dual_log


def _setup(path: str, options: dict[str, Any]) -> None:
    dual_log.setup(path=path, stdout=False, **options)


def _log(round_: int, worker: int | str, count: int) -> None:
    log = logging.getLogger("contention")
    for n in range(count):
        log.info("%s-%s-%d %s", round_, worker, n, "x" * 40)


def _child(path: str, options: dict[str, Any], round_: int, worker: int, count: int) -> None:
    _setup(path, options)
    _log(round_, worker, count)


def _inherited(round_: int, worker: int, count: int) -> None:
    _log(round_, worker, count)


def _task(args: tuple[int, int, int]) -> None:
    _log(*args)


def run_round(
    scenario: str, path: str, round_: int, workers: int, count: int, options: dict[str, Any]
) -> list[str]:
    """Run one round; return the ids it logged."""
    ids = [f"{round_}-{w}-{n}" for w in range(workers) for n in range(count)]
    if scenario == "pool":
        context = multiprocessing.get_context("fork")
        with context.Pool(2, _setup, (path, options), maxtasksperchild=1) as pool:
            pool.map(_task, [(round_, w, count) for w in range(workers)], chunksize=1)
            pool.close()
            pool.join()
        return ids
    if scenario == "before_fork":
        _setup(path, options)
        _log(round_, "parent", count)
        ids += [f"{round_}-parent-{n}" for n in range(count)]
        context = multiprocessing.get_context("fork")
        children = [
            context.Process(target=_inherited, args=(round_, w, count)) for w in range(workers)
        ]
    else:
        method = "fork" if scenario == "after_fork" else scenario
        context = multiprocessing.get_context(method)
        children = [
            context.Process(target=_child, args=(path, options, round_, w, count))
            for w in range(workers)
        ]
    for child in children:
        child.start()
    if scenario == "before_fork":
        _log(round_, "parent-after", count)
        ids += [f"{round_}-parent-after-{n}" for n in range(count)]
    for child in children:
        child.join()
        assert child.exitcode == 0, f"a child exited with {child.exitcode}"
    return ids


def main(argv: list[str]) -> int:
    scenario, folder, rounds, workers, count = argv[0], argv[1], *map(int, argv[2:5])
    options: dict[str, Any] = dict(arg.split("=", 1) for arg in argv[5:])
    for round_ in range(rounds):
        path = f"{folder}/round-{round_}/app.log"
        os.makedirs(f"{folder}/round-{round_}")
        ids = run_round(scenario, path, round_, workers, count, options)
        print(json.dumps({"path": path, "ids": ids}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
