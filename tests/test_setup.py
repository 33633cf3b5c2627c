"""dual_log.setup(): one call, both sinks, idempotent, and nothing else touched."""

from __future__ import annotations

import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dual_log
from tests.helpers.logfiles import read_records


def test_every_logger_reaches_stdout_and_the_file(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record of any logger shows on stdout as text and in the file as JSON."""
    dual = dual_log.setup(path=str(log_path))
    logging.getLogger("shop.orders").info("order %s paid", "A-17")
    logging.getLogger("some.library").warning("disk at %d%%", 91)
    assert dual.flush()
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[1] for line in out] == [
        "INFO shop.orders order A-17 paid",
        "WARNING some.library disk at 91%",
    ]
    records, torn = read_records(log_path)
    assert torn == []
    assert [(r["logger"], r["message"]) for r in records] == [
        ("shop.orders", "order A-17 paid"),
        ("some.library", "disk at 91%"),
    ]
    assert (dual.file_written, dual.file_missed, dual.stdout_written) == (2, 0, 2)


def test_second_call_replaces_its_own_handlers_only(log_path: Path) -> None:
    """Calling setup() twice leaves one pair of dual_log handlers and keeps the user's handler."""
    root = logging.getLogger()
    mine = logging.NullHandler()
    root.addHandler(mine)
    first = dual_log.setup(path=str(log_path))
    second = dual_log.setup(path=str(log_path), keep=2)
    assert mine in root.handlers
    ours = [
        h for h in root.handlers if isinstance(h, (dual_log.StdoutHandler, dual_log.FileHandler))
    ]
    assert ours == second.handlers
    assert not set(first.handlers) & set(root.handlers)


def test_close_flushes_and_detaches(log_path: Path) -> None:
    """close() writes what is queued and removes exactly its handlers."""
    dual = dual_log.setup(path=str(log_path), stdout=False)
    for i in range(500):
        logging.getLogger("burst").info("record %d", i)
    dual.close()
    assert dual.file_handler not in logging.getLogger().handlers
    records, _ = read_records(log_path)
    assert [r["message"] for r in records] == [f"record {i}" for i in range(500)]


def test_per_sink_levels(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stdout can be kept to warnings while the file keeps debug records."""
    dual = dual_log.setup(path=str(log_path), level="DEBUG", stdout_level="WARNING")
    log = logging.getLogger("levels")
    log.debug("detail")
    log.warning("alarm")
    dual.flush()
    assert [line.rsplit(" ", 1)[1] for line in capsys.readouterr().out.splitlines()] == ["alarm"]
    assert [r["message"] for r in read_records(log_path)[0]] == ["detail", "alarm"]


def test_formats_are_switchable_per_sink(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout can be JSON and the file text."""
    dual = dual_log.setup(path=str(log_path), stdout_format="json", file_format="text")
    logging.getLogger("fmt").info("hello")
    dual.flush()
    assert '"message": "hello"' in capsys.readouterr().out
    assert log_path.read_text().rstrip().endswith("INFO fmt hello")


def test_attaches_to_a_named_logger(log_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """logger= attaches to that logger only; the root logger is untouched."""
    root_handlers = list(logging.getLogger().handlers)
    dual = dual_log.setup(path=str(log_path), logger="app")
    logging.getLogger("app.sub").info("in app")
    logging.getLogger("elsewhere").warning("not ours")
    dual.flush()
    assert logging.getLogger().handlers == root_handlers
    assert [r["message"] for r in read_records(log_path)[0]] == ["in app"]
    dual.close()
    assert "not ours" not in capsys.readouterr().out


def test_rails_logger_new_path_3_mapping(tmp_path: Path) -> None:
    """Logger.new(path, 3) is keep=2 with Ruby's 1 MiB default: 3 files in all, as in Ruby."""
    path = tmp_path / "production.log"
    dual = dual_log.setup(path=str(path), keep=2, max_bytes="1MiB", stdout=False, queue=False)
    log = logging.getLogger("rails")
    for i in range(3000):
        log.info("%05d %s", i, "x" * 1000)
    dual.close()
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["production.log", "production.log.1", "production.log.2"]
    assert all(p.stat().st_size < 1.1 * 1024 * 1024 for p in tmp_path.glob("production.log*"))


def test_warns_when_another_console_handler_would_double_lines(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A basicConfig StreamHandler already on the root logger is pointed out on stderr."""
    root = logging.getLogger()
    console = logging.StreamHandler(sys.stderr)
    root.addHandler(console)
    dual_log.setup(path=str(log_path))
    assert "records will show twice" in capsys.readouterr().err
    assert console in root.handlers


def test_import_configures_nothing_and_imports_no_framework() -> None:
    """import dual_log adds no handler and imports neither Django nor Flask."""
    code = (
        "import logging, sys, dual_log; "
        "print(len(logging.getLogger().handlers), "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'flask')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert out.strip() == "0 []"


def test_dictconfig_builds_both_handlers(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The handler and formatter classes can be named straight from dictConfig."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "text": {"()": "dual_log.TextFormatter"},
                "json": {"()": "dual_log.JsonFormatter", "static_fields": {"service": "api"}},
            },
            "handlers": {
                "stdout": {"class": "dual_log.StdoutHandler", "formatter": "text"},
                "file": {
                    "class": "dual_log.FileHandler",
                    "formatter": "json",
                    "filename": str(log_path),
                    "max_bytes": "1 MiB",
                    "keep": "3",
                    "queue": "false",
                },
            },
            "root": {"level": "INFO", "handlers": ["stdout", "file"]},
        }
    )
    logging.getLogger("configured").info("via dictConfig")
    assert capsys.readouterr().out.rstrip().endswith("INFO configured via dictConfig")
    (record,), _ = read_records(log_path)
    assert (record["message"], record["service"]) == ("via dictConfig", "api")


def test_stats_counts_every_sink_of_the_process(
    tmp_path: Path, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dual_log.stats()`` and ``DualLog.stats()`` show what each sink wrote and missed,
    and a file that fails as failing, with its fault episode counted."""
    good = dual_log.setup(path=tmp_path / "good" / "app.log", create_dirs=True)
    for n in range(5):
        logger.info("r%d", n)
    assert good.flush()
    pair = good.stats()
    assert pair["file"]["written"] == pair["stdout"]["written"] == 5
    assert pair["file"]["missed"] == pair["file"]["errors"] == 0
    assert pair["file"]["failing"] is False
    missing = dual_log.FileHandler(tmp_path / "no-volume" / "app.log")
    missing.handle(logging.LogRecord("x", logging.INFO, "f", 1, "lost?", None, None))
    assert not missing.flush()  # at once: the file is known to fail
    everything = dual_log.stats()
    assert everything[str(tmp_path / "good" / "app.log")]["written"] == 5
    assert everything["stdout"]["written"] >= 5
    failing = everything[str(tmp_path / "no-volume" / "app.log")]
    assert (failing["failing"], failing["faults"], failing["pending"]) == (True, 1, 1)
    missing.close()
    assert missing.stats()["lost"] == 1  # given up at close: counted, and said at exit


NO_VOLUME = r"""
import logging, logging.config, sys, time
import dual_log

config = dual_log.logging_config(path=sys.argv[1])
logging.config.dictConfig(config)
for n in range(4):
    logging.getLogger("app").info("first %d", n)
started = time.monotonic()
logging.config.dictConfig(config)  # Django's runserver applies it again, and so on
sys.stderr.write(f"again {time.monotonic() - started:.3f}\n")
for n in range(4):
    logging.getLogger("app").info("second %d", n)
"""


def test_no_volume_costs_no_time_and_is_counted_in_one_line_at_exit(tmp_path: Path) -> None:
    """Without the volume's folder, applying the config again and exiting do not wait for
    a file that cannot be written; stdout has every record, and one line at exit counts
    the file's."""
    path = tmp_path / "not-mounted" / "app.log"
    done = subprocess.run(
        [sys.executable, "-c", NO_VOLUME, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" INFO app ") == 8
    lines = [line for line in done.stderr.splitlines() if line.startswith("dual_log:")]
    assert len(lines) == 2, lines
    assert "is the volume mounted?" in lines[0]
    assert lines[1].startswith(f"dual_log: 8 records could not be written to the log file {path}")
    # Not a speed check: it waited flush(5 s) plus 1 s for the old handlers before.
    again = float(done.stderr.split("again ")[1].split()[0])
    assert again < 2.0


WITHOUT_FCNTL = r"""
import logging, logging.config, sys
sys.modules["fcntl"] = None  # as on Windows: there is no such module
import dual_log

dual = dual_log.setup(path=sys.argv[1], create_dirs=True)
logging.getLogger("laptop").info("still on stdout")
logging.config.dictConfig(dual_log.logging_config(path=sys.argv[1]))  # Django's LOGGING way
logging.getLogger("laptop").info("and again")
print(dual.stats()["file"]["missed"], file=sys.stderr)
"""


def test_without_fcntl_stdout_works_and_the_file_sink_says_why_it_is_off(
    tmp_path: Path,
) -> None:
    """A platform without POSIX file locks (Windows): import and set-up work, stdout gets
    every record, and one stderr line says the file sink is off and why."""
    path = tmp_path / "logs" / "app.log"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL, str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" INFO laptop ") == 2
    said = [line for line in done.stderr.splitlines() if line.startswith("dual_log:")]
    assert len(said) == 1, said
    assert "is off: it needs POSIX file locks (fcntl)" in said[0]
    assert done.stderr.splitlines()[-1] == "1"  # the one record it was given, counted
    assert not path.exists()


def test_setup_again_and_close_leave_no_descriptor_open(
    tmp_path: Path, logger: logging.Logger
) -> None:
    """Set up, log, rotate, set up again over it, close: every descriptor the file sink
    opened (log file, lock file, folder) is closed, and none twice (a second close of a
    number the process reuses would close someone else's file)."""
    fds = Path("/proc/self/fd")  # Linux, where the tests run
    before = set(os.listdir(fds))
    guard = (tmp_path / "guard").open("w")  # opened after: a double close would hit it
    path = tmp_path / "logs" / "app.log"
    for round_ in range(3):
        dual = dual_log.setup(path=path, create_dirs=True, max_bytes="4KiB", keep=2)
        for n in range(200):
            logger.info("round %d record %d", round_, n)
        assert dual.flush()
    dual.close()
    guard.write("still open")
    guard.close()  # raises if a double close took its descriptor
    assert set(os.listdir(fds)) == before
