"""`facetrace`: every subcommand, nested ones included, describes every option it takes in its --help."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from devstack.cli import parser
from devstack.demo import serving_notes


def _commands(root: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(words, parser) for every subcommand under root, depth first."""
    for action in root._actions:  # argparse keeps no public list of subparsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(parser()))


def test_the_operator_commands_are_all_there():
    names = {" ".join(words) for words, _ in COMMANDS}
    assert {"migrate", "agency-add", "agency-list", "purge", "demo"} <= names


@pytest.mark.parametrize("words,command", COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_option_of_every_subcommand_says_what_it_is_for(words, command):
    # GIVEN a subcommand  WHEN its --help is printed
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        parser().parse_args([*words, "--help"])
    assert done.value.code == 0
    # THEN every option and argument it takes has a help text, and the help shows it
    for action in command._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue  # --help itself, the subcommands (tested on their own), and options kept only for old commands
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help and action.help.strip(), f"facetrace {' '.join(words)}: {name} has no help"
        assert name in out.getvalue()


def test_make_serve_says_where_the_database_is_and_how_to_onboard_into_it():
    notes = serving_notes("http://127.0.0.1:8123", "mysql://root@127.0.0.1:3306/facetrace_local_1", "agency-1")
    assert "Database: mysql://root@127.0.0.1:3306/facetrace_local_1" in notes
    assert "facetrace agency-add --name" in notes and "--db-url 'mysql://root@127.0.0.1:3306/facetrace_local_1'" in notes
    assert "http://127.0.0.1:8123/portal/agency.html" in notes and "agency-1" in notes
    assert "Outbox (the e-mails and text messages sent): http://127.0.0.1:8123/outbox" in notes
