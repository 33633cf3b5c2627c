"""Security: restrictive permissions whatever the umask, unforgeable lines, opt-in redaction."""

from __future__ import annotations

import copy
import json
import logging
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from helpers.logfiles import files, read_lines, read_records

import dual_log

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=["umask000", "umask022", "umask077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this umask."""
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def fill_and_rotate(setup: dual_log.DualLog, logger: logging.Logger) -> None:
    """Log enough to rotate twice, then close."""
    for n in range(60):
        logger.info("record %d %s", n, "x" * 100)
    setup.close()


@pytest.mark.parametrize("queue", [True, False], ids=["queue", "sync"])
def test_default_modes_whatever_the_umask(
    tmp_path: Path, logger: logging.Logger, umask: int, queue: bool
) -> None:
    """Log, lock, rotated and gzipped files get 0640; folders dual_log creates get 0750."""
    path = tmp_path / "volume" / "nested" / "app.log"
    setup = dual_log.setup(
        logger=logger, path=str(path), create_dirs=True, max_bytes=2000, keep=3,
        compress=True, queue=queue, stdout=False, handle_signals=False,
    )  # fmt: skip
    fill_and_rotate(setup, logger)
    written = files(path)
    assert [p.name for p in written] == ["app.log", "app.log.1.gz", "app.log.2.gz", "app.log.3.gz"]
    lock = path.with_name(".__app.lock")
    assert {p.name: mode(p) for p in [*written, lock]} == {p.name: 0o640 for p in [*written, lock]}
    assert mode(path.parent) == 0o750
    assert mode(path.parent.parent) == 0o750


def test_modes_are_configurable(tmp_path: Path, logger: logging.Logger, umask: int) -> None:
    """file_mode and dir_mode replace the defaults, whatever the umask."""
    path = tmp_path / "volume" / "app.log"
    setup = dual_log.setup(
        logger=logger, path=str(path), create_dirs=True, max_bytes=2000, keep=2,
        file_mode="0600", dir_mode=0o700, stdout=False, handle_signals=False,
    )  # fmt: skip
    fill_and_rotate(setup, logger)
    written = [*files(path), path.with_name(".__app.lock")]
    assert len(written) == 4
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    assert mode(path.parent) == 0o700


def test_existing_folder_is_left_as_it_is(log_path: Path, logger: logging.Logger) -> None:
    """A folder dual_log did not create keeps its own permissions (it is the volume's)."""
    log_path.parent.chmod(0o755)
    setup = dual_log.setup(
        logger=logger, path=str(log_path), create_dirs=True, stdout=False, handle_signals=False
    )
    logger.info("one")
    setup.close()
    assert mode(log_path.parent) == 0o755
    assert mode(log_path) == 0o640


def test_json_file_one_record_one_line(log_path: Path, logger: logging.Logger) -> None:
    """Whatever a record carries, the JSON file has exactly one line for it, all ASCII."""
    nasty = "a\nb\rc\r\nd\u2028e\u2029f\x85g\x0bh\x0ci\x1cj\x1dk\x1el"
    setup = dual_log.setup(logger=logger, path=str(log_path), stdout=False, handle_signals=False)
    try:
        raise ValueError(nasty)
    except ValueError:
        logger.exception(nasty, extra={"field": nasty, "nested": {"k": [nasty]}})
    logger.info("plain %s", nasty)
    setup.close()
    raw = log_path.read_bytes()
    assert raw.count(b"\n") == 2
    assert raw.isascii()
    lines = read_lines(log_path)
    records, torn = read_records(log_path)
    assert torn == []
    assert len(lines) == len(records) == 2
    assert records[0]["message"] == nasty
    assert records[0]["field"] == nasty
    assert records[0]["exc_info"].endswith("ValueError: " + nasty)
    assert records[1]["message"] == "plain " + nasty


# Redaction -------------------------------------------------------------------------------


class Keep(logging.Handler):
    """A plain handler beside dual_log's: the record it sees must be the caller's, unmasked."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _redacting(
    logger: logging.Logger, log_path: Path, *, queue: bool, stdout_format: str
) -> tuple[dual_log.DualLog, Keep]:
    """dual_log with redact=True on ``logger``, and a plain handler beside it."""
    setup = dual_log.setup(
        logger=logger, path=str(log_path), redact=True, queue=queue,
        stdout_format=stdout_format, handle_signals=False, platform_fields=False,
    )  # fmt: skip
    keep = Keep()
    logger.addHandler(keep)
    logger.propagate = False
    return setup, keep


@pytest.mark.parametrize("stdout_format", ["text", "json"])
@pytest.mark.parametrize("queue", [True, False], ids=["queue", "sync"])
def test_redaction_masks_sensitive_values_in_both_sinks(
    log_path: Path, logger: logging.Logger, capsys: Any, queue: bool, stdout_format: str
) -> None:
    """redact=True masks password/token/authorization/secret values in extras, mapping args
    and nested dicts, on stdout and in the file, and changes none of the caller's objects."""
    setup, keep = _redacting(logger, log_path, queue=queue, stdout_format=stdout_format)
    args = {"user": "bob", "password": "hunter2"}
    extra = {
        "user_id": 7,
        "api_token": "tok-123",
        "request": {"headers": {"Authorization": "Bearer abc", "Accept": "json"}},
        "items": [{"client_secret": "s3"}, {"name": "ok"}],
    }
    args_before, extra_before = copy.deepcopy(args), copy.deepcopy(extra)
    capsys.readouterr()
    logger.info("login %(user)s with %(password)s", args, extra=extra)
    setup.close()
    stdout = capsys.readouterr().out
    for secret in ("hunter2", "tok-123", "Bearer abc", "s3"):
        assert secret not in stdout
        assert secret not in log_path.read_text()
    (record,) = read_records(log_path)[0]
    assert record["message"] == "login bob with [REDACTED]"
    assert record["user_id"] == 7
    assert record["api_token"] == "[REDACTED]"
    assert record["request"] == {"headers": {"Authorization": "[REDACTED]", "Accept": "json"}}
    assert record["items"] == [{"client_secret": "[REDACTED]"}, {"name": "ok"}]
    if stdout_format == "json":
        (shown,) = [json.loads(line) for line in stdout.splitlines()]
        assert {k: shown[k] for k in ("message", "api_token", "request", "items")} == {
            k: record[k] for k in ("message", "api_token", "request", "items")
        }
    else:
        line = stdout.rstrip("\n")
        assert " login bob with [REDACTED] " in line
        # The extras on the text line are masked as they are in the file.
        assert line.endswith(
            " user_id=7 api_token=[REDACTED] "
            "items=\"[{'client_secret': '[REDACTED]'}, {'name': 'ok'}]\""
        )
    # Nothing of the caller's was changed: its dicts, and the record other handlers get.
    assert args == args_before
    assert extra == extra_before
    (seen,) = keep.records
    assert seen.args == args_before
    assert seen.getMessage() == "login bob with hunter2"
    assert seen.__dict__["api_token"] == "tok-123"
    assert seen.__dict__["request"] == extra_before["request"]


def test_redaction_is_off_by_default(log_path: Path, logger: logging.Logger) -> None:
    """Without redact=True, values are written as given (masking is opt-in)."""
    setup = dual_log.setup(logger=logger, path=str(log_path), stdout=False, handle_signals=False)
    logger.info("login", extra={"password": "hunter2"})
    setup.close()
    (record,) = read_records(log_path)[0]
    assert record["password"] == "hunter2"


def test_redactor_with_own_keys() -> None:
    """A Redactor masks the key substrings it is given, case-insensitively, nested."""
    redactor = dual_log.Redactor(["pin"])
    value = {"PIN": 1234, "user": {"Spinner": "x", "name": "y"}, "list": [{"pin_code": 1}]}
    assert redactor.value(value) == {
        "PIN": dual_log.MASK,
        "user": {"Spinner": dual_log.MASK, "name": "y"},
        "list": [{"pin_code": dual_log.MASK}],
    }
    for key in ("password", "token", "authorization", "secret"):
        assert any(key in k for k in dual_log.SENSITIVE_KEYS)


class _Unreadable(dict):  # type: ignore[type-arg]
    """A mapping whose items cannot be read: redacting it raises."""

    def items(self):  # type: ignore[no-untyped-def,override]
        raise RuntimeError("unreadable")


@pytest.mark.parametrize("kind", ["json", "text"])
def test_redaction_that_fails_still_hides_secrets(logger: logging.Logger, kind: str) -> None:
    """If redacting a record raises, the formatter still writes it, and still without secrets."""
    formatter: logging.Formatter = (
        dual_log.JsonFormatter(redact=True)
        if kind == "json"
        else dual_log.TextFormatter(redact=True)
    )
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        "login %(user)s %(password)s",
        ({"user": "ann", "password": "hunter2"},),
        None,
        extra={
            "password": "hunter2",
            "session": _Unreadable(token="hunter2"),
            "odd": _Unreadable(),
        },
    )
    line = formatter.format(record)
    assert "hunter2" not in line
    assert "login" in line
    if kind == "json":
        data = json.loads(line)
        assert data["password"] == dual_log.MASK
        assert data["dual_log_error"].startswith("record not fully encodable: RuntimeError")


# Secrets written in text ------------------------------------------------------------------

SECRET_TEXT = {
    "token=abc123&page=2": "token=[REDACTED]&page=2",
    "password: hunter2": "password: [REDACTED]",
    '{"api_key": "k y", "user": "ann"}': '{"api_key": "[REDACTED]", "user": "ann"}',
    "{'db_password': 'pw'}": "{'db_password': '[REDACTED]'}",
    "https://bob:secretpw@host/x": "https://bob:[REDACTED]@host/x",
    "postgres://u:p@ss@db:5432/x": "postgres://u:[REDACTED]@db:5432/x",
    "Authorization: Bearer eyJ.abc": "Authorization: Bearer [REDACTED]",
    "Authorization: Basic dXNlcjpwdw==": "Authorization: Basic [REDACTED]",
    "sent Bearer eyJ.abc": "sent Bearer [REDACTED]",
    "session started for user=ann": "session started for user=ann",
}


@pytest.mark.parametrize(("text", "masked"), list(SECRET_TEXT.items()))
def test_redactor_masks_secrets_written_in_text(text: str, masked: str) -> None:
    """key=value and key: value pairs, quoted pairs, URL passwords and auth headers are masked,
    and masking twice changes nothing more."""
    redactor = dual_log.Redactor()
    assert redactor.text(text) == masked
    assert redactor.text(masked) == masked


@pytest.mark.parametrize("stdout_format", ["text", "json"])
@pytest.mark.parametrize("queue", [True, False], ids=["queue", "sync"])
def test_redaction_masks_messages_tracebacks_and_string_extras(
    log_path: Path, logger: logging.Logger, capsys: Any, queue: bool, stdout_format: str
) -> None:
    """With redact=True no secret written in a message, an argument, a traceback or a string
    extra reaches either sink, while the caller's record keeps it."""
    setup, keep = _redacting(logger, log_path, queue=queue, stdout_format=stdout_format)
    capsys.readouterr()
    logger.info("calling %s with token=abc123", "https://bob:secretpw@api.example/v1")
    try:
        raise PermissionError("login failed, password: hunter2")
    except PermissionError:
        logger.exception("denied", extra={"note": "sent Authorization: Bearer eyJ.sig"})
    setup.close()
    stdout, written = capsys.readouterr().out, log_path.read_text()
    for secret in ("abc123", "secretpw", "hunter2", "eyJ.sig"):
        assert secret not in stdout
        assert secret not in written
    first, second = read_records(log_path)[0]
    assert first["message"] == "calling https://bob:[REDACTED]@api.example/v1 with token=[REDACTED]"
    assert second["exc_info"].endswith("PermissionError: login failed, password: [REDACTED]")
    assert second["note"] == "sent Authorization: Bearer [REDACTED]"
    assert keep.records[0].getMessage().endswith("token=abc123")
    assert keep.records[1].__dict__["note"] == "sent Authorization: Bearer eyJ.sig"


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_own_keys_and_patterns_from_setup_and_environment(
    log_path: Path, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """redact_keys and redact_patterns add to the built-in masking and turn redaction on."""
    keys, patterns = ["pin"], [r"card \d{12}(\d{4})", r"\bSSN-\d+"]
    options: dict[str, Any] = {"redact_keys": keys, "redact_patterns": patterns}
    if how == "environment":
        monkeypatch.setenv("DUAL_LOG_REDACT_KEYS", ",".join(keys))
        monkeypatch.setenv("DUAL_LOG_REDACT_PATTERNS", "\n".join(patterns))
        options = {}
    setup = dual_log.setup(
        logger=logger, path=str(log_path), stdout=False, handle_signals=False, **options
    )
    logger.info("pin=1234 card 123456789012%s SSN-99 token=t", "9876", extra={"PIN": 5})
    setup.close()
    (record,) = read_records(log_path)[0]
    assert record["message"] == (
        "pin=[REDACTED] card 123456789012[REDACTED] [REDACTED] token=[REDACTED]"
    )
    assert record["PIN"] == dual_log.MASK


def test_a_bad_pattern_fails_at_setup_naming_the_option(log_path: Path) -> None:
    """A regular expression that does not compile is a ValueError naming redact_patterns."""
    with pytest.raises(ValueError, match=r"invalid redact_patterns='\[a-'.*does not compile"):
        dual_log.setup(path=str(log_path), redact_patterns=["ok", "[a-"])


def test_text_is_not_scanned_while_redaction_is_off(log_path: Path, logger: logging.Logger) -> None:
    """Without redact, secrets in text are written as they are and the formatters hold no
    redactor (masking costs nothing)."""
    setup = dual_log.setup(logger=logger, path=str(log_path), handle_signals=False)
    logger.info("token=abc123")
    setup.close()
    assert [r["message"] for r in read_records(log_path)[0]] == ["token=abc123"]
    assert all(getattr(h.formatter, "redactor", 0) is None for h in setup.handlers)
