"""``dual-log cat``: real folders written by dual_log on simulated machines, read back whole,
merged, filtered and damaged."""

from __future__ import annotations

import gzip
import os
import pty
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers.cli import DUAL_LOG, ROOT, machine_env, records, run, write_machine

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
    """Every record of every machine (live, rotated, .gz) comes out once, in time order."""
    assert list((machines / "m-one").glob("app.log.*.gz")), "the writers must have rotated"
    done = run("cat", str(machines), "--json")
    assert done.returncode == 0, done.stderr
    found = records(done.stdout)
    ids = _ids(found)
    assert len(ids) == len(set(ids)) == 4 * COUNT
    assert _writer_order_kept(ids)
    single = [r["time"] for r in found if r["fly_machine"] != "m-three"]
    assert single == sorted(single)
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
    """Readable lines: time, machine, level, logger, message, extras; traceback indented;
    control characters escaped so no message forges a line; no colour off a terminal."""
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
