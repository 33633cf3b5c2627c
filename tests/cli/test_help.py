"""The read side's commands explain themselves: every option has a line of help that says
what it does, and every bad value is refused with its option, the value and what is allowed."""

from __future__ import annotations

import argparse

import pytest

from dual_log import cli
from tests.helpers.cli import run

READ_SIDE = ("cat", "tail", "doctor", "fetch")


@pytest.mark.parametrize("command", READ_SIDE)
def test_every_option_has_help_that_says_what_it_does(command: str) -> None:
    """Each option and argument has help text of a few words, not its own name again, and
    `--help` shows it."""
    _, parsers = cli._parser()
    parser = parsers[command]
    shown = run(command, "--help")
    assert shown.returncode == 0
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        assert len(action.help.split()) >= 4, action.help
        assert action.help.split()[0] in " ".join(shown.stdout.split())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("cat", "--level", "bogus"), "invalid --level='bogus'; allowed: one of DEBUG"),
        (("cat", "--since", "yesterday"), "--since 'yesterday': give an ISO time"),
        (("cat", "--field", "x"), "--field 'x': give key=value"),
        (("cat", "--window", "-1"), "argument --window: '-1' is not a number of seconds >= 0"),
        (("cat", "--jobs", "0"), "argument --jobs: '0' is not a number of processes >= 1"),
        (("tail", "-n", "x"), "argument -n/--lines: 'x' is not a number of records >= 0"),
        (("tail", "--interval", "0"), "argument --interval: '0' is not a number of seconds > 0"),
        (("fetch", "--app", "a", "--jobs", "x"), "'x' is not a number of machines >= 1"),
        (("fetch", "--app", "a", "--timeout", "0"), "'0' is not a number of seconds > 0"),
        (("fetch",), "the following arguments are required: --app/-a"),
        (("doctor", "--stale-after", "q"), "'q' is not a number of seconds >= 0"),
    ],
)
def test_a_bad_value_names_the_option_the_value_and_what_is_allowed(
    args: tuple[str, ...], said: str
) -> None:
    """Usage errors: exit status 2, one line naming the cause, in the subcommand's words."""
    done = run(*args)
    assert done.returncode == 2
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"dual-log {args[0]}: error: ")
    assert said in last
