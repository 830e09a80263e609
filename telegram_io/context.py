"""Typed state for handlers and jobs, through python-telegram-bot's ``ContextTypes``.

``context.bot_data`` is a :class:`BotData`, not a dict of string keys: the services (settings,
database, responder), the flood guard, the cache of change lists for /changes, the outbox
sender's wake-up, and the thread that works out typed questions' answers.
``context.chat_data`` is a :class:`ChatData`.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.alerts.digest import ChangeContexts
from bot.answering.followup import CONTEXT_SECONDS, Topic, topic_of
from bot.flood import FloodGuard
from bot.reply import Reply
from bot.services import Services


class Waker(Protocol):
    """Something that can be asked to start work now (the outbox sender)."""

    def kick(self) -> None: ...


class BotData:
    """Everything long-lived that handlers and jobs share, set up by
    :func:`app.application.build_application`."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self.flood: FloodGuard | None = None
        self.changes = ChangeContexts()
        self.outbox: Waker | None = None
        # One thread works out typed questions' answers (see :meth:`answer`).
        self._answering = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answering")

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the application was built without services")
        return self._services

    @services.setter
    def services(self, services: Services) -> None:
        self._services = services
        self.flood = FloodGuard(services.settings.flood_limit_per_minute)

    async def answer(self, text: str, topic: Topic | None) -> Reply:
        """The responder's reply to a typed question, worked out on the answering thread.
        The sentence encoder and numpy release the GIL, so meanwhile the event loop goes on
        parsing updates and sending replies (``bench/throughput.py``, README "Scale"). One
        thread: the answers' own work stays one core's worth and in arrival order, and a second
        one measured 0.4-1.3 ms more CPU per update, its Python waiting on the GIL."""
        return await asyncio.get_running_loop().run_in_executor(
            self._answering, self.services.responder.reply, text, topic)

    def close(self) -> None:
        """Stop the answering thread once the answer it is working on is done."""
        self._answering.shutdown(wait=True, cancel_futures=True)

    def wake_outbox(self) -> bool:
        """Ask the sender to deliver what is due now; False if no sender runs here."""
        if self.outbox is None:
            return False
        self.outbox.kick()
        return True


@dataclass
class ChatData:
    """Per-chat state, kept in memory only and never message text: the ids behind the last
    paged list of jobs (for "More"), and what the last answer was about, for
    :data:`~bot.answering.followup.CONTEXT_SECONDS` (for follow-ups). /forget clears it."""

    listing: tuple[str, ...] = ()
    topic: Topic | None = None
    topic_at: float = 0.0

    def remember(self, reply: Reply, now: float | None = None) -> None:
        """Keep what a reply shown to this chat was about (replies about nothing keep the
        earlier topic: "thanks" does not end the conversation)."""
        if reply.listing:
            self.listing = reply.listing
        topic = topic_of(reply)
        if topic is not None:
            self.topic, self.topic_at = topic, time.monotonic() if now is None else now

    def current_topic(self, now: float | None = None) -> Topic | None:
        """The last answer's topic, if it is recent enough to be the context."""
        moment = time.monotonic() if now is None else now
        if self.topic is not None and moment - self.topic_at > CONTEXT_SECONDS:
            self.topic = None
        return self.topic

    def forget(self) -> None:
        self.listing, self.topic, self.topic_at = (), None, 0.0


Context = CallbackContext[ExtBot[None], dict[object, object], ChatData, BotData]
CONTEXT_TYPES = ContextTypes(chat_data=ChatData, bot_data=BotData)


def chat_memory(context: Context) -> ChatData:
    """This chat's state; updates without a chat (inline queries) get a throwaway one."""
    return context.chat_data if context.chat_data is not None else ChatData()
