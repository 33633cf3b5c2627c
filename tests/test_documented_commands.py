"""Every command the docs show runs as written from a checkout, or is marked as needing more.

The fenced ``sh``/``bash``/``console`` and ``python`` blocks of README.md, docs/*.md,
integrations/README.md and sample_projects/*/README.md are read, their shell lines split
into commands, and each command is run here, checked, or has a stated reason not to run:

- every ``dual-log COMMAND`` (also inside ``fly ssh console -C "..."``) and ``python -m
  dual_log[.capture]`` is parsed by that command's own argparse parser;
- the read side (``cat``, ``tail``, ``doctor``, and ``zcat``/``jq`` over the files) runs on a
  folder of real records standing for ``/logs``, ``./fetched`` and ``/tmp/logs``;
- gunicorn and uvicorn lines run in the folder the doc says to run them in, through
  stand-ins that only check: ``gunicorn --check-config`` (which imports the app) and
  uvicorn's own option parser plus its app import;
- install lines name a folder that exists from where they run and extras pyproject declares
  (tests/e2e/test_install.py installs from the checkout for real);
- the Quickstart runs, and its output is the one shown.

A block whose first line is ``# needs <what>`` (flyctl, a deployed app, Docker, a Fly.io
machine), and a command whose comment says ``(needs <what>)``, are not run: the test that
lists them skips with that list, so they show in the run's summary.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from dual_log import cli
from dual_log._capture import _options as capture_options
from tests.conftest import ROOT
from tests.helpers.cli import start_writer, write_machine

pytestmark = pytest.mark.paced  # the docs' text is the same on every Python: checked on one

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "integrations" / "README.md",
    *sorted((ROOT / "sample_projects").glob("*/README.md")),
]
SHELL = ("sh", "bash", "console")
MARKER = re.compile(r"^# needs (.+)$")
LINE_MARKER = re.compile(r"\(needs ([^)]+)\)")
BIN = Path(sys.executable).parent
# Commands that are not run here, each for a stated reason (and run or checked elsewhere).
NOT_RUN = {
    "pip": "installs: the folder and extras are checked here, tests/e2e/test_install.py installs",
    "python3 -m venv": "makes the venv the tests already run in",
    ".": "activates that venv",
    "curl": "asks the server the line before starts; tests/e2e serve the samples",
    "nats-server": "run by tests/capture/test_sample.py with the capture and the publisher",
    "kill": "stops the jobs of the capture trial, which tests/capture/test_sample.py runs",
    "scripts/run-tests": "is the test command itself",
    "scripts/demo": "run by tests/test_demo.py",
    "benchmarks": "run by tests/test_benchmarks_smoke.py; options checked here",
    "tests/faults/report.py": "runs the fault suite again; it exists",
    "manage.py runserver": "serves until stopped; tests/e2e/test_runserver.py runs it",
    "publish_demo.py": "run by tests/capture/test_sample.py against a real nats-server",
    "cat after curl": "reads what the requests above logged; tests/e2e serve the samples",
    "capture": "run by tests/capture/test_sample.py against a real nats-server",
}


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its marker, if any."""

    doc: Path
    line: int
    heading: str
    lang: str
    text: str

    @property
    def name(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def needs(self) -> str | None:
        first = self.text.split("\n", 1)[0]
        match = MARKER.match(first)
        return match.group(1) if match else None


def read_blocks() -> list[Block]:
    """Every fenced block of the docs, with the heading it stands under."""
    found = []
    for doc in DOCS:
        heading = ""
        lines = doc.read_text().splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            if line.startswith("#") and not line.startswith("#!"):
                heading = line.lstrip("#").strip()
            fence = re.match(r"^```(\w*)$", line)
            if fence:
                end = lines.index("```", index + 1)
                text = "\n".join(lines[index + 1 : end])
                found.append(Block(doc, index + 1, heading, fence.group(1), text))
                index = end
            index += 1
    return found


BLOCKS = read_blocks()
SHELL_BLOCKS = [b for b in BLOCKS if b.lang in SHELL]


def shell_lines(block: Block) -> list[tuple[str, str | None]]:
    """The block's command lines (continuations joined), each with its line marker."""
    text = block.text.replace("\\\n", " ")
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = LINE_MARKER.search(line.split(" # ", 1)[1]) if " # " in line else None
        lines.append((line, marker.group(1) if marker else None))
    return lines


def commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line: words, without leading VAR=value, unwrapped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    found: list[list[str]] = [[]]
    for word in lexer:
        if word and set(word) <= set(";&|"):
            found.append([])
        else:
            found[-1].append(word)
    result = []
    for words in found:
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            words = words[1:]
        if words[:1] == ["exec"]:
            words = words[1:]
        if words[:2] == ["sh", "-c"]:
            result += commands(words[2])
        elif words:
            result.append(words)
    return result


def dual_log_invocations(words: list[str]) -> list[tuple[str, list[str]]]:
    """``(subcommand, arguments)`` of each dual-log call in a command, also in its strings."""
    found = []
    if words[0] == "dual-log":
        found.append((words[1], words[2:]))
    elif words[0].endswith(("python", "python3")) and words[1:3] == ["-m", "dual_log.capture"]:
        found.append(("capture", words[3:]))
    elif words[0].endswith(("python", "python3")) and words[1:3] == ["-m", "dual_log"]:
        found.append((words[3], words[4:]))
    for word in words[1:]:  # fly ssh console -C "dual-log doctor"
        if word.startswith("dual-log ") and word != " ".join(words):
            inner = shlex.split(word)
            found.append((inner[1], inner[2:]))
    return found


def reason_not_run(words: list[str], block: Block) -> str | None:
    """Why the command is not run here, or None when it is run or checked here."""
    program = words[0]
    if block.heading == "Try capture locally":
        return NOT_RUN["capture"]
    if program == "cat" and "curl" in block.text:
        return NOT_RUN["cat after curl"]
    if program in ("dual-log",) and words[1] in ("fetch", "capture"):
        return NOT_RUN["capture"] if words[1] == "capture" else None
    if program in ("pip", "curl", "nats-server", "kill", ".", "scripts/run-tests", "scripts/demo"):
        return NOT_RUN[program]
    if program == "python3" and words[1:3] == ["-m", "venv"]:
        return NOT_RUN["python3 -m venv"]
    if program.endswith("python") and words[1:3] == ["-m", "benchmarks"]:
        return NOT_RUN["benchmarks"]
    if program.endswith("python") and words[1:2] == ["tests/faults/report.py"]:
        return NOT_RUN["tests/faults/report.py"]
    if words[1:3] == ["manage.py", "runserver"]:
        return NOT_RUN["manage.py runserver"]
    if words[1:2] == ["publish_demo.py"]:
        return NOT_RUN["publish_demo.py"]
    return None


# -- what is checked in every block -------------------------------------------------------


def test_the_blocks_are_found() -> None:
    """The reader finds the blocks it is meant to check: a test of this test's reach."""
    names = {b.doc.relative_to(ROOT).as_posix() for b in SHELL_BLOCKS}
    assert "README.md" in names
    assert "sample_projects/log_capture/README.md" in names
    assert "docs/PERFORMANCE.md" in names
    assert len(SHELL_BLOCKS) >= 25
    assert any(b.heading.startswith("Plain Python") for b in BLOCKS if b.lang == "python")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.name)
def test_every_dual_log_option_is_known_to_its_command(block: Block) -> None:
    """Each ``dual-log COMMAND`` and ``python -m dual_log.capture`` call parses with the
    command's own parser: no unknown option, no bad value, no missing argument."""
    _, parsers = cli._parser()
    parsers["python -m dual_log.capture"] = capture_options.parser()
    for line, _ in shell_lines(block):
        for words in commands(line):
            for command, args in dual_log_invocations(words):
                is_module = words[1:3] == ["-m", "dual_log.capture"]
                parser = parsers["python -m dual_log.capture" if is_module else command]
                known = {s for a in parser._actions for s in a.option_strings}
                options = [a.split("=", 1)[0] for a in args if a.startswith("-")]
                assert [o for o in options if o not in known] == [], line
                try:
                    parser.parse_args(args)
                except SystemExit as exc:
                    pytest.fail(f"{block.name}: {line!r} does not parse ({exc.code})")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.name)
def test_flyctl_and_docker_lines_are_marked(block: Block) -> None:
    """A block that needs flyctl or Docker says so on its first line (``# needs ...``), or
    the one line that needs it says ``(needs ...)`` in its comment."""
    for line, marker in shell_lines(block):
        for words in commands(line):
            needs_more = words[0] in ("fly", "flyctl", "docker") or words[:2] == [
                "dual-log",
                "fetch",
            ]
            assert not needs_more or block.needs or marker, f"{block.name}: {line}"


def test_commands_not_run_here_are_marked_in_the_docs() -> None:
    """What the docs mark as needing a deployed app, flyctl or Docker says what it needs:
    those blocks and lines are not run here (their dual-log options are still checked)."""
    listed = [f"{b.name} (needs {b.needs})" for b in SHELL_BLOCKS if b.needs]
    for block in SHELL_BLOCKS:
        if not block.needs:
            listed += [f"{block.name}: {ln} (needs {m})" for ln, m in shell_lines(block) if m]
    assert len(listed) >= 15
    assert any("log_capture/README.md" in item for item in listed)
    assert all(item.endswith(")") and "(needs " in item for item in listed), listed


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=lambda b: b.name)
def test_python_blocks_are_valid_python(block: Block) -> None:
    """Every Python block parses (the recipes and the Quickstart also run, in their tests)."""
    assert ast.parse(block.text) is not None


# -- install lines ------------------------------------------------------------------------


def cwd_of(block: Block) -> Path:
    """The folder the doc says to run the block in."""
    if block.doc.parent.parent == ROOT / "sample_projects":
        return block.doc.parent  # "From this folder"
    return ROOT  # the checkout's root folder


def test_install_lines_name_the_checkout_and_declared_extras() -> None:
    """Every ``pip install``/``pip wheel`` line in an unmarked block names a folder or file
    that exists from where it runs, or the wheel the line before builds, and only extras
    pyproject.toml declares; none names a package index."""
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    checked = []
    for block in SHELL_BLOCKS:
        if block.needs and "Fly.io machine" not in block.needs:
            continue
        for line, _ in shell_lines(block):
            for words in commands(line):
                if words[0] != "pip":
                    continue
                checked.append(line)
                targets = []
                for before, word in itertools.pairwise(words[1:]):
                    if before == "-r":  # the requirements file: its path lines
                        lines = (cwd_of(block) / word).read_text().splitlines()
                        targets += [req for req in lines if req.startswith("../")]
                    elif not word.startswith("-") and before not in ("-w", "-r"):
                        targets.append(word)
                for target in targets:
                    if target.startswith("dist/") and target.endswith(".whl"):
                        assert "pip wheel --no-deps . -w dist" in block.text, line
                        continue
                    folder, _, extra = target.partition("[")
                    assert (cwd_of(block) / folder / "pyproject.toml").exists(), line
                    assert extra.rstrip("]") in extras | {""}, line
    assert len(checked) >= 9
    for doc in DOCS:
        assert "pip install dual-log-handler" not in doc.read_text(), doc
        assert "install 'dual-log-handler[" not in doc.read_text(), doc


# -- the Quickstart -----------------------------------------------------------------------


def test_the_quickstart_runs_as_written_and_prints_what_it_shows(tmp_path: Path) -> None:
    """The plain-Python Quickstart, as a script with DUAL_LOG_PATH set: the stdout lines
    and the file's records are the ones the README shows after it."""
    (code,) = [b for b in BLOCKS if b.lang == "python" and b.heading.startswith("Plain Python")]
    after = BLOCKS[BLOCKS.index(code) + 1]
    assert after.lang == "text"
    (tmp_path / "worker.py").write_text(code.text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUAL_LOG_")}
    env.update(DUAL_LOG_PATH=str(tmp_path / "logs" / "app.log"), PYTHONPATH=str(ROOT))
    (tmp_path / "logs").mkdir()
    done = subprocess.run(
        [sys.executable, "worker.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""

    def shape(text: str) -> list[str]:
        text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "TIME", text)
        return re.sub(r'"pid": \d+', '"pid": PID', text).splitlines()

    shown = shape(after.text)
    written = shape((tmp_path / "logs" / "app.log").read_text())
    assert shape(done.stdout) + written == shown


# -- the read side, the servers and the sample scripts, run -------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real records where the docs read them: /logs, ./fetched/<machine>, /logs/capture."""
    root = tmp_path_factory.mktemp("documented")
    write_machine(root / "logs", "148e21", 40)
    write_machine(root / "logs" / "capture", "c0ffee", 10)
    write_machine(root / "fetched" / "148e21", "148e21", 20)
    write_machine(root / "fetched" / "9080e4", "9080e4", 20)
    (root / "fetched" / "d0c0de").mkdir()
    for app in ("web", "worker"):  # a capture machine's files, one per app
        writer = start_writer(root / "fetched" / "d0c0de" / f"{app}.log", "d0c0de", app, 5)
        assert writer.wait(60) == 0
    (root / "tmp-logs").mkdir()
    (root / "bin").mkdir()
    # Stand-ins that check instead of serving: gunicorn's own --check-config (it imports the
    # app), and uvicorn's own option parser, then its import of the app.
    gunicorn = root / "bin" / "gunicorn"
    gunicorn.write_text(f'#!/bin/sh\nexec {BIN / "gunicorn"} --check-config "$@"\n')
    uvicorn = root / "bin" / "uvicorn"
    uvicorn.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent("""
            import os, sys
            import uvicorn.main
            from uvicorn.importer import import_from_string
            # uvicorn.main.main is the click command's bound main(), in uvicorn 0.3x.
            command = getattr(uvicorn.main.main, "__self__", uvicorn.main.main)
            context = command.make_context("uvicorn", sys.argv[1:])
            assert os.path.exists(context.params["log_config"]), context.params["log_config"]
            sys.path.insert(0, ".")
            import_from_string(context.params["app"])
            print("uvicorn options and app: ok")
        """)
    )
    gunicorn.chmod(0o755)
    uvicorn.chmod(0o755)
    return root


def in_sandbox(line: str, root: Path) -> str:
    """The line with the paths of a machine (/logs, /tmp/logs) moved into ``root``."""
    line = line.replace("/tmp/logs", str(root / "tmp-logs"))
    return re.sub(r"(?<![\w./-])/logs\b", str(root / "logs"), line)


def environment(root: Path) -> dict[str, str]:
    """The checkout's dual_log and the stand-ins first on PATH; no DUAL_LOG_* of the run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_LOG_", "FLY_"))}
    env.update(
        PATH=f"{root / 'bin'}{os.pathsep}{BIN}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(ROOT),
        DUAL_LOG_PATH=str(root / "logs" / "app.log"),
        NO_COLOR="1",
    )
    return env


def fastapi_project(block: Block, root: Path) -> Path:
    """The folder the FastAPI section describes: its main.py and the files it copies."""
    folder = root / "fastapi"
    if not folder.exists():
        folder.mkdir()
        section = block.doc.read_text().split(f"\n### {block.heading}\n", 1)[1]
        section = section.split("\n### ", 1)[0]
        main = re.search(r"```python\n# main.py\n(.*?)```", section, re.DOTALL)
        assert main, "the FastAPI section's main.py"
        (folder / "main.py").write_text(main.group(1))
        for name in set(re.findall(r"`integrations/([\w.]+)`", section)):
            (folder / name).write_text((ROOT / "integrations" / name).read_text())
    return folder


def runnable(block: Block) -> list[tuple[str, str | None]]:
    """The block's lines with whether each runs (None) or why not."""
    result = []
    for line, marker in shell_lines(block):
        reasons = [reason_not_run(words, block) for words in commands(line)]
        if marker:
            reasons.append(f"needs {marker}")
        result.append((line, next((r for r in reasons if r), None)))
    return result


RUN_BLOCKS = [b for b in SHELL_BLOCKS if not b.needs]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.name)
def test_the_block_runs_as_written(block: Block, sandbox: Path) -> None:
    """Each line of an unmarked block runs in the folder the doc names, on real files,
    exit status 0 (``doctor`` 0 or 1: a failed check is its answer, not a usage error),
    or has a stated reason not to run here."""
    cwd = fastapi_project(block, sandbox) if block.heading == "FastAPI and Starlette" else None
    if cwd is None:
        cwd = cwd_of(block)
    if any(w[:1] == ["dual-log"] or w[0] == "zcat" for ln, _ in shell_lines(block)
           for w in commands(ln)):  # fmt: skip
        cwd = sandbox  # the read side reads the sandbox's ./fetched
    ran = []
    for line, reason in runnable(block):
        if reason:
            continue
        ran.append(line)
        argv = ["sh", "-c", in_sandbox(line, sandbox)]
        if "tail -f" in line:
            process = subprocess.Popen(
                argv, cwd=cwd, env=environment(sandbox), stdout=subprocess.PIPE, text=True,
                start_new_session=True,
            )  # fmt: skip
            assert process.stdout is not None
            with process.stdout:
                first = process.stdout.readline()
            os.killpg(process.pid, signal.SIGTERM)
            assert process.wait(30) in (0, -signal.SIGTERM), line
            assert first, line
            continue
        done = subprocess.run(
            argv, cwd=cwd, env=environment(sandbox), capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        allowed = (0, 1) if "dual-log doctor" in line else (0,)
        assert done.returncode in allowed, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert "usage:" not in done.stderr, line
        if line.startswith("dual-log cat /logs "):
            assert len(done.stdout.splitlines()) >= 40, line
    if not ran:
        # Nothing of this block runs here: each line says which test runs it instead,
        # and that test must exist.
        for _, reason in runnable(block):
            assert reason, block.name
            for named in re.findall(r"tests/[\w/]+\.py", reason):
                assert (ROOT / named).is_file(), f"{block.name}: {reason}"


def test_gunicorn_and_uvicorn_lines_are_among_those_run() -> None:
    """The servers' lines of the README and the samples are run (through the checking
    stand-ins), not passed over."""
    ran = [ln for b in RUN_BLOCKS for ln, reason in runnable(b) if not reason]
    assert sum("gunicorn -c gunicorn_uvicorn.conf.py" in ln for ln in ran) == 1
    assert sum(ln.startswith("uvicorn --log-config uvicorn_log_config.json") for ln in ran) == 1
    assert sum("gunicorn -c ../../integrations/gunicorn.conf.py" in ln for ln in ran) == 2
    assert any(ln.startswith("DUAL_LOG_PATH=/tmp/logs/app.log WORKER_JOBS") for ln in ran)
    assert any(ln.startswith("dual-log tail -f") for ln in ran)
    assert any(ln.startswith("zcat -f") for ln in ran)


def test_scripts_named_by_the_docs_exist_and_run() -> None:
    """scripts/..., tests/faults/report.py and the benchmarks' options the docs name exist."""
    bench = (ROOT / "benchmarks" / "__main__.py").read_text()
    for block in SHELL_BLOCKS:
        for line, _ in shell_lines(block):
            for words in commands(line):
                if words[0].startswith("scripts/"):
                    assert os.access(ROOT / words[0], os.X_OK), line
                if words[1:3] == ["-m", "benchmarks"]:
                    for option in (w for w in words[3:] if w.startswith("--")):
                        assert f'"{option}"' in bench, line
                if words[1:2] == ["tests/faults/report.py"]:
                    assert (ROOT / words[1]).exists(), line


def test_the_capture_trial_is_documented_with_a_real_message(sandbox: Path) -> None:
    """The capture sample's message example is what publish_demo.py sends (same keys, same
    nesting), on the subject it names; json.loads reads both."""
    sample = ROOT / "sample_projects" / "log_capture"
    blocks = [b for b in BLOCKS if b.doc == sample / "README.md" and b.lang == "json"]
    example = json.loads(blocks[0].text)
    sys.path.insert(0, str(sample))
    try:
        import publish_demo
    finally:
        sys.path.remove(str(sample))
    machine = example["fly"]["app"]["instance"]
    app, region = example["fly"]["app"]["name"], example["fly"]["region"]
    from datetime import datetime

    when = datetime.fromisoformat(example["timestamp"][:26] + "+00:00")
    sent = json.loads(publish_demo.body(example["message"], app=app, region=region,
                                        machine=machine, when=when))  # fmt: skip
    assert sent == example
    assert f"`logs.{app}.{region}.{machine}`" in (sample / "README.md").read_text()
    line = json.loads(blocks[1].text)
    assert (line["fly_app"], line["fly_machine"], line["level"]) == (app, machine, "INFO")
