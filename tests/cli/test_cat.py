"""``dual-log cat``: real folders written by dual_log on simulated machines, read back whole,
merged, filtered and damaged."""

from __future__ import annotations

import gzip
import json
import os
import pty
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from dual_log._capture._lines import line_of
from tests.helpers.cli import (
    DUAL_LOG,
    ROOT,
    machine_env,
    records,
    run,
    start_paced,
    write_machine,
)

COUNT = 400
ROTATING = ("max_bytes=4000", "keep=100", "compress=true")


def _ids(found: list[dict[str, object]]) -> list[str]:
    return [str(r["message"]) for r in found]


def _writer_order_kept(messages: list[str]) -> bool:
    """Each writer's records ("tag-pid.thread-n") come out in the order it logged them."""
    last: dict[str, int] = defaultdict(lambda: -1)
    for message in messages:
        writer, _, number = message.rpartition("-")
        if int(number) != last[writer] + 1:
            return False
        last[writer] = int(number)
    return True


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two machines, one process each, and a third with two processes sharing the file."""
    root = tmp_path_factory.mktemp("fetched")
    write_machine(root / "m-one", "m-one", COUNT, 1, *ROTATING)
    write_machine(root / "m-two", "m-two", COUNT, 1, *ROTATING)
    write_machine(root / "m-three", "m-three", COUNT, 2, *ROTATING)
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file of records of every level, logger and shape, written by dual_log."""
    folder = tmp_path_factory.mktemp("mixed")
    done = subprocess.run(
        [sys.executable, "-m", "tests.helpers.mixed", str(folder / "app.log")],
        env=machine_env("m-mixed"), cwd=ROOT, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def test_folders_of_several_machines_read_whole_and_merged_by_time(machines: Path) -> None:
    """Every record of every machine (live, rotated, .gz) comes out once, in time order, also
    those of the file two processes shared."""
    assert list((machines / "m-one").glob("app.log.*.gz")), "the writers must have rotated"
    done = run("cat", str(machines), "--json")
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    ids = _ids(found)
    assert len(ids) == len(set(ids)) == 4 * COUNT
    assert _writer_order_kept(ids)
    times = [r["time"] for r in found]  # m-three's two processes shared one file
    assert times == sorted(times)
    assert {r["fly_machine"] for r in found} == {"m-one", "m-two", "m-three"}


def test_python_m_dual_log_is_the_same_program(machines: Path) -> None:
    """`python -m dual_log cat` prints exactly what the console script prints."""
    script = run("cat", str(machines / "m-one"))
    module = subprocess.run(
        [sys.executable, "-m", "dual_log", "cat", str(machines / "m-one")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert module.returncode == script.returncode == 0
    assert module.stdout == script.stdout
    assert script.stdout.count("\n") == COUNT


def test_files_given_one_by_one_and_a_rotation_segment_are_merged(
    machines: Path, tmp_path: Path
) -> None:
    """Single files are read as given, gzipped or not; a .rotate.* segment is merged in by time."""
    folder = tmp_path / "m"
    folder.mkdir()
    source = sorted((machines / "m-one").glob("app.log.*.gz"))
    (folder / "app.log.rotate.8123").write_bytes(gzip.decompress(source[0].read_bytes()))
    (folder / "app.log.2.gz").write_bytes(source[1].read_bytes())
    merged = records(run("cat", str(folder), "--json").stdout)
    expected = records(run("cat", str(source[0]), str(source[1]), "--json").stdout)
    assert merged == expected
    assert len(merged) > 0
    times = [r["time"] for r in merged]
    assert times == sorted(times)


def test_level_logger_grep_and_field_filters(mixed: Path) -> None:
    """Each filter keeps exactly the records it names, and they combine."""

    def messages(*args: str) -> list[str]:
        done = run("cat", str(mixed), "--json", *args)
        assert done.returncode == 0, done.stderr
        return _ids(records(done.stdout))

    assert messages("--level", "WARNING") == [
        "cart almost full",
        "order 18 failed",
        "shopping down",
    ]
    assert messages("--level", "error") == ["order 18 failed", "shopping down"]
    assert messages("--logger", "shop") == [
        "debug detail", "order 17 placed", "cart almost full", "order 18 failed",
    ]  # fmt: skip
    assert messages("--logger", "shop.cart") == ["cart almost full", "order 18 failed"]
    assert messages("--grep", "order 1[78]") == ["order 17 placed", "order 18 failed"]
    assert messages("--grep", "order 17 (") == []  # not a regex: the text itself
    assert messages("--field", "rid=r-18") == ["cart almost full"]
    assert messages("--field", "order=17") == ["order 17 placed"]
    assert messages("--field", "fly_machine=m-mixed", "--level", "CRITICAL") == ["shopping down"]
    assert messages("--logger", "shop", "--grep", "order", "--level", "ERROR") == [
        "order 18 failed"
    ]


def test_since_and_until_take_iso_times_and_spans(mixed: Path) -> None:
    """--since/--until cut at an ISO time (any zone) or at a span back from now."""
    everything = records(run("cat", str(mixed), "--json").stdout)
    middle = everything[3]["time"]
    after = _ids(records(run("cat", str(mixed), "--json", "--since", middle).stdout))
    assert after == [r["message"] for r in everything if r["time"] >= middle]
    assert "order 18 failed" in after
    before = _ids(records(run("cat", str(mixed), "--json", "--until", middle).stdout))
    assert before == [r["message"] for r in everything if r["time"] <= middle]
    shifted = middle.replace("+00:00", "")  # no zone: UTC
    assert _ids(records(run("cat", str(mixed), "--json", "--since", shifted).stdout)) == after
    assert len(records(run("cat", str(mixed), "--json", "--since", "1h").stdout)) == 6
    assert records(run("cat", str(mixed), "--json", "--until", "1h").stdout) == []
    bad = run("cat", str(mixed), "--since", "yesterday-ish")
    assert bad.returncode == 2
    assert "--since 'yesterday-ish'" in bad.stderr


def test_text_output_shows_machine_level_logger_and_indents_tracebacks(mixed: Path) -> None:
    """Readable lines: time, app/region/machine, level, logger, message, extras; traceback
    indented; control characters escaped so no message forges a line; no colour off a terminal."""
    done = run("cat", str(mixed))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    failed = next(i for i, line in enumerate(lines) if "order 18 failed" in line)
    assert " shop-app/ams/m-mixed ERROR    shop.cart order 18 failed" in lines[failed]
    assert lines[failed + 1] == "    Traceback (most recent call last):"
    assert lines[failed + 4] == "    ValueError: bad price"
    assert any(line.endswith("order 17 placed rid=r-17 order=17") for line in lines)
    forged = next(i for i, line in enumerate(lines) if "forged" in line)
    # The file holds no colour sequence (the writer removes them): the line shows plain.
    assert lines[forged + 1] == '    {"level": "ERROR"} and red'
    assert "\x1b" not in done.stdout
    assert run("cat", str(mixed), "--color", "always").stdout.count("\x1b[31m") == 1


@pytest.mark.parametrize("no_color", ["", "1"])
def test_colour_only_on_a_terminal_without_no_color(mixed: Path, no_color: str) -> None:
    """On a terminal the level is coloured, unless NO_COLOR is set."""
    env = {**os.environ, "NO_COLOR": no_color}
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [DUAL_LOG, "cat", str(mixed), "--level", "ERROR"], stdout=follower, env=env
    ) as process:
        os.close(follower)
        output = b""
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            output += data
        assert process.wait(timeout=30) == 0
    os.close(leader)
    assert b"order 18 failed" in output
    assert (b"\x1b[31m" in output) is (not no_color)


def test_damaged_inputs_are_shown_warned_about_and_never_crash(
    machines: Path, tmp_path: Path
) -> None:
    """A torn line and text lines are shown where they were; a truncated .gz is read as far
    as it goes with one warning; an unreadable file and a missing path make exit status 1."""
    folder = tmp_path / "damaged"
    folder.mkdir()
    rotated = sorted(
        (machines / "m-one").glob("app.log.*.gz"), key=lambda p: int(p.name.split(".")[2])
    )
    # Several rotated files in one .gz, for a file large enough to cut in the middle.
    whole = b"".join(gzip.decompress(p.read_bytes()) for p in rotated[2:]).splitlines()
    data = gzip.compress(b"\n".join(whole) + b"\n")
    (folder / "app.log.2.gz").write_bytes(data[: len(data) // 2])  # killed mid-compression
    live = gzip.decompress(rotated[1].read_bytes()).splitlines(keepends=True)
    torn = live[1][:40]  # a line cut by a full disk, then the writer starts a new line
    (folder / "app.log").write_bytes(
        live[0] + torn + b"\n" + b"plain text line\n" + b"\xff\xfe not utf-8\n" + b"".join(live[1:])
    )
    (folder / "app.log.1").symlink_to(tmp_path / "gone")  # listed, cannot be opened

    done = run("cat", str(folder))
    assert done.returncode == 1
    assert done.stderr.count("gzip file ends early") == 1
    assert "app.log.2.gz" in done.stderr
    assert f"cannot read {folder / 'app.log.1'}" in done.stderr
    assert "4 line(s) were not JSON" in done.stderr  # with the .gz's cut last line
    out = done.stdout.splitlines()
    assert torn.decode() in out
    assert out.index(torn.decode()) + 1 == out.index("plain text line")
    assert "\\xff\\xfe not utf-8" in out
    shown_gz = [line for line in out if "m-one INFO" in line]
    assert 0 < len(shown_gz) - len(live) < len(whole)

    as_json = run("cat", str(folder), "--json")
    assert as_json.returncode == 1
    parsed = records(as_json.stdout)  # stdout stays JSON for pipes
    assert len(parsed) == len(shown_gz)
    assert "not a JSON record: plain text line" in as_json.stderr
    assert torn.decode() in as_json.stderr

    missing = run("cat", str(machines / "m-one"), str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "nowhere: no such file or folder" in missing.stderr
    assert len(missing.stdout.splitlines()) == COUNT


def test_without_paths_the_folder_setup_would_write_is_read(machines: Path) -> None:
    """`dual-log cat` alone reads the folder of DUAL_LOG_PATH, as setup() resolves it."""
    env = {**machine_env("m-one"), "DUAL_LOG_PATH": str(machines / "m-two" / "app.log")}
    done = run("cat", "--json", "--level", "INFO", env=env)
    assert done.returncode == 0, done.stderr
    assert {r["fly_machine"] for r in records(done.stdout)} == {"m-two"}
    assert len(records(done.stdout)) == COUNT


def _raw_times(folder: Path) -> list[str]:
    """The times of a folder's records in the order the files hold them, oldest file first."""

    def number(path: Path) -> int:
        rest = path.name.removeprefix("app.log").removeprefix(".").removesuffix(".gz")
        return int(rest) if rest else 0

    times = []
    for path in sorted(folder.glob("app.log*"), key=number, reverse=True):
        data = path.read_bytes()
        data = gzip.decompress(data) if path.name.endswith(".gz") else data
        times += [json.loads(line)["time"] for line in data.splitlines()]
    return times


@pytest.fixture(scope="module")
def contended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One machine's file, rotating, written by two processes at once, 500 records/s each."""
    folder = tmp_path_factory.mktemp("contended")
    options = ("max_bytes=64KiB", "keep=100", "compress=true")
    writers = [
        start_paced(folder / "app.log", "m-one", f"w{n}", 2000, 500, *options) for n in range(2)
    ]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    return folder


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_written_by_several_processes_reads_back_in_time_order(
    contended: Path, jobs: str
) -> None:
    """Two processes' batches land in the file out of time order; cat --json and the text
    output put every record in time order, each once, each process's in its own order, and
    say nothing of late records: none is later than the window."""
    raw = _raw_times(contended)
    assert raw != sorted(raw), "the processes' batches must interleave out of order"
    done = run("cat", str(contended), "--json", "--jobs", jobs)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    found = records(done.stdout)
    times = [r["time"] for r in found]
    assert times == sorted(times)
    assert sorted(times) == sorted(raw)
    messages = [r["message"] for r in found]
    assert len(set(messages)) == len(messages) == 4000
    for tag in ("w0", "w1"):
        own = [m for m in messages if m.startswith(tag)]
        assert own == sorted(own)
    text = run("cat", str(contended), "--jobs", jobs).stdout.splitlines()
    assert [line[:23] for line in text] == [t[:10] + " " + t[11:23] for t in times]


def _writer_line(moment: str, message: str) -> str:
    return json.dumps({"time": moment, "level": "INFO", "logger": "late", "message": message})


def test_a_record_later_than_the_window_is_printed_once_and_counted(tmp_path: Path) -> None:
    """A record that follows 20,000 newer ones (a writer held it for a minute) is printed,
    once, where it was read, and said on stderr; a window of an hour puts it in place."""
    lines = [
        _writer_line(
            f"2026-05-01T12:{10 + n // 1000:02d}:{n % 60:02d}.{n % 1000:03d}+00:00", f"n{n}"
        )
        for n in range(20_000)
    ]
    lines.insert(15_000, _writer_line("2026-05-01T12:00:00.000+00:00", "late"))
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    done = run("cat", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    messages = [r["message"] for r in records(done.stdout)]
    assert messages.count("late") == 1
    assert len(messages) == 20_001
    assert "1 record(s) came more than 2s after newer ones" in done.stderr
    placed = run("cat", str(tmp_path), "--json", "--window", "3600")
    assert next(r["message"] for r in records(placed.stdout)) == "late"
    assert placed.stderr == ""


def test_filters_that_leave_nothing_say_how_many_records_were_read(machines: Path) -> None:
    """No record matched: nothing on stdout, exit status 0, and stderr says how many records
    were read, in how many files, and which filters left none, also read by several processes."""
    files = len(list(machines.glob("*/app.log*")))
    for jobs in ("1", "3"):
        done = run("cat", str(machines), "--level", "CRITICAL", "--app", "shop-*", "--jobs", jobs)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        assert done.stderr == (
            f"dual-log: read {4 * COUNT} record(s) from {files} file(s); "
            "none matched --level CRITICAL --app shop-*\n"
        )


def test_an_unreadable_file_read_by_another_process_makes_the_exit_status_1(
    machines: Path, tmp_path: Path
) -> None:
    """With --jobs, a file a child process could not read is said and makes exit status 1."""
    for machine in ("m-one", "m-two"):
        shutil.copytree(machines / machine, tmp_path / machine)
    (tmp_path / "m-gone").mkdir()
    (tmp_path / "m-gone" / "app.log").symlink_to(tmp_path / "nowhere")
    done = run("cat", str(tmp_path), "--json", "--jobs", "3")
    assert done.returncode == 1
    assert f"cannot read {tmp_path / 'm-gone' / 'app.log'}" in done.stderr
    assert len(records(done.stdout)) == 2 * COUNT


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An organisation-wide file as dual-log capture writes it: three apps, and a line that
    was not the platform's JSON, kept raw (it has no level)."""
    folder = tmp_path_factory.mktemp("captured")
    bodies = [
        ("shop-web", "ams", "148ed1", "info", "GET / 200"),
        ("shop-worker", "fra", "3d8d9e", "warn", "queue is long"),
        ("billing", "iad", "e78432", "error", "card declined"),
    ]
    lines = []
    for second, (app, region, machine, level, message) in enumerate(bodies):
        body = {
            "event": {"provider": "app"},
            "fly": {"app": {"instance": machine, "name": app}, "region": region},
            "host": "a1b2",
            "log": {"level": level},
            "message": message,
            "timestamp": f"2026-11-24T09:30:4{second}.500000000Z",
        }
        subject = f"logs.{app}.{region}.{machine}".encode()
        lines.append(line_of(json.dumps(body).encode(), subject, 0.0)[0])
    raw = line_of(b"panic: not json", b"logs.shop-web.ams.148ed1", 1795513844.0)
    assert raw[-1] is False  # kept raw: not the platform's JSON
    lines.append(raw[0])
    (folder / "org.log").write_bytes(b"".join(lines))
    return folder


def test_captured_lines_show_their_app_and_filter_by_app(captured: Path) -> None:
    """A captured record's text line shows app/region/machine; a raw line shows its text;
    --app takes globs and repeats; --level leaves out the raw line, which has no level."""
    text = run("cat", str(captured)).stdout.splitlines()
    assert " shop-web/ams/148ed1 INFO     - GET / 200 provider=app" in text[0]
    assert " shop-worker/fra/3d8d9e WARNING  - queue is long" in text[1]
    assert " billing/iad/e78432 ERROR    - card declined" in text[2]
    assert " shop-web/ams/148ed1 -        - panic: not json subject=logs.shop-web" in text[3]

    def apps(*args: str) -> list[str]:
        done = run("cat", str(captured), "--json", *args)
        assert done.returncode == 0, done.stderr
        return [r["fly_app"] for r in records(done.stdout)]

    assert apps("--app", "shop-*") == ["shop-web", "shop-worker", "shop-web"]
    assert apps("--app", "billing", "--app", "shop-worker") == ["shop-worker", "billing"]
    assert apps("--level", "WARNING") == ["shop-worker", "billing"]
    assert apps("--level", "DEBUG", "--app", "shop-web") == ["shop-web"]
    assert len(apps()) == 4
