"""`careers-bot chat`: the real bot, talked to from a terminal, with nothing leaving the machine.

The same Application and handlers run against :class:`app.local_api.LocalBotApi` on 127.0.0.1;
what you type becomes a Telegram update, and what the bot sends is printed, with buttons shown as
numbered choices (type the number to press one; a number with no button says so).

Log lines go to a file (:func:`log_to_file`), never over the ``you>`` prompt. With readline
(:func:`enable_line_editing`) the arrow keys edit the line and bring back earlier ones, kept in a
history file next to the database. ``quit``, ``exit`` or Ctrl-D end the chat with a goodbye.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

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
HISTORY_LENGTH = 1000

INTRO = "careers-bot terminal chat: type a question, a number to press a button, or quit."
ADMIN_INTRO = ("You are an admin here: try /stats, /reload, /refresh, /broadcast followed by a "
               "message, and /testnotice.")
GOODBYE = "Goodbye!"
NO_BUTTONS = "There are no buttons to press just now: type your question in words."
NO_SUCH_BUTTON = "There is no button {number}: the buttons are 1 to {count}."


def chat_log_path(settings: Settings) -> Path:
    """Where the terminal chat writes its log: next to the database."""
    return settings.database_path.parent / "careers-bot-chat.log"


def history_path(settings: Settings) -> Path:
    """Where the terminal chat keeps what you typed, for the arrow keys."""
    return settings.database_path.parent / "careers-bot-chat-history"


def log_to_file(path: Path) -> None:
    """Send every log line to ``path`` instead of the terminal, with the same format and filters
    (secrets redacted) as the handlers it replaces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    for old in root.handlers:
        if old.formatter is not None:
            handler.setFormatter(old.formatter)
        for log_filter in old.filters:
            handler.addFilter(log_filter)
    root.handlers[:] = [handler]


def enable_line_editing(history: Path) -> Callable[[], None]:
    """Line editing and history for ``input()`` via readline, where Python has it; returns the
    function that saves the history (a no-op without readline)."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input still works
        return lambda: None
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(HISTORY_LENGTH)

    def save() -> None:
        try:
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)
        except OSError:
            pass

    return save


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
    *,
    admin: bool = False,
) -> None:
    """Run the bot against a local Bot API and relay a terminal conversation through it.

    With ``admin`` the intro lists the admin commands (the caller puts :data:`CHAT_ID` among
    the admins). Line editing is on when reading from a real terminal with ``input``.
    """
    save_history = (enable_line_editing(history_path(settings))
                    if read is input and sys.stdin.isatty() else (lambda: None))
    try:
        await _converse(settings, services, read, write, admin=admin)
    finally:
        save_history()


def button_problem(line: str, buttons: list[tuple[str, str]]) -> str | None:
    """What to say when a number typed to press a button matches none (None if it does)."""
    if not line.isdigit():
        return None
    if not buttons:
        return NO_BUTTONS
    if 1 <= int(line) <= len(buttons):
        return None
    return NO_SUCH_BUTTON.format(number=line, count=len(buttons))


async def _converse(settings: Settings, services: Services, read: Callable[[str], str],
                    write: Callable[[str], None], *, admin: bool) -> None:
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
            write(INTRO + (f"\n{ADMIN_INTRO}" if admin else "") + "\n")
            before = len(api.sent)
            api.push_text(CHAT_ID, "/start")
            await _wait_for_reply(api, before)
            loop = asyncio.get_running_loop()
            while True:
                try:
                    line = await loop.run_in_executor(None, read, "you> ")
                except (EOFError, KeyboardInterrupt):
                    write("\n" + GOODBYE)
                    break
                line = line.strip()
                if not line:
                    continue
                if line.lower() in QUIT_WORDS:
                    write(GOODBYE)
                    break
                problem = button_problem(line, buttons)
                if problem is not None:
                    write(problem + "\n")
                    continue
                before = len(api.sent)
                if line.isdigit():
                    api.push_callback(CHAT_ID, buttons[int(line) - 1][1])
                else:
                    buttons = []
                    api.push_text(CHAT_ID, line)
                await _wait_for_reply(api, before)
            await stop_local(application)
