"""Bound context: dual_log.bind, unbind and context, on both sinks, per thread and per task."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

import pytest

import dual_log
from dual_log import _context
from dual_log._context import current
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _nothing_bound() -> Iterator[None]:
    """Each test starts with no field bound, and leaves none bound (tests share a thread)."""
    token = _context._fields.set(_context._EMPTY)
    yield
    _context._fields.reset(token)


@pytest.fixture
def sinks(log_path: Path) -> Iterator[dual_log.DualLog]:
    """Both sinks on the root logger (the file written at each call), nothing bound."""
    dual = dual_log.setup(path=str(log_path), queue=False, handle_signals=False)
    assert current() == {}
    yield dual
    dual.close()


def _by_message(log_path: Path) -> dict[str, dict[str, Any]]:
    records, torn = read_records(log_path)
    assert torn == []
    return {record["message"]: record for record in records}


def _stdout_lines(out: str) -> dict[str, str]:
    """Each stdout line by the message its text starts with (the 4th word on)."""
    return {line.split(" ", 3)[3].split(" ", 1)[0]: line for line in out.splitlines()}


def test_bound_fields_reach_both_sinks_and_unbind_takes_them_off(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """bind() adds JSON fields in the file and key=value on stdout; unbind() removes them."""
    dual_log.bind(user_id=7, tenant="acme corp")
    logger.info("first")
    dual_log.unbind("tenant", "never_bound")
    logger.info("second")
    dual_log.unbind("user_id")
    logger.info("third")
    records = _by_message(log_path)
    assert records["first"]["user_id"] == 7
    assert records["first"]["tenant"] == "acme corp"
    assert (records["second"]["user_id"], "tenant" in records["second"]) == (7, False)
    assert {"user_id", "tenant"}.isdisjoint(records["third"])
    lines = _stdout_lines(capsys.readouterr().out)
    assert lines["first"].endswith(f' {logger.name} first user_id=7 tenant="acme corp"')
    assert lines["second"].endswith(f" {logger.name} second user_id=7")
    assert lines["third"].endswith(f" {logger.name} third")


def test_context_block_merges_with_outer_fields_and_restores_them(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path
) -> None:
    """Nested contexts merge (the inner value wins) and each exit restores what was before."""
    dual_log.bind(service="shop")
    with dual_log.context(request_id="r1", user="ann") as outer:
        assert outer == {"service": "shop", "request_id": "r1", "user": "ann"}
        logger.info("outer")
        with dual_log.context(user="bob", step="pay"):
            logger.info("inner")
        logger.info("outer again")
    logger.info("after")
    dual_log.unbind("service")
    records = _by_message(log_path)
    fields = ("service", "request_id", "user", "step")
    seen = {m: tuple(r.get(f) for f in fields) for m, r in records.items()}
    assert seen == {
        "outer": ("shop", "r1", "ann", None),
        "inner": ("shop", "r1", "bob", "pay"),
        "outer again": ("shop", "r1", "ann", None),
        "after": ("shop", None, None, None),
    }


def test_context_leaves_the_fields_as_they_were_when_the_block_raises(
    sinks: dual_log.DualLog,
) -> None:
    """An exception leaving a block still takes its fields off."""

    def fail() -> None:
        with dual_log.context(job="nightly"):
            assert current() == {"job": "nightly"}
            raise KeyError("x")

    with pytest.raises(KeyError):
        fail()
    assert current() == {}


def test_an_explicit_extra_wins_over_a_bound_field_for_its_own_record(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """extra={"user": ...} is what its record shows in both sinks; the next shows the bound one."""
    with dual_log.context(user="ann", request_id="r9"):
        logger.info("mine", extra={"user": "bob"})
        logger.info("bound")
    records = _by_message(log_path)
    assert (records["mine"]["user"], records["mine"]["request_id"]) == ("bob", "r9")
    assert records["bound"]["user"] == "ann"
    lines = _stdout_lines(capsys.readouterr().out)
    assert lines["mine"].endswith(" mine user=bob request_id=r9")
    assert lines["bound"].endswith(" bound user=ann request_id=r9")


def test_each_thread_sees_only_its_own_fields(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Eight threads bind their own id and log in turns: every record carries its thread's id."""
    threads, rounds = 8, 25
    barrier = threading.Barrier(threads)

    def work(number: int) -> None:
        dual_log.bind(worker=f"w{number}")
        barrier.wait()  # all bound before anyone logs
        for step in range(rounds):
            logger.info("w%d-%d", number, step)
            if step % 5 == 0:
                barrier.wait()  # interleave the threads' records

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    records = _by_message(log_path)
    assert len(records) == threads * rounds
    assert all(r["worker"] == r["message"].split("-")[0] for r in records.values())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == threads * rounds
    for line in lines:
        message = line.split(" ", 3)[3]
        assert message.endswith(f" worker={message.split('-')[0]}"), line
    assert current() == {}  # the threads' binds stayed in the threads


def test_each_asyncio_task_sees_only_its_own_fields(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path
) -> None:
    """Tasks bound with context() (block and async decorator) interleave without mixing."""

    @dual_log.context(kind="decorated")
    async def decorated(number: int) -> None:
        for step in range(5):
            logger.info("d%d-%d", number, step)
            await asyncio.sleep(0)

    async def block(number: int) -> None:
        with dual_log.context(kind="block", task=f"b{number}"):
            for step in range(5):
                logger.info("b%d-%d", number, step)
                await asyncio.sleep(0)

    async def main() -> None:
        with dual_log.context(run="r1"):  # tasks started inside carry the block's fields
            await asyncio.gather(*(decorated(n) for n in range(4)), *(block(n) for n in range(4)))
        logger.info("done")

    asyncio.run(main())
    records = _by_message(log_path)
    assert len(records) == 41
    for message, record in records.items():
        if message == "done":
            assert {"run", "kind", "task"}.isdisjoint(record)
        elif message.startswith("d"):
            assert (record["run"], record["kind"], "task" in record) == ("r1", "decorated", False)
        else:
            assert (record["run"], record["kind"]) == ("r1", "block")
            assert record["task"] == message.split("-")[0]


def test_decorator_binds_around_each_call_of_a_plain_function(
    sinks: dual_log.DualLog, logger: logging.Logger, log_path: Path
) -> None:
    """@context(...) on a function binds for each call, keeps its name and returns its value."""

    @dual_log.context(job="nightly")
    def run(number: int) -> int:
        """Run once."""
        logger.info("run %d", number)
        return number * 2

    assert (run(1), run(2)) == (2, 4)
    assert (run.__name__, run.__doc__) == ("run", "Run once.")
    logger.info("outside")
    records = _by_message(log_path)
    assert [records[m].get("job") for m in ("run 1", "run 2", "outside")] == [
        "nightly",
        "nightly",
        None,
    ]


def test_library_records_get_the_bound_fields(
    sinks: dual_log.DualLog, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records of libraries' loggers (uvicorn's, a driver's) carry the fields like the app's."""
    with dual_log.context(request_id="lib-1"):
        logging.getLogger("uvicorn.access").info('%s - "%s" %d', "127.0.0.1", "GET /", 200)
        logging.getLogger("sqlalchemy.engine").warning("slow query")
    records = _by_message(log_path)
    assert records['127.0.0.1 - "GET /" 200']["request_id"] == "lib-1"
    assert records["slow query"]["request_id"] == "lib-1"
    out = capsys.readouterr().out
    assert out.count(" request_id=lib-1\n") == 2


@pytest.mark.parametrize("name", ["name", "msg", "levelname", "message", "asctime", "args"])
def test_binding_a_log_record_attribute_is_refused(name: str) -> None:
    """bind() and context() refuse a LogRecord attribute's name, naming it and what is allowed."""
    with pytest.raises(ValueError, match=rf"invalid field name\(s\) {name}: .*allowed: any other"):
        dual_log.bind(**{name: "x"})
    with pytest.raises(ValueError, match=name):
        dual_log.context(**{name: "x"})
    assert current() == {}


def test_bound_fields_in_the_queued_file_are_those_of_the_logging_thread(
    logger: logging.Logger, log_path: Path
) -> None:
    """With the queue (the default), the writer thread writes the fields the caller had bound."""
    dual = dual_log.setup(path=str(log_path), stdout=False, handle_signals=False)
    for number in range(50):
        with dual_log.context(n=number):
            logger.info("queued %d", number)
    assert dual.flush()
    dual.close()
    records = _by_message(log_path)
    assert [records[f"queued {n}"]["n"] for n in range(50)] == list(range(50))
