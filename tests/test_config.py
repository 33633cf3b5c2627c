"""dual_log.logging_config(): the one builder behind setup(), Django, gunicorn and the files."""

from __future__ import annotations

import ast
import configparser
import inspect
import json
import logging
import logging.config
import runpy
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

import dual_log
from dual_log import _options as _settings
from dual_log._options import OPTIONS
from dual_log._write import lifecycle as _lifecycle

ROOT = Path(__file__).resolve().parent.parent
INTEGRATIONS = ROOT / "integrations"


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DUAL_LOG_* variable set: the builder's output depends on the arguments alone."""
    for option in OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)


def test_builder_returns_a_plain_dictconfig_dict_for_both_sinks(no_env: None) -> None:
    """Version 1, loggers kept, dotted classes, root on both handlers; given options written
    as they were given, for the classes to parse."""
    config = dual_log.logging_config(
        path="/v/app.log", keep=2, stdout_level="WARNING", redact_keys="pin", static_fields="a=b"
    )
    assert json.loads(json.dumps(config)) == config
    assert config == {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "dual_log_text": {"()": "dual_log.TextFormatter", "redact_keys": "pin"},
            "dual_log_json": {
                "()": "dual_log.JsonFormatter",
                "static_fields": "a=b",
                "redact_keys": "pin",
            },
        },
        "handlers": {
            "dual_log_stdout": {
                "class": "dual_log.StdoutHandler",
                "formatter": "dual_log_text",
                "level": "WARNING",
            },
            "dual_log_file": {
                "class": "dual_log.FileHandler",
                "formatter": "dual_log_json",
                "filename": "/v/app.log",
                "keep": 2,
                "handle_signals": True,
            },
        },
        "root": {"level": "INFO", "handlers": ["dual_log_stdout", "dual_log_file"]},
    }


def test_builder_follows_what_the_environment_sets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A DUAL_LOG_* variable: the sinks attached follow it when the dict is built, and a
    handler option is left for the handler to read when it is built."""
    monkeypatch.setenv("DUAL_LOG_MAX_BYTES", "1 MiB")
    monkeypatch.setenv("DUAL_LOG_STDOUT", "false")
    config = dual_log.logging_config(path=str(tmp_path / "app.log"), max_bytes=None)
    assert "max_bytes" not in config["handlers"]["dual_log_file"]
    assert list(config["handlers"]) == config["root"]["handlers"] == ["dual_log_file"]
    logging.config.dictConfig(config)
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "dual_log_file"]
    assert isinstance(handler, dual_log.FileHandler)
    assert handler.stats()["written"] == 0
    assert handler._file.max_bytes == 1024 * 1024


def test_builder_refuses_unknown_and_bad_options() -> None:
    """An unknown option is a TypeError, a bad value a ValueError naming it."""
    with pytest.raises(TypeError, match="levl"):
        dual_log.logging_config(levl="DEBUG")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="invalid keep='five'"):
        dual_log.logging_config(keep="five")  # type: ignore[typeddict-item]


def _json(name: str) -> dict[str, Any]:
    data = json.loads((INTEGRATIONS / name).read_text())
    data.pop("//")
    return dict(data)


def _ini(name: str) -> dict[str, Any]:
    """A fileConfig file read into the dictConfig shape it stands for."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(INTEGRATIONS / name)
    formatters = {}
    for key in parser["formatters"]["keys"].split(","):
        formatters[key] = {"()": parser[f"formatter_{key}"]["class"]}
    handlers = {}
    for key in parser["handlers"]["keys"].split(","):
        section = parser[f"handler_{key}"]
        assert ast.literal_eval(section["args"]) == ()
        handlers[key] = {"class": section["class"], "formatter": section["formatter"]}
        handlers[key].update(ast.literal_eval(section.get("kwargs", "{}")))
    root = parser["logger_root"]
    return {
        "version": 1,
        "disable_existing_loggers": False,  # fileConfig's argument, as the file's comment says
        "formatters": formatters,
        "handlers": handlers,
        "root": {"level": root["level"], "handlers": root["handlers"].split(",")},
    }


FILES = {
    "logging.json": lambda: _json("logging.json"),
    "logging.yaml": lambda: yaml.safe_load((INTEGRATIONS / "logging.yaml").read_text()),
    "logging.ini": lambda: _ini("logging.ini"),
    "uvicorn_log_config.json": lambda: {
        k: v for k, v in _json("uvicorn_log_config.json").items() if k != "loggers"
    },
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_config_files_are_the_builders_output(name: str, no_env: None) -> None:
    """Each drop-in config file holds what logging_config() returns with nothing set."""
    assert FILES[name]() == dual_log.logging_config()


def test_gunicorn_conf_is_the_builders_output(no_env: None) -> None:
    """gunicorn.conf.py's logconfig_dict is the builder's, plus gunicorn's two loggers."""
    namespace = runpy.run_path(str(INTEGRATIONS / "gunicorn.conf.py"))
    config = dict(namespace["logconfig_dict"])
    assert set(config.pop("loggers")) == {"gunicorn.error", "gunicorn.access"}
    assert config == dual_log.logging_config(handle_signals=False)


def test_setup_attaches_what_the_builder_describes(log_path: Path, no_env: None) -> None:
    """setup() (which celery_logging.py calls) and dictConfig(logging_config()) build the same
    handlers: names, classes, levels, file arguments, formatters and their options."""
    options: dict[str, Any] = {
        "path": str(log_path), "file_level": "ERROR", "stdout_format": "json", "keep": 2,
        "redact_patterns": [r"card \d+"], "source_fields": True, "static_fields": {"a": "b"},
    }  # fmt: skip
    root = logging.getLogger()

    def described(handler: logging.Handler) -> tuple[Any, ...]:
        formatter = handler.formatter
        redactor = getattr(formatter, "redactor", None)
        return (
            handler.get_name(), type(handler), handler.level, getattr(handler, "path", None),
            type(formatter), getattr(formatter, "static_fields", None),
            getattr(formatter, "source_fields", None),
            redactor and ([p.pattern for p in redactor.patterns], redactor.keys),
        )  # fmt: skip

    dual = dual_log.setup(**options)
    by_setup = [described(h) for h in dual.handlers]
    dual.close()
    logging.config.dictConfig(dual_log.logging_config(**options))
    by_dict_config = [described(h) for h in root.handlers]
    assert by_setup == by_dict_config
    assert by_setup[1][:4] == ("dual_log_file", dual_log.FileHandler, logging.ERROR, str(log_path))


def test_setup_replaces_the_pair_a_config_dict_attached(log_path: Path) -> None:
    """After dictConfig(logging_config()), setup() leaves one pair on the root logger, not two."""
    root = logging.getLogger()
    logging.config.dictConfig(dual_log.logging_config(path=str(log_path), handle_signals=False))
    applied = list(root.handlers)
    dual = dual_log.setup(path=str(log_path), handle_signals=False)
    assert root.handlers == dual.handlers
    assert not set(applied) & set(root.handlers)


def test_each_handler_option_is_an_argument_of_its_class() -> None:
    """The handlers' and formatters' keyword arguments are exactly the options the table
    gives them (and their own few others), so adding one there is all the builder, setup()
    and dictConfig need."""
    classes = {
        dual_log.FileHandler: {_settings.FILE},
        dual_log.TextFormatter: {_settings.FORMATTER, _settings.TEXT},
        dual_log.JsonFormatter: {_settings.FORMATTER, _settings.JSON},
    }
    # What each class takes beside the table's options: stdlib logging's and its own.
    own = {
        dual_log.FileHandler: {"handle_signals"},
        dual_log.TextFormatter: {"fmt", "datefmt", "style", "validate", "defaults", "escape"},
        dual_log.JsonFormatter: {"fmt", "datefmt", "style", "validate", "rename_fields",
                                 "time_field", "kwargs"},
    }  # fmt: skip
    for cls, sinks in classes.items():
        table = {o.keyword for o in OPTIONS if o.sink in sinks}
        parameters = set(inspect.signature(cls).parameters)
        assert parameters - own[cls] == table, cls


def signal_numbers() -> tuple[int, ...]:
    """The signals whose handler dual_log installs."""
    return (signal.SIGTERM, signal.SIGINT)


def _flush_installed() -> bool:
    return all(signal.getsignal(s) is _lifecycle._on_signal for s in signal_numbers())


def test_close_keeps_the_flush_another_setup_relies_on(log_path: Path) -> None:
    """Closing one setup() leaves the flush installed for a second one on another logger; the
    last close puts the previous handlers back."""
    before = {s: signal.getsignal(s) for s in signal_numbers()}
    first = dual_log.setup(logger="one", path=str(log_path), stdout=False)
    second = dual_log.setup(logger="two", path=str(log_path.with_name("b.log")), stdout=False)
    first.close()
    assert _flush_installed()
    second.close()
    assert {s: signal.getsignal(s) for s in signal_numbers()} == before


def test_close_keeps_the_flush_a_config_file_handler_relies_on(log_path: Path) -> None:
    """A FileHandler built with handle_signals=True keeps the flush after a setup() closes."""
    handler = dual_log.FileHandler(log_path.with_name("cfg.log"), handle_signals=True)
    dual = dual_log.setup(logger="other", path=str(log_path), stdout=False)
    dual.close()
    assert _flush_installed()
    handler.close()


def test_second_setup_on_the_same_logger_hands_the_flush_over(log_path: Path) -> None:
    """setup() twice on one logger: the first pair's claim goes with it, the second's stays."""
    before = signal.getsignal(signal.SIGTERM)
    dual_log.setup(path=str(log_path), stdout=False)
    second = dual_log.setup(path=str(log_path), stdout=False)
    assert _flush_installed()
    second.close()
    assert signal.getsignal(signal.SIGTERM) is before
