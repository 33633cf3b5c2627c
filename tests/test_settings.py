"""Option resolution: keyword > DUAL_LOG_* environment > default, and clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import dual_log
from dual_log import _options as _settings
from dual_log._options import OPTIONS, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_documented_values() -> None:
    """With nothing given, every option takes its documented default."""
    settings = Settings.resolve({})
    assert settings.path == "/logs/app.log"
    assert settings.level == logging.INFO
    assert settings.max_bytes == 10 * 1024 * 1024
    assert settings.keep == 5
    assert (settings.stdout_format, settings.file_format) == ("text", "json")
    assert settings.queue is True
    assert settings.create_dirs is False
    assert (settings.file_mode, settings.dir_mode) == (0o640, 0o750)


def test_keyword_beats_environment_beats_default() -> None:
    """A keyword wins over DUAL_LOG_*, which wins over the default."""
    env = {"DUAL_LOG_KEEP": "7", "DUAL_LOG_LEVEL": "debug", "DUAL_LOG_PATH": "/v/env.log"}
    settings = Settings.resolve(env, keep=2)
    assert settings.keep == 2
    assert settings.level == logging.DEBUG
    assert settings.path == "/v/env.log"


def test_every_option_has_an_environment_variable() -> None:
    """Each option is reachable as DUAL_LOG_<NAME>."""
    assert all(option.env == f"DUAL_LOG_{option.name.upper()}" for option in OPTIONS)


def test_readme_options_table_is_the_table() -> None:
    """The README's options table is the one ``Settings`` declares, row for row."""
    readme = (ROOT / "README.md").read_text()
    assert _settings.markdown_table() in readme


def test_setup_accepts_every_option_name() -> None:
    """setup() knows every option: an unknown name raises TypeError listing the known ones."""
    with pytest.raises(TypeError, match="known options: path, level"):
        dual_log.setup(paht="/x.log")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (10485760, 10485760),
        ("10485760", 10485760),
        ("10MB", 10_000_000),
        ("10 MiB", 10 * 1024 * 1024),
        ("10mib", 10 * 1024 * 1024),
        ("512k", 512_000),
        ("1.5 KiB", 1536),
        (0, 0),
    ],
)
def test_sizes_accept_bytes_and_units(text: object, expected: int) -> None:
    """Sizes are bytes or a number with a decimal (MB) or binary (MiB) unit."""
    assert _settings.parse_size(text) == expected


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("max_bytes", "ten megs", "size such as '10MB'"),
        ("max_bytes", -1, "bytes >= 0"),
        ("keep", "-3", "whole number >= 0"),
        ("level", "LOUD", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("stdout_format", "xml", "'text' or 'json'"),
        ("when", "fortnightly", "MIDNIGHT"),
        ("queue", "maybe", "true or false"),
        ("file_mode", "rw-r-----", "octal permission"),
        ("queue_timeout", "-1", "seconds >= 0"),
        ("path", "", "file path"),
        ("path", "/logs/", "not a folder"),
        ("static_fields", "novalue", "key=value"),
    ],
)
def test_bad_keyword_names_option_value_and_allowed(
    option: str, value: object, allowed: str
) -> None:
    """A bad keyword value raises ValueError naming the option, the value and what is allowed."""
    with pytest.raises(ValueError, match=option) as error:
        Settings.resolve({}, **{option: value})
    assert repr(value) in str(error.value)
    assert allowed in str(error.value)


def test_bad_environment_value_names_the_variable() -> None:
    """A bad DUAL_LOG_* value says which variable it came from."""
    with pytest.raises(ValueError, match=r"max_bytes \(from DUAL_LOG_MAX_BYTES\)='huge'"):
        Settings.resolve({"DUAL_LOG_MAX_BYTES": "huge"})


def test_bad_value_fails_setup_before_touching_logging(tmp_path: Path) -> None:
    """setup() validates everything before it attaches anything."""
    root = logging.getLogger()
    before = list(root.handlers)
    with pytest.raises(ValueError, match="keep"):
        dual_log.setup(path=str(tmp_path / "a.log"), keep="many")
    assert root.handlers == before


def test_file_handler_reads_the_environment_for_what_it_is_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FileHandler from a static config file follows DUAL_LOG_*; explicit values win."""
    monkeypatch.setenv("DUAL_LOG_PATH", str(tmp_path / "env.log"))
    monkeypatch.setenv("DUAL_LOG_MAX_BYTES", "2 KiB")
    monkeypatch.setenv("DUAL_LOG_QUEUE", "false")
    monkeypatch.setenv("DUAL_LOG_KEEP", "9")
    handler = dual_log.FileHandler(keep=2)
    assert handler.path == str(tmp_path / "env.log")
    assert handler._file.max_bytes == 2048
    assert handler._file.keep == 2
    assert not handler.queued
    handler.close()


def test_file_handler_bad_environment_value_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad DUAL_LOG_* value read by a FileHandler names the variable."""
    monkeypatch.setenv("DUAL_LOG_QUEUE_SIZE", "0")
    with pytest.raises(ValueError, match=r"queue_size \(from DUAL_LOG_QUEUE_SIZE\)='0'"):
        dual_log.FileHandler(tmp_path / "a.log")


def test_platform_fields_only_on_the_platform() -> None:
    """Fly's variables become fields plus the host name; without them nothing is added."""
    assert _settings.platform_fields({}) == {}
    fields = _settings.platform_fields(
        {"FLY_APP_NAME": "shop", "FLY_REGION": "ams", "FLY_ALLOC_ID": "abc123"}
    )
    assert fields["fly_app"] == "shop"
    assert fields["fly_region"] == "ams"
    assert fields["fly_machine"] == "abc123"
    assert fields["host"]


def test_static_fields_from_environment_text() -> None:
    """DUAL_LOG_STATIC_FIELDS='k=v,k2=v2' becomes a dict."""
    settings = Settings.resolve({"DUAL_LOG_STATIC_FIELDS": "service=api, team = core"})
    assert settings.static_fields == {"service": "api", "team": "core"}
