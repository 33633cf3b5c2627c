"""dual_log.flask: the one-line setup(app), the extension, its options and Flask's own handler."""

from __future__ import annotations

import logging
import re
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from flask import Flask, request
from flask.logging import default_handler

import dual_log
from dual_log._context import current
from dual_log.flask import ENVIRON_KEY, DualLogExtension
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from pathlib import Path


def _bare_root() -> None:
    """Leave the root logger without pytest's capture handlers, as in a real process.

    Flask adds its stderr handler to app.logger only when no handler would see its
    records; the handlers pytest adds for the test's call would hide that. Called in the
    test itself, after pytest added them; conftest.py's autouse fixture restores the rest.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)


def _app() -> Flask:
    """A Flask app whose logger no other test uses, with a route that raises."""
    app = Flask(f"shop_{uuid.uuid4().hex[:8]}")

    @app.get("/hello")
    def hello() -> str:
        app.logger.info("hello from the view")
        return "hello"

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("deliberate")

    return app


def test_setup_app_sends_app_logger_to_both_sinks_once(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dual_log.setup(app) returns the DualLog; app.logger's records reach each sink once."""
    app = _app()
    dual = dual_log.setup(app, path=str(log_path))
    assert app.extensions["dual_log"].dual_log is dual
    assert dual.logger is logging.getLogger()
    assert app.test_client().get("/hello").data == b"hello"
    assert dual.flush()
    captured = capsys.readouterr()
    assert captured.out.count("hello from the view") == 1
    assert f"INFO {app.name} hello from the view" in captured.out
    assert "hello from the view" not in captured.err
    records, torn = read_records(log_path)
    assert torn == []
    assert [(r["logger"], r["message"]) for r in records] == [(app.name, "hello from the view")]


def test_default_handler_taken_off_an_app_logger_made_before(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flask's stderr handler, attached before dual_log, is removed: no line printed twice."""
    _bare_root()
    app = _app()
    app.logger.warning("before dual_log")  # creates app.logger with Flask's default_handler
    assert default_handler in app.logger.handlers
    assert "before dual_log" in capsys.readouterr().err
    dual = dual_log.setup(app, path=str(log_path))
    assert default_handler not in app.logger.handlers
    app.logger.warning("after dual_log")
    dual.flush()
    captured = capsys.readouterr()
    assert captured.out.count("after dual_log") == 1
    assert captured.err == ""


def test_default_handler_never_added_to_an_app_logger_made_after(log_path: Path) -> None:
    """An app.logger first used after init_app gets no stderr handler of Flask's."""
    _bare_root()
    app = _app()
    DualLogExtension(app, path=str(log_path))
    assert default_handler not in app.logger.handlers
    assert app.logger.handlers == []


def test_default_handler_kept_when_records_do_not_reach_dual_log(log_path: Path) -> None:
    """Attached to an unrelated logger, dual_log leaves Flask's stderr handler in place."""
    _bare_root()
    app = _app()
    app.logger.info("make the logger")
    DualLogExtension(app, logger=f"elsewhere.{uuid.uuid4().hex[:8]}", path=str(log_path))
    assert default_handler in app.logger.handlers


def test_unhandled_view_exception_lands_in_the_file_with_its_traceback(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A view that raises: Flask's 'Exception on /boom' record has the traceback in exc_info."""
    app = _app()
    dual = dual_log.setup(app, path=str(log_path))
    assert app.test_client().get("/boom").status_code == 500
    dual.flush()
    records, torn = read_records(log_path)
    assert torn == []
    [record] = records
    assert (record["level"], record["logger"]) == ("ERROR", app.name)
    assert record["message"] == "Exception on /boom [GET]"
    assert record["exc_info"].startswith("Traceback (most recent call last):")
    assert 'in boom\n    raise ZeroDivisionError("deliberate")' in record["exc_info"]
    assert record["exc_info"].endswith("ZeroDivisionError: deliberate")
    out = capsys.readouterr().out
    assert out.count("Exception on /boom [GET]") == 1
    assert out.count("ZeroDivisionError: deliberate") == 1


def test_factory_pattern_registers_in_app_extensions(log_path: Path) -> None:
    """DualLogExtension() then init_app(app): registered under app.extensions['dual_log']."""
    ext = DualLogExtension(path=str(log_path))
    assert ext.dual_log is None
    app = _app()
    dual = ext.init_app(app)
    assert app.extensions["dual_log"] is ext
    assert ext.dual_log is dual
    assert dual.settings.path == str(log_path)


@pytest.mark.parametrize("first", ["setup", "extension"])
def test_double_registration_is_a_clear_error(log_path: Path, first: str) -> None:
    """A second registration on the same app raises RuntimeError naming the app."""
    app = _app()
    if first == "setup":
        dual_log.setup(app, path=str(log_path))
    else:
        DualLogExtension(app, path=str(log_path))
    with pytest.raises(RuntimeError, match=f"already registered on the Flask app '{app.name}'"):
        dual_log.setup(app, path=str(log_path))
    with pytest.raises(RuntimeError, match="once per app"):
        DualLogExtension().init_app(app)


def test_precedence_keyword_over_config_over_environment_over_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each option: keyword > app.config > DUAL_LOG_* environment variable > default."""
    monkeypatch.setenv("DUAL_LOG_KEEP", "7")
    monkeypatch.setenv("DUAL_LOG_MAX_BYTES", "2MiB")
    monkeypatch.setenv("DUAL_LOG_WHEN", "midnight")
    monkeypatch.setenv("DUAL_LOG_PATH", str(tmp_path / "from-env.log"))
    app = _app()
    app.config.update(
        DUAL_LOG_KEEP=3, DUAL_LOG_MAX_BYTES="1MiB", DUAL_LOG_PATH=str(tmp_path / "a.log")
    )
    dual = DualLogExtension(app, keep=9).dual_log
    assert dual is not None
    settings = dual.settings
    assert settings.keep == 9
    assert settings.max_bytes == 1024 * 1024
    assert settings.path == str(tmp_path / "a.log")
    assert settings.when == "MIDNIGHT"
    assert settings.compress is False
    # setdefault: every option has its key; None means "not set in app.config".
    assert app.config["DUAL_LOG_KEEP"] == 3
    assert app.config["DUAL_LOG_COMPRESS"] is None
    assert app.config["DUAL_LOG_WHEN"] is None


def test_bad_keyword_fails_at_construction() -> None:
    """A bad or unknown keyword fails when the extension is made, before any app exists."""
    with pytest.raises(ValueError, match="keep"):
        DualLogExtension(keep=-1)
    with pytest.raises(TypeError, match="colour"):
        DualLogExtension(colour="red")


def test_bad_config_value_names_the_option(log_path: Path) -> None:
    """A bad DUAL_LOG_* value in app.config fails at init_app, naming the option."""
    app = _app()
    app.config["DUAL_LOG_MAX_BYTES"] = "lots"
    with pytest.raises(ValueError, match=r"max_bytes.*'lots'"):
        DualLogExtension(app, path=str(log_path))
    assert "dual_log" not in app.extensions


def test_import_dual_log_imports_no_framework(python: str) -> None:
    """`import dual_log` (and setup() without an app) loads neither Flask nor Django."""
    code = (
        "import sys, dual_log\n"
        "dual_log.setup(stdout=False, path='/nonexistent/app.log', handle_signals=False)\n"
        "names = ('flask', 'django', 'werkzeug')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in names))\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_setup_with_something_else_than_an_app_is_a_type_error(log_path: Path) -> None:
    """dual_log.setup(x) with x no Flask app: a TypeError naming what an app must have."""
    with pytest.raises(TypeError, match=r"setup\(app\) needs a Flask app .* got object"):
        dual_log.setup(object(), path=str(log_path))  # type: ignore[arg-type]


def test_missing_flask_is_an_import_error_naming_the_extra(python: str) -> None:
    """Without Flask, the integration raises ImportError telling which extra to install."""
    code = (
        "import sys\n"
        "sys.modules['flask'] = None  # as if Flask were not installed\n"
        "try:\n"
        "    import dual_log.flask\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "ImportError dual_log.flask needs Flask: pip install flask (or, in dual_log's checkout, "
        "pip install '.[flask]')"
    )


# Request ids ---------------------------------------------------------------------------


def _request_app() -> Flask:
    """An app whose view logs twice, giving way between, and answers with its request id."""
    app = _app()

    @app.get("/whoami")
    def whoami() -> str:
        app.logger.info("start %s", request.args.get("id"))
        time.sleep(0.005)
        app.logger.info("end %s", request.args.get("id"))
        return str(request.environ[ENVIRON_KEY])

    return app


def test_each_request_gets_an_id_on_its_records_and_in_its_response(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """X-Request-Id, else Fly-Request-Id, else a new id: on the view's records and Flask's
    exception record, in the X-Request-Id response header and in request.environ."""
    app = _request_app()
    dual = dual_log.setup(app, path=str(log_path))
    client = app.test_client()
    given = client.get("/whoami?id=1", headers={"X-Request-Id": "abc-123"})
    fly = client.get("/whoami?id=2", headers={"Fly-Request-Id": "01JQSECXHA-ams"})
    boom = client.get("/boom", headers={"X-Request-Id": "a b", "Fly-Request-Id": "fly-9"})
    new = client.get("/whoami?id=3")
    new_id = new.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert [r.headers["X-Request-Id"] for r in (given, fly, boom)] == [
        "abc-123", "01JQSECXHA-ams", "fly-9",
    ]  # fmt: skip
    assert (given.text, fly.text, new.text) == ("abc-123", "01JQSECXHA-ams", new_id)
    assert dual.flush()
    records, torn = read_records(log_path)
    assert torn == []
    assert [(r["message"], r.get("request_id")) for r in records] == [
        ("start 1", "abc-123"), ("end 1", "abc-123"),
        ("start 2", "01JQSECXHA-ams"), ("end 2", "01JQSECXHA-ams"),
        ("Exception on /boom [GET]", "fly-9"),
        ("start 3", new_id), ("end 3", new_id),
    ]  # fmt: skip
    out = capsys.readouterr().out
    assert out.count(f" INFO {app.name} start 1 request_id=abc-123\n") == 1
    assert out.count(f" ERROR {app.name} Exception on /boom [GET] request_id=fly-9\n") == 1
    assert current() == {}  # taken off after each request


def test_concurrent_requests_never_mix_their_ids(log_path: Path) -> None:
    """Requests handled at once in 8 threads: each record carries its own request's id."""
    app = _request_app()
    dual = dual_log.setup(app, path=str(log_path), stdout=False)

    def send(number: int) -> str:
        response = app.test_client().get(
            f"/whoami?id={number}", headers={"X-Request-Id": f"r-{number}"}
        )
        return str(response.headers["X-Request-Id"])

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(64))) == [f"r-{n}" for n in range(64)]
    assert dual.flush()
    records, _ = read_records(log_path)
    assert len(records) == 128
    assert all(r["request_id"] == "r-" + r["message"].split()[1] for r in records)


def test_request_id_headers_option_keyword_over_config_over_environment(
    log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """request_id_headers: the keyword wins over app.config, which wins over the environment;
    the first header also names the response header."""
    monkeypatch.setenv("DUAL_LOG_REQUEST_ID_HEADERS", "X-From-Env")
    app = _request_app()
    app.config["DUAL_LOG_REQUEST_ID_HEADERS"] = "X-From-Config"
    DualLogExtension(app, path=str(log_path))
    response = app.test_client().get("/whoami", headers={"X-From-Config": "cfg-1"})
    assert (response.headers["X-From-Config"], response.text) == ("cfg-1", "cfg-1")
    assert "X-Request-Id" not in response.headers
    other = _request_app()
    DualLogExtension(other, path=str(log_path), request_id_headers=["X-Mine", "X-From-Env"])
    response = other.test_client().get("/whoami", headers={"X-From-Env": "env-1"})
    assert response.headers["X-Mine"] == "env-1"


def test_request_ids_off_adds_no_header_and_no_field(log_path: Path) -> None:
    """request_ids=False: no response header, no request_id on the records."""
    app = _request_app()
    dual = DualLogExtension(app, path=str(log_path), request_ids=False).dual_log
    assert dual is not None
    client = app.test_client()
    response = client.get("/hello", headers={"X-Request-Id": "abc"})
    assert "X-Request-Id" not in response.headers
    assert dual.flush()
    records, _ = read_records(log_path)
    assert [("request_id" in r) for r in records] == [False]


def test_a_bad_request_id_headers_value_names_the_option(log_path: Path) -> None:
    """A header name with a space in app.config fails at init_app, naming the option."""
    app = _request_app()
    app.config["DUAL_LOG_REQUEST_ID_HEADERS"] = ["X Request"]
    with pytest.raises(ValueError, match=r"request_id_headers=\['X Request'\]"):
        DualLogExtension(app, path=str(log_path))
