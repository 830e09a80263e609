"""The command line explains itself: --version, and --help for every command."""

from __future__ import annotations

import argparse
import re

import pytest

from app.cli import build_parser, main


def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.extend(every_parser(child))
    return found


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert re.fullmatch(r"careers-bot \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


@pytest.mark.parametrize("parser", every_parser(build_parser()), ids=lambda p: p.prog)
def test_every_argument_of_every_command_is_explained(parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "`" not in text
    assert parser.description
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            assert action.help, f"{parser.prog}: {action.dest} has no help"


def help_of(*words: str) -> str:
    for parser in every_parser(build_parser()):
        if parser.prog == " ".join(("careers-bot", *words)):
            return " ".join(parser.format_help().split())
    raise AssertionError(words)


def test_the_main_help_says_chat_is_the_default() -> None:
    assert "With no command, careers-bot starts the terminal chat" in help_of()
    assert "chat talk to the bot in this terminal (the default" in help_of()


def test_ask_help_mentions_the_dash_for_stdin() -> None:
    assert "or - to read one question per line from standard input" in help_of("ask")


def test_eval_help_explains_the_file_format() -> None:
    text = help_of("eval")
    assert '{"q": QUESTION, "expect": LABEL}' in text and "JSON Lines" in text
    assert "safeguarding[:CATEGORY]" in text and "occupation:OCC1|OCC2" in text


def test_kb_misses_help_explains_limit() -> None:
    assert "--limit N show at most N groups (default: 30)" in help_of("kb", "misses")


def test_changes_help_explains_versions_and_csv() -> None:
    text = help_of("changes")
    assert "--from V the older version" in text and "--csv print CSV" in text
