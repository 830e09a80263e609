"""`careers-bot chat`: the real bot, talked to from a terminal, with nothing leaving the machine.

The same Application and handlers run against :class:`app.local_api.LocalBotApi` on 127.0.0.1;
what you type becomes a Telegram update, and what the bot sends is printed, with buttons shown as
numbered choices (type the number to press one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.application import build_application, start_local, stop_local
from app.local_api import LocalBotApi, SentMessage
from bot.config import Settings
from bot.render import html_to_plain
from bot.services import Services

CHAT_ID = 424242
LOCAL_TOKEN = "0:local-terminal-chat"
QUIT_WORDS = {"quit", "exit", "/quit", "/exit", "bye!"}
SETTLE_S = 0.15
REPLY_TIMEOUT_S = 10.0


def format_for_terminal(message: SentMessage) -> str:
    """A bot message as plain text, with its buttons numbered."""
    text = html_to_plain(message.text or "")
    if message.method == "editMessageReplyMarkup":
        text = "(choices updated)"
    choices = [label for label, _ in message.buttons]
    if choices:
        text += "\n" + "\n".join(f"  [{i}] {label}" for i, label in enumerate(choices, 1))
    return text


async def _wait_for_reply(api: LocalBotApi, before: int) -> None:
    """Wait for the first new message, then until the bot has been quiet for a moment."""
    try:
        await api.wait_for(lambda: len(api.sent) > before, REPLY_TIMEOUT_S)
    except TimeoutError:
        return
    count = -1
    while count != len(api.sent):
        count = len(api.sent)
        await asyncio.sleep(SETTLE_S)


async def terminal_chat(
    settings: Settings,
    services: Services,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> None:
    """Run the bot against a local Bot API and relay a terminal conversation through it."""
    async with LocalBotApi() as api:
        buttons: list[tuple[str, str]] = []

        def show(message: SentMessage) -> None:
            nonlocal buttons
            if message.chat_id != CHAT_ID:
                return
            write(format_for_terminal(message) + "\n")
            buttons = message.buttons or buttons

        api.on_sent(show)
        application = build_application(settings, services, token=LOCAL_TOKEN, base_url=api.base_url)
        async with application:
            await start_local(application)
            write("careers-bot terminal chat: type a question, a number to press a button, "
                  "or 'quit'.\n")
            before = len(api.sent)
            api.push_text(CHAT_ID, "/start")
            await _wait_for_reply(api, before)
            loop = asyncio.get_running_loop()
            while True:
                try:
                    line = await loop.run_in_executor(None, read, "you> ")
                except (EOFError, KeyboardInterrupt):
                    break
                line = line.strip()
                if not line:
                    continue
                if line.lower() in QUIT_WORDS:
                    break
                before = len(api.sent)
                if line.isdigit() and 1 <= int(line) <= len(buttons):
                    api.push_callback(CHAT_ID, buttons[int(line) - 1][1])
                else:
                    buttons = []
                    api.push_text(CHAT_ID, line)
                await _wait_for_reply(api, before)
            await stop_local(application)
