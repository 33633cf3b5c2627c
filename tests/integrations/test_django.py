"""dual_log.django: LOGGING dicts Django applies, and Django's own records in both sinks once.

The dicts are applied the way ``django.setup()`` applies ``LOGGING``: Django's
``DEFAULT_LOGGING`` first, then ours (``django.utils.log.configure_logging``). Requests go
through Django's test client in this process, and through ``runserver`` and
``manage.py check`` of the sample project in subprocesses.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import signal
import socket
import subprocess
import uuid
from typing import TYPE_CHECKING, Any

import django
import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from django.utils.log import DEFAULT_LOGGING, configure_logging

import dual_log
from dual_log._context import current
from dual_log.django import ENVIRON_KEY, add_handlers, logging_config
from tests.e2e.servers import SAMPLES, environment, free_port, get, running
from tests.helpers.logfiles import read_records

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SAMPLE = SAMPLES / "django_app"
OURS = ["dual_log_stdout", "dual_log_file"]
DJANGO_LOGGERS = ("django", "django.server", "django.request", "django.db.backends")
view_logger = logging.getLogger("tests.django.views")


def ok(request: HttpRequest) -> HttpResponse:
    """Log one INFO line with the id and answer it."""
    view_logger.info("ok %s", request.GET.get("id"))
    return HttpResponse("ok")


def boom(request: HttpRequest) -> HttpResponse:
    """Fail, as a view with a bug does."""
    raise RuntimeError("deliberate failure")


def whoami(request: HttpRequest) -> HttpResponse:
    """Answer with the request id the middleware left in request.META."""
    view_logger.info("whoami %s", request.GET.get("id"))
    return HttpResponse(request.META[ENVIRON_KEY])


async def slow_ok(request: HttpRequest) -> HttpResponse:
    """An async view that logs before and after giving way to the other requests."""
    view_logger.info("start %s", request.GET.get("id"))
    await asyncio.sleep(0.01)
    view_logger.info("end %s", request.GET.get("id"))
    return HttpResponse("ok")


urlpatterns = [
    path("ok", ok),
    path("boom", boom),
    path("whoami", whoami),
    path("slow", slow_ok),
]


@pytest.fixture(scope="module", autouse=True)
def _django() -> None:
    """Configure Django once for this process: no apps, an in-memory database, no LOGGING."""
    if not settings.configured:
        settings.configure(
            SECRET_KEY="tests",
            DEBUG=False,
            LOGGING_CONFIG=None,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
        )
        django.setup()


@pytest.fixture(autouse=True)
def _restore_django_loggers() -> Iterator[None]:
    """Put Django's loggers back as they were: configure_logging() changes them."""
    saved = {}
    for name in DJANGO_LOGGERS:
        log = logging.getLogger(name)
        saved[name] = (list(log.handlers), log.level, log.propagate, log.disabled)
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        log = logging.getLogger(name)
        log.handlers[:] = handlers
        log.level, log.propagate, log.disabled = level, propagate, disabled


def apply(config: dict[str, Any]) -> None:
    """Apply ``config`` exactly as django.setup() applies settings.LOGGING."""
    configure_logging("logging.config.dictConfig", config)


def sinks(
    capsys: pytest.CaptureFixture[str], log_path: Path
) -> tuple[str, str, list[dict[str, Any]]]:
    """stdout, stderr and the file's records, once everything queued is written."""
    dual_log.flush_all(5.0)
    captured = capsys.readouterr()
    records, torn = read_records(log_path)
    assert torn == []
    return captured.out, captured.err, records


def request_settings(debug: bool) -> override_settings:
    """Settings for a request through this module's URLs (CommonMiddleware checks the host)."""
    return override_settings(
        DEBUG=debug,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        APPEND_SLASH=False,
    )


# The dicts ------------------------------------------------------------------------------


def test_logging_config_is_a_plain_dict_shaped_like_default_logging() -> None:
    """logging_config(): version 1, dotted classes, root on both sinks, django propagating."""
    config = logging_config(path="/logs/app.log")
    assert json.loads(json.dumps(config)) == config  # plain data only
    assert config["version"] == 1
    assert config["disable_existing_loggers"] is False
    assert config["root"] == {"handlers": OURS, "level": "INFO"}
    stdout, file = config["handlers"]["dual_log_stdout"], config["handlers"]["dual_log_file"]
    assert stdout == {"class": "dual_log.StdoutHandler", "formatter": "dual_log_text"}
    # Options not given are left to the handler, which reads DUAL_LOG_* or the default.
    assert file == {
        "class": "dual_log.FileHandler",
        "formatter": "dual_log_json",
        "filename": "/logs/app.log",
        "handle_signals": False,
    }
    assert config["formatters"]["dual_log_text"]["()"] == "dual_log.TextFormatter"
    assert config["formatters"]["dual_log_json"]["()"] == "dual_log.JsonFormatter"
    assert config["loggers"]["django"] == {
        "handlers": ["mail_admins"],
        "level": "INFO",
        "propagate": True,
    }
    assert config["loggers"]["django.server"] == {
        "handlers": [],
        "level": "INFO",
        "propagate": True,
    }
    assert config["handlers"]["mail_admins"] == DEFAULT_LOGGING["handlers"]["mail_admins"]
    assert logging_config(path="/logs/app.log") is not config


def test_logging_config_options_keyword_over_environment_over_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Options resolve as in setup(): keyword > DUAL_LOG_* > default. A handler option is
    written as given, or left for the handler to read from the environment when built."""
    monkeypatch.setenv("DUAL_LOG_KEEP", "9")
    monkeypatch.setenv("DUAL_LOG_MAX_BYTES", "1MiB")
    monkeypatch.setenv("DUAL_LOG_PATH", "/volume/from-env.log")
    config = logging_config(max_bytes="2 MiB", level="WARNING", stdout_format="json")
    file = config["handlers"]["dual_log_file"]
    assert file["max_bytes"] == "2 MiB"
    assert "filename" not in file  # the handler reads DUAL_LOG_PATH (and DUAL_LOG_KEEP)
    assert "keep" not in file
    assert "compress" not in file  # neither given nor set: FileHandler resolves it
    assert config["handlers"]["dual_log_stdout"]["formatter"] == "dual_log_json"
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["django"]["level"] == "WARNING"


def test_logging_config_variants() -> None:
    """stdout=False keeps only the file; mail_admins=False and db_queries=True as named."""
    config = logging_config(path="/l/a.log", stdout=False, mail_admins=False, db_queries=True)
    assert config["root"]["handlers"] == ["dual_log_file"]
    assert "dual_log_stdout" not in config["handlers"]
    assert "mail_admins" not in config["handlers"]
    assert config["loggers"]["django"]["handlers"] == []
    assert config["loggers"]["django.db.backends"]["level"] == "DEBUG"
    assert logging_config(path="/l/a.log", level="DEBUG")["loggers"]["django"]["level"] == "INFO"


def test_bad_options_fail_when_settings_are_read() -> None:
    """A bad value or an unknown option raises at once, naming it."""
    with pytest.raises(ValueError, match=r"max_bytes.*'lots'"):
        logging_config(max_bytes="lots")
    with pytest.raises(TypeError, match="colour"):
        logging_config(colour="red")
    with pytest.raises(ValueError, match="keep"):
        add_handlers({"version": 1}, keep=-1)


def test_add_handlers_copies_keeps_the_project_config_and_is_idempotent() -> None:
    """add_handlers(): input untouched, sinks on root and non-propagating loggers, consoles off."""
    project: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(message)s"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "plain"},
            "audit": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "shop": {"handlers": ["console"], "level": "INFO"},
            "shop.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        },
    }
    before = copy.deepcopy(project)
    config = add_handlers(project, path="/logs/app.log")
    assert project == before
    assert config["root"] == {"handlers": OURS, "level": "WARNING"}
    assert config["loggers"]["shop"]["handlers"] == []
    assert config["loggers"]["shop.audit"]["handlers"] == ["audit", *OURS]
    assert config["loggers"]["django"]["handlers"] == ["mail_admins"]
    assert config["loggers"]["django.server"]["propagate"] is True
    assert config["handlers"]["console"] == project["handlers"]["console"]  # defined, unused
    assert config["formatters"]["plain"] == project["formatters"]["plain"]
    assert add_handlers(config, path="/logs/app.log") == config
    kept = add_handlers(project, path="/logs/app.log", replace_console=False)
    assert kept["root"]["handlers"] == ["console", *OURS]


def test_add_handlers_rejects_what_is_not_a_logging_dict() -> None:
    """A non-mapping, another schema version or an incremental dict is refused clearly."""
    with pytest.raises(TypeError, match="needs a LOGGING dict, not list"):
        add_handlers([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version=2"):
        add_handlers({"version": 2})
    with pytest.raises(ValueError, match="incremental"):
        add_handlers({"version": 1, "incremental": True})


# Records through Django ----------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "no-DEBUG"])
def test_django_records_reach_each_sink_exactly_once(
    debug: bool, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """django.request, django.security and the app's records: once on stdout, once in the file."""
    apply(logging_config(path=str(log_path)))
    marker = uuid.uuid4().hex
    with request_settings(debug):
        client = Client(raise_request_exception=False)
        assert client.get("/ok", {"id": marker}).status_code == 200
        assert client.get("/missing").status_code == 404
        assert client.get("/boom").status_code == 500
        assert client.get("/ok", headers={"host": "evil.example"}).status_code == 400
    out, err, records = sinks(capsys, log_path)
    expected = [
        ("INFO", "tests.django.views", f"ok {marker}"),
        ("WARNING", "django.request", "Not Found: /missing"),
        ("ERROR", "django.request", "Internal Server Error: /boom"),
        (
            "ERROR",
            "django.security.DisallowedHost",
            "Invalid HTTP_HOST header: 'evil.example'. "
            "You may need to add 'evil.example' to ALLOWED_HOSTS.",
        ),
    ]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == expected
    # The HttpRequest django.request attaches is written as its method and path.
    assert [r.get("request") for r in records] == [None, "GET /missing", "GET /boom", "GET /ok"]
    # On stdout each once, django.request's with its status code (its HttpRequest, which
    # the message names already, is left off the text line).
    shown = [f" {level} {name} {message}" for level, name, message in expected]
    shown[1] += " status_code=404"
    shown[2] += " status_code=500"
    shown[3] += " status_code=400"
    for line in shown:
        assert out.count(line + "\n") == 1, line
    assert err == ""  # Django's console handler (stderr, with DEBUG) is gone


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "no-DEBUG"])
def test_unhandled_view_exception_lands_in_the_file_with_its_traceback(
    debug: bool, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A view that raises: django.request's record carries the whole traceback in exc_info."""
    apply(logging_config(path=str(log_path)))
    with request_settings(debug):
        assert Client(raise_request_exception=False).get("/boom").status_code == 500
    out, _, records = sinks(capsys, log_path)
    [record] = [r for r in records if r["logger"] == "django.request"]
    assert record["message"] == "Internal Server Error: /boom"
    assert record["status_code"] == 500
    assert record["exc_info"].startswith("Traceback (most recent call last):")
    assert 'in boom\n    raise RuntimeError("deliberate failure")' in record["exc_info"]
    assert record["exc_info"].endswith("RuntimeError: deliberate failure")
    assert out.count("RuntimeError: deliberate failure") == 1


@pytest.mark.parametrize("db_queries", [True, False])
def test_sql_queries_reach_both_sinks_when_enabled(
    db_queries: bool, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """db_queries=True logs django.db.backends' SQL (DEBUG on) in both sinks; off, none."""
    if settings.DATABASES.get("default", {}).get("ENGINE") != "django.db.backends.sqlite3":
        pytest.skip("Django was configured elsewhere in this process without a sqlite database")
    apply(logging_config(path=str(log_path), db_queries=db_queries))
    marker = uuid.uuid4().int % 1_000_000
    with override_settings(DEBUG=True), connection.cursor() as cursor:
        cursor.execute(f"SELECT {marker}")
    out, _, records = sinks(capsys, log_path)
    queries = [r for r in records if f"SELECT {marker}" in r["message"]]
    assert [r["logger"] for r in queries] == (["django.db.backends"] if db_queries else [])
    assert out.count(f"SELECT {marker}") == (1 if db_queries else 0)


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG", "no-DEBUG"])
def test_add_handlers_to_default_logging_avoids_doubles_and_server_formatter(
    debug: bool, log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """add_handlers(DEFAULT_LOGGING): django.server, django.request once per sink, no stderr."""
    apply(add_handlers(DEFAULT_LOGGING, path=str(log_path)))
    marker = uuid.uuid4().hex
    server = logging.getLogger("django.server")
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return True

    server.addFilter(keep)
    try:
        with request_settings(debug):
            # As runserver's request handler logs each request.
            server.info('"%s" %s %s', f"GET /?id={marker} HTTP/1.1", "200", "2")
            assert Client().get("/missing").status_code == 404
    finally:
        server.removeFilter(keep)
    out, err, records = sinks(capsys, log_path)
    assert [(r["logger"], r["message"]) for r in records] == [
        ("django.server", f'"GET /?id={marker} HTTP/1.1" 200 2'),
        ("django.request", "Not Found: /missing"),
    ]
    assert out.count(f'INFO django.server "GET /?id={marker} HTTP/1.1" 200 2\n') == 1
    assert out.count("Not Found: /missing") == 1
    assert err == ""
    [record] = seen
    assert record.msg == '"%s" %s %s'  # ServerFormatter, which rewrites msg, was not used


# Request ids ---------------------------------------------------------------------------

REQUEST_IDS = override_settings(
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["testserver"],
    MIDDLEWARE=["dual_log.django.RequestIdMiddleware", "django.middleware.common.CommonMiddleware"],
    APPEND_SLASH=False,
)


def _ids(records: list[dict[str, Any]]) -> list[tuple[str, str, object]]:
    return [(r["logger"], r["message"], r.get("request_id")) for r in records]


def test_bound_context_reaches_djangos_own_records(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fields bound around a request are on django.request's records too, in both sinks."""
    apply(logging_config(path=str(log_path)))
    with request_settings(False), dual_log.context(tenant="acme", job="import"):
        client = Client(raise_request_exception=False)
        assert client.get("/missing").status_code == 404
        assert client.get("/boom").status_code == 500
    out, _, records = sinks(capsys, log_path)
    assert [(r["message"], r["tenant"], r["job"]) for r in records] == [
        ("Not Found: /missing", "acme", "import"),
        ("Internal Server Error: /boom", "acme", "import"),
    ]
    assert out.count(" status_code=404 tenant=acme job=import\n") == 1
    assert out.count(" status_code=500 tenant=acme job=import\n") == 1


def test_request_id_middleware_gives_every_record_of_a_request_its_id(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The header's id (X-Request-Id, else Fly-Request-Id, else a new one) is on the view's
    record, django.request's 404 and 500 records (each once), the response and request.META."""
    apply(logging_config(path=str(log_path)))
    client = Client(raise_request_exception=False)
    with REQUEST_IDS:
        given = client.get("/whoami", {"id": "1"}, headers={"X-Request-Id": "abc-123"})
        fly = client.get("/missing", headers={"Fly-Request-Id": "01JQSECXHA-ams"})
        both = client.get(
            "/boom", headers={"X-Request-Id": "not valid!", "Fly-Request-Id": "fly-9"}
        )
        new = client.get("/whoami", {"id": "2"})
    new_id = new["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert [r.status_code for r in (given, fly, both, new)] == [200, 404, 500, 200]
    assert [r["X-Request-Id"] for r in (given, fly, both)] == ["abc-123", "01JQSECXHA-ams", "fly-9"]
    assert (given.content, new.content) == (b"abc-123", new_id.encode())
    out, _, records = sinks(capsys, log_path)
    assert _ids(records) == [
        ("tests.django.views", "whoami 1", "abc-123"),
        ("django.request", "Not Found: /missing", "01JQSECXHA-ams"),
        ("django.request", "Internal Server Error: /boom", "fly-9"),
        ("tests.django.views", "whoami 2", new_id),
    ]
    assert out.count(" WARNING django.request Not Found: /missing status_code=404 "
                     "request_id=01JQSECXHA-ams\n") == 1  # fmt: skip
    assert out.count(" INFO tests.django.views whoami 1 request_id=abc-123\n") == 1
    assert "request_id" not in current()  # nothing is left bound after the requests


def test_request_id_middleware_in_an_async_stack_keeps_concurrent_requests_apart(
    log_path: Path,
) -> None:
    """Through Django's ASGI handler, 20 overlapping requests each keep their own id."""
    apply(logging_config(path=str(log_path), stdout=False))

    async def send_all() -> list[Any]:
        client = AsyncClient()
        slow = [
            client.get("/slow", {"id": n}, headers={"X-Request-Id": f"r-{n}"}) for n in range(20)
        ]
        return await asyncio.gather(
            *slow, client.get("/missing", headers={"X-Request-Id": "r-404"})
        )

    with REQUEST_IDS:
        responses = asyncio.run(send_all())
    assert [r["X-Request-Id"] for r in responses] == [f"r-{n}" for n in range(20)] + ["r-404"]
    dual_log.flush_all(5.0)
    records, torn = read_records(log_path)
    assert torn == []
    views = [r for r in records if r["logger"] == "tests.django.views"]
    assert len(views) == 40
    assert all(r["request_id"] == f"r-{r['message'].split()[1]}" for r in views)
    starts = [i for i, r in enumerate(views) if r["message"].startswith("start")]
    assert starts != list(range(0, 40, 2))  # the requests did overlap
    not_found = [r for r in records if r["logger"] == "django.request"]
    assert _ids(not_found) == [("django.request", "Not Found: /missing", "r-404")]


def test_request_id_headers_setting_names_the_headers(log_path: Path) -> None:
    """DUAL_LOG_REQUEST_ID_HEADERS in settings: those headers are read, the first is sent back."""
    apply(logging_config(path=str(log_path), stdout=False))
    with REQUEST_IDS, override_settings(DUAL_LOG_REQUEST_ID_HEADERS=["X-Correlation-Id"]):
        client = Client()
        chosen = client.get("/whoami", headers={"X-Correlation-Id": "corr-1"})
        ignored = client.get("/whoami", headers={"X-Request-Id": "req-1"})
    assert (chosen["X-Correlation-Id"], chosen.content) == ("corr-1", b"corr-1")
    assert "X-Request-Id" not in chosen
    assert ignored["X-Correlation-Id"] != "req-1"
    assert re.fullmatch(r"[0-9a-f]{32}", ignored["X-Correlation-Id"])


def test_a_bad_request_id_headers_setting_names_the_option() -> None:
    """A header name with a space fails when Django builds the middleware, naming the option."""
    with (
        REQUEST_IDS,
        override_settings(DUAL_LOG_REQUEST_ID_HEADERS="X Request"),
        pytest.raises(ValueError, match=r"request_id_headers='X Request'"),
    ):
        Client().get("/whoami")


# The sample project, in subprocesses --------------------------------------------------


@pytest.mark.parametrize("debug", ["1", "0"], ids=["DEBUG", "no-DEBUG"])
def test_manage_py_check_passes_for_the_sample(debug: str, python: str, log_path: Path) -> None:
    """`manage.py check` of sample_projects/django_app finds no issue, with DEBUG on and off."""
    env = environment(DUAL_LOG_PATH=str(log_path), DJANGO_DEBUG=debug)
    done = subprocess.run(
        [python, "manage.py", "check"],
        cwd=SAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
    assert "dual_log:" not in done.stderr


@pytest.mark.parametrize("debug", ["1", "0"], ids=["DEBUG", "no-DEBUG"])
def test_runserver_request_lines_reach_each_sink_once(
    debug: str, python: str, tmp_path: Path, log_path: Path
) -> None:
    """runserver: django.server's line and the app's, once on stdout and once in the file."""
    port = free_port()
    env = environment(DUAL_LOG_PATH=str(log_path), DJANGO_DEBUG=debug)
    argv = [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    marker = uuid.uuid4().hex
    with running(argv, SAMPLE, env, tmp_path) as server:
        server.wait_until_serving(f"http://127.0.0.1:{port}/?id=ready")
        assert get(f"http://127.0.0.1:{port}/?id={marker}") == (200, f"hello {marker}")
        assert get(f"http://127.0.0.1:{port}/boom")[0] == 500
        # Ctrl-C: runserver exits normally, and logging.shutdown() writes what is queued.
        assert server.stop(signal.SIGINT) == 0
        out, err = server.stdout, server.stderr
    records, torn = read_records(log_path)
    assert torn == []
    mine = [(r["logger"], r["message"]) for r in records if marker in r["message"]]
    assert mine == [
        ("mysite.requests", f"GET /?id={marker} 200"),
        ("django.server", f'"GET /?id={marker} HTTP/1.1" 200 {len("hello ") + len(marker)}'),
    ]
    # django.server attaches the connection's socket as "request": left out of the JSON.
    assert not [r for r in records if r["logger"] == "django.server" and "request" in r]
    assert len(re.findall(marker, out)) == 2
    assert out.count(f'INFO django.server "GET /?id={marker} HTTP/1.1" 200') == 1
    assert marker not in err  # neither Django's django.server handler nor its console
    [failure] = [r for r in records if r["message"] == "Internal Server Error: /boom"]
    assert failure["exc_info"].endswith("RuntimeError: the sample's deliberate failure")
    assert out.count("RuntimeError: the sample's deliberate failure") == 1


# Records -------------------------------------------------------------------------------


def _record(msg: str, **extra: object) -> logging.LogRecord:
    return logging.getLogger("django.request").makeRecord(
        "django.request", logging.WARNING, __file__, 1, msg, (), None, extra=extra
    )


def test_django_request_is_summarised_and_a_socket_left_out() -> None:
    """A Django HttpRequest becomes "METHOD /path?query"; django.server's socket is left out."""
    request = HttpRequest()
    request.method, request.path = "POST", "/orders/17"
    request.META["QUERY_STRING"] = "page=2"
    formatter = dual_log.JsonFormatter()
    data = json.loads(formatter.format(_record("Not Found", request=request)))
    assert data["request"] == "POST /orders/17?page=2"
    with socket.socket() as sock:
        record = _record('"GET / HTTP/1.1" 200 2', request=sock, server_time="now")
        data = json.loads(formatter.format(record))
        assert "request" not in data
        assert data["server_time"] == "now"
        assert record.__dict__["request"] is sock
    data = json.loads(formatter.format(_record("mine", request={"id": "r-1"})))
    assert data["request"] == {"id": "r-1"}  # the application's own value is kept


# Imports -------------------------------------------------------------------------------


def test_missing_django_is_an_import_error_naming_the_extra(python: str) -> None:
    """Without Django, dual_log.django raises ImportError telling which extra to install."""
    code = (
        "import sys\n"
        "sys.modules['django'] = None  # as if Django were not installed\n"
        "import dual_log\n"
        "try:\n"
        "    import dual_log.django\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "ImportError dual_log.django needs Django: pip install django (or, in dual_log's checkout, "
        "pip install '.[django]')"
    )
