"""careers-bot chat: the terminal conversation around the real bot."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.terminal import CHAT_ID, GOODBYE, button_problem, log_to_file, terminal_chat
from bot.config import Settings
from bot.services import build_services


@pytest.fixture(autouse=True)
def close_log_files() -> Iterator[None]:
    """The chat's log file handler is closed before the runner's handlers come back."""
    yield
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.close()


def reader(lines: list[str], eof: bool = True) -> Callable[[str], str]:
    """input() that types ``lines``, then Ctrl-D (EOFError) if ``eof``."""
    feed: Iterator[str] = iter(lines)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read


async def chat(settings: Settings, lines: list[str], **kwargs: bool) -> list[str]:
    shown: list[str] = []
    await terminal_chat(settings, build_services(settings), reader(lines), shown.append, **kwargs)
    return shown


def test_a_number_with_no_matching_button_says_so() -> None:
    buttons = [("A", "a"), ("B", "b")]
    assert button_problem("2", buttons) is None
    assert button_problem("5", buttons) == "There is no button 5: the buttons are 1 to 2."
    assert "no buttons" in (button_problem("1", []) or "")
    assert button_problem("what is 16", []) is None


async def test_quit_and_ctrl_d_say_goodbye(real_settings: Settings) -> None:
    assert (await chat(real_settings, ["quit"]))[-1] == GOODBYE
    assert (await chat(real_settings, []))[-1].strip() == GOODBYE


async def test_typing_a_number_with_no_button_is_not_sent_as_a_question(
        real_settings: Settings) -> None:
    shown = await chat(real_settings, ["9", "quit"])
    assert any("There is no button 9: the buttons are 1 to 5." in line for line in shown)
    assert not any("I don't know" in line for line in shown)


async def test_admin_mode_lets_the_local_user_run_admin_commands(real_settings: Settings) -> None:
    admin = real_settings.model_copy(update={"admin_ids": frozenset({CHAT_ID})})
    shown = await chat(admin, ["/stats", "quit"], admin=True)
    assert any("/stats" in line for line in shown[:2])  # the intro lists them
    assert any("Subscribers" in line or "subscribers" in line for line in shown)


def test_log_lines_go_to_a_file_not_the_terminal(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "chat.log"
    log_to_file(path)
    logging.getLogger("careers_bot.test").warning("refresh failed: network down")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "refresh failed" in path.read_text()
    assert "refresh failed" not in capsys.readouterr().err


def test_chat_admin_flag_reaches_the_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def fake_chat(settings: Settings, services: object, *, admin: bool) -> None:
        seen.update(admins=settings.admin_ids, admin=admin)

    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setattr("app.terminal.terminal_chat", fake_chat)
    monkeypatch.setattr("app.cli._services", lambda settings: None)
    assert main(["chat", "--admin"]) == 0
    assert seen["admin"] is True and CHAT_ID in seen["admins"]  # type: ignore[operator]
    assert (tmp_path / "careers-bot-chat.log").exists()
