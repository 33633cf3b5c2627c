"""dual_log's own diagnostics: one stderr line per fault, never a record through logging."""

from __future__ import annotations

import io
import logging
import sys
import time
from pathlib import Path

import pytest

import dual_log
from tests.helpers.logfiles import read_records


class Capture(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("queue", [True, False])
def test_a_failing_file_reports_on_stderr_only_never_through_logging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], queue: bool
) -> None:
    """With the volume missing, no record about the fault reaches any handler: no recursion.

    The file's records are held meanwhile, and written once the folder appears.
    """
    capture = Capture()
    logging.getLogger().addHandler(capture)
    folder = tmp_path / "unmounted"
    dual = dual_log.setup(path=str(folder / "app.log"), queue=queue)
    log = logging.getLogger("app")
    for n in range(50):
        log.info("record %d", n)
    assert not dual.flush(timeout=0.5)
    assert [r.getMessage() for r in capture.records] == [f"record {n}" for n in range(50)]
    err = capsys.readouterr().err
    assert err.count("dual_log: ") == 1
    assert "is the volume mounted?" in err
    assert "Logging error" not in err  # logging.Handler.handleError's traceback per record
    assert (dual.file_missed, dual.file_written, dual.stdout_written) == (0, 0, 50)
    assert dual.file_handler.pending == 50
    folder.mkdir()
    deadline = time.monotonic() + 10
    while not dual.flush(timeout=0.5) and time.monotonic() < deadline:
        time.sleep(0.1)  # the writer retries with backoff; queue=False retries on flush
    assert (dual.file_missed, dual.file_written) == (0, 50)
    assert [r["message"] for r in read_records(folder / "app.log")[0]] == [
        f"record {n}" for n in range(50)
    ]
    assert capsys.readouterr().err.count("held meanwhile are written now") == 1


def test_a_failing_stdout_reports_once_and_the_file_goes_on(
    log_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed stdout: one stderr line, no traceback, no record about it, the file complete."""
    capture = Capture()
    logging.getLogger().addHandler(capture)
    dual = dual_log.setup(path=str(log_path), queue=False)
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)  # the sink looks sys.stdout up per record
    for n in range(20):
        logging.getLogger("app").warning("record %d", n)
    assert len(capture.records) == 20
    err = capsys.readouterr().err
    assert err.count("dual_log: ") == 1
    assert "cannot write to stdout: ValueError: I/O operation on closed file" in err
    assert "Traceback" not in err
    assert (dual.stdout_missed, dual.file_written) == (20, 20)


def test_a_parent_that_is_a_file_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log folder under a regular file: the message names the file, not an unmounted volume."""
    blocker = tmp_path / "logs"
    blocker.write_text("not a folder")
    dual = dual_log.setup(path=str(blocker / "app.log"), stdout=False)
    logging.getLogger("app").info("record")
    dual.flush(timeout=0.5)
    err = capsys.readouterr().err
    assert err.count("dual_log: ") == 1
    assert f"{blocker} is a file, not a folder" in err
    assert "mounted" not in err


def test_a_path_that_is_a_folder_is_refused_at_setup(tmp_path: Path) -> None:
    """path= naming an existing folder is a ValueError at set-up, naming the option."""
    with pytest.raises(ValueError, match=r"invalid path=.*a file path, not a folder"):
        dual_log.setup(path=str(tmp_path))


def test_an_error_without_a_message_is_described_by_what_it_means() -> None:
    """A bare TimeoutError (asyncio's wait_for raises one) reads "TimeoutError: timed out",
    not "TimeoutError: "; every error names its cause."""
    from dual_log._report import describe

    assert describe(TimeoutError()) == "TimeoutError: timed out"
    assert describe(RuntimeError()) == "RuntimeError: no detail given"
    assert describe(ValueError("bad")) == "ValueError: bad"
