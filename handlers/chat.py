"""Student conversations: /start, /help, questions in their own words, and answer buttons."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType

from bot.reply import Reply
from bot.usage import log_unanswered, record_safeguarding_reply
from telegram_io.context import Context, chat_memory
from telegram_io.send import send_reply

log = logging.getLogger(__name__)


def _remember(update: Update, context: Context) -> None:
    """Record first/last seen for private chats only: group members are never stored.
    Batched: written with the others about once a second (:class:`bot.usage.UsageBatch`)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        context.bot_data.services.usage.touch_user(chat.id)


async def start(update: Update, context: Context) -> None:
    """Welcome the student and show the main menu."""
    _remember(update, context)
    responder = context.bot_data.services.responder
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, responder.welcome())


async def home_button(update: Update, context: Context) -> None:
    """ "Home" under a menu: the welcome message and its menu again."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    responder = context.bot_data.services.responder
    await send_reply(context.bot, update.effective_chat.id, responder.welcome())


async def help_command(update: Update, context: Context) -> None:
    """List what the bot can do (the bot-help entry)."""
    _remember(update, context)
    responder = context.bot_data.services.responder
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, responder.entry_reply("bot-help"))


def _question_text(update: Update, context: Context) -> str | None:
    """The question in a message; in groups only when the bot is mentioned (mention removed)."""
    message = update.effective_message
    if message is None or message.text is None:
        return None
    if message.chat.type == ChatType.PRIVATE:
        return message.text
    mention = f"@{context.bot.username}".lower()
    if mention not in message.text.lower():
        return None
    start = message.text.lower().index(mention)
    return (message.text[:start] + message.text[start + len(mention):]).strip()


async def answer_question(update: Update, context: Context) -> None:
    """Answer a question typed in the student's own words."""
    text = _question_text(update, context)
    if text is None:
        return
    _remember(update, context)
    services = context.bot_data.services
    reply = services.responder.reply(text)
    if reply.kind == "fallback" and any(ch.isalnum() for ch in text):
        log_unanswered(services.db, text[: services.settings.max_question_chars], reply.score)
    elif reply.kind == "safeguarding":
        # A count by category only: the text is never stored.
        record_safeguarding_reply(services.db, reply.id or "unknown")
    if reply.listing:
        chat_memory(context).remember_listing(reply.listing)
    assert update.effective_chat is not None
    log.info("question answered kind=%s id=%s score=%.1f", reply.kind, reply.id, reply.score)
    await send_reply(context.bot, update.effective_chat.id, reply)


async def non_text(update: Update, context: Context) -> None:
    """Stickers, photos, voice notes…: say politely that only text works."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    kb = context.bot_data.services.kb
    await send_reply(context.bot, chat.id, Reply("fallback", kb.message("non_text")))


async def entry_button(update: Update, context: Context) -> None:
    """A menu, related-topic or "Did you mean" button: show that entry."""
    query = update.callback_query
    assert query is not None and query.data is not None
    responder = context.bot_data.services.responder
    entry_id = query.data.removeprefix("ans:")
    if entry_id not in responder.kb.entries:
        await expired_button(update, context)
        return
    await query.answer()
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, responder.entry_reply(entry_id))


async def none_of_these(update: Update, context: Context) -> None:
    """ "None of these": be honest and point to a person who can help."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    kb = context.bot_data.services.kb
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id,
                     Reply("fallback", kb.message("none_of_these_reply")))


async def expired_button(update: Update, context: Context) -> None:
    """Old or forged buttons: never fail, just say the button has expired."""
    query = update.callback_query
    if query is None:
        return
    kb = context.bot_data.services.kb
    await query.answer(kb.message("button_expired"), show_alert=False)
    if update.effective_chat is not None:
        await send_reply(context.bot, update.effective_chat.id,
                         Reply("fallback", kb.message("button_expired")))
