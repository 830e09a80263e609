"""The bot survives a misbehaving Bot API, a locked database and SIGTERM; logs stay private."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from telegram.ext import Application

from app.local_api import LocalBotApi
from bot.config import Settings
from tests.conftest import REAL_KB, TOKEN

CHAT = 7001
ROOT = Path(__file__).resolve().parent.parent


async def test_polling_recovers_after_500s_and_garbage(bot: Application, local_api: LocalBotApi) -> None:
    local_api.inject("500", "garbage", "500", polling=True)
    local_api.push_text(CHAT, "apprentice pay")
    [reply] = await local_api.wait_for_messages(CHAT, 1, timeout=30)
    assert "Last reviewed" in reply.text


async def test_polling_recovers_after_a_timeout(bot: Application, local_api: LocalBotApi) -> None:
    local_api.slow_s = 8.0  # longer than PTB's read timeout for a 1-second long poll
    local_api.inject("slow", polling=True)
    local_api.push_text(CHAT, "apprentice pay")
    [reply] = await local_api.wait_for_messages(CHAT, 1, timeout=40)
    assert "Last reviewed" in reply.text


async def test_a_failed_send_is_logged_and_the_bot_keeps_answering(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.inject("500")
    local_api.push_text(CHAT, "apprentice pay")
    local_api.push_text(CHAT + 1, "wot is a tlevel")
    [reply] = await local_api.wait_for_messages(CHAT + 1, 1)
    assert "T Level" in reply.text


async def test_a_locked_database_is_waited_for_not_fatal(
    bot: Application, local_api: LocalBotApi, real_settings: Settings
) -> None:
    locker = sqlite3.connect(real_settings.database_path, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.5, locker.rollback)
    release.start()
    try:
        local_api.push_text(CHAT, "apprentice pay")
        [reply] = await local_api.wait_for_messages(CHAT, 1, timeout=15)
        # The batched bookkeeping waits for the lock too, and then is written.
        bot.bot_data.services.usage.flush()
    finally:
        release.join()
        locker.close()
    assert "Last reviewed" in reply.text
    assert bot.bot_data.services.db["users"].get(CHAT)["chat_id"] == CHAT


async def test_info_logs_never_contain_message_text_or_the_token(
    bot: Application, local_api: LocalBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    local_api.push_text(CHAT, "zebra secret question about pizza")
    local_api.push_text(CHAT, "i want to die")
    await local_api.wait_for_messages(CHAT, 2)
    logged = caplog.text
    assert "zebra" not in logged and "want to die" not in logged
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged


def test_the_token_is_redacted_even_in_error_text(capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import setup_logging

    settings = Settings(_env_file=None, telegram_bot_token=TOKEN)  # type: ignore[call-arg]
    setup_logging(settings)
    logging.getLogger("test").error("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err and "[redacted]" in err


async def test_group_messages_are_answered_only_when_the_bot_is_mentioned(
    bot: Application, local_api: LocalBotApi
) -> None:
    group = -100123
    local_api.push_text(group, "apprentice pay", chat_type="supergroup", user_id=55)
    local_api.push_text(group, "@careers_test_bot wot is a tlevel", chat_type="supergroup", user_id=56)
    [reply] = await local_api.wait_for_messages(group, 1)
    assert "T Level" in reply.text
    assert bot.bot_data.services.db["users"].count == 0


async def test_a_very_long_message_is_truncated_and_answered(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "how much do apprentices get paid " + "blah " * 800)
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert len(reply.text) <= 4096


def _bot_env(api: LocalBotApi, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `careers-bot run` subprocess talking to the local Bot API."""
    return {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "CAREERS_BOT_TELEGRAM_BASE_URL": api.base_url,
            "CAREERS_BOT_DATABASE_PATH": str(tmp_path / "bot.db"),
            "CAREERS_BOT_KNOWLEDGE_DIR": str(REAL_KB), **extra}


async def _run_until_answered_then_sigterm(args: list[str], env: dict[str, str], tmp_path: Path,
                                           drive: Callable[[], Awaitable[None]]) -> tuple[int, str]:
    """Start the bot, let ``drive`` get an answer out of it, send SIGTERM, return (code, output)."""
    import asyncio

    with subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            await drive()
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.to_thread(process.communicate, timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        return process.returncode, output


def test_sigterm_stops_the_bot_gracefully(tmp_path: Path) -> None:
    import asyncio

    async def run() -> tuple[int, str]:
        async with LocalBotApi() as api:
            async def drive() -> None:
                await api.wait_for(lambda: "getUpdates" in api.calls, timeout=30)
                api.push_text(CHAT, "apprentice pay")
                await api.wait_for_messages(CHAT, 1, timeout=15)

            env = _bot_env(api, tmp_path, CAREERS_BOT_MAPS_SOURCE=str(tmp_path / "none.jsonl"))
            return await _run_until_answered_then_sigterm(["run"], env, tmp_path, drive)

    code, output = asyncio.run(run())
    assert code == 0, output
    assert "Application.stop() complete" in output
    assert "Traceback" not in output


async def test_oversized_or_malformed_button_data_has_expired(bot: Application, local_api: LocalBotApi) -> None:
    for data in ("x" * 100, "occ:../../etc", "route:1:99:999", "ans:", "sub:\u202e"):
        local_api.push_callback(CHAT, data)
    replies = await local_api.wait_for_messages(CHAT, 5)
    assert all("That button has expired" in r.text for r in replies)


async def test_emoji_only_and_control_characters_get_a_friendly_prompt(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "🙂🙂🙂")
    local_api.push_text(CHAT + 2, "\x01\x02 <b>&</b>")
    [emoji] = await local_api.wait_for_messages(CHAT, 1)
    [control] = await local_api.wait_for_messages(CHAT + 2, 1)
    assert emoji.text.startswith("Please type a question in words")
    assert "Last reviewed" not in control.text


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_webhook_mode_registers_its_url_and_answers_posted_updates(tmp_path: Path) -> None:
    import asyncio
    import json

    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"

    async def run() -> tuple[int, str, str | None]:
        async with LocalBotApi() as api:
            async def drive() -> None:
                await api.wait_for(lambda: api.webhook_url == url, timeout=30)
                update = {"update_id": 1, "message": {
                    "message_id": 1, "date": 0, "text": "apprentice pay",
                    "chat": {"id": CHAT, "type": "private"},
                    "from": {"id": CHAT, "is_bot": False, "first_name": "S"}}}
                async with httpx.AsyncClient() as client:
                    for _ in range(50):
                        try:
                            await client.post(url, content=json.dumps(update), headers={
                                "X-Telegram-Bot-Api-Secret-Token": "s3cret-hook",
                                "Content-Type": "application/json"})
                            break
                        except httpx.TransportError:
                            await asyncio.sleep(0.2)
                await api.wait_for_messages(CHAT, 1, timeout=15)

            env = _bot_env(api, tmp_path, CAREERS_BOT_WEBHOOK_LISTEN="127.0.0.1",
                           CAREERS_BOT_WEBHOOK_PORT=str(port), CAREERS_BOT_WEBHOOK_URL=url,
                           CAREERS_BOT_WEBHOOK_SECRET="s3cret-hook")
            code, output = await _run_until_answered_then_sigterm(["run", "--webhook"], env, tmp_path, drive)
            return code, output, api.webhook_secret

    code, output, secret = asyncio.run(run())
    assert code == 0, output
    assert secret == "s3cret-hook"
    assert "Traceback" not in output
