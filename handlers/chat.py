"""Student conversations: /start, /help, questions in their own words, and answer buttons."""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode

from bot.commands import closest_command
from bot.feedback import count_reply, record_rating
from bot.render import escape
from bot.reply import Reply
from bot.usage import log_unanswered, role_of
from telegram_io.context import Context, chat_memory
from telegram_io.send import NO_PREVIEW, send_reply

log = logging.getLogger(__name__)


def _remember(update: Update, context: Context) -> None:
    """Record first/last seen for private chats only: group members are never stored.
    Batched: written with the others about once a second (:class:`bot.usage.UsageBatch`)."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        context.bot_data.services.usage.touch_user(chat.id)


def _shown(context: Context, reply: Reply) -> None:
    """What every answer shown in a chat leaves behind: the chat's context for follow-ups, and
    a count by kind (and entry) for /stats and reports."""
    chat_memory(context).remember(reply)
    count_reply(context.bot_data.services.usage, reply.kind,
                reply.id if reply.kind == "answer" else None)


def welcome_for(update: Update, context: Context) -> Reply:
    """The welcome and main menu, worded for the role the chat gave with /role."""
    services = context.bot_data.services
    chat = update.effective_chat
    role = role_of(services.db, chat.id) if chat and chat.type == ChatType.PRIVATE else None
    return services.responder.welcome(role)


async def start(update: Update, context: Context) -> None:
    """Welcome the student and show the main menu; a deep link (``/start <entry-id>`` or
    ``/start occ-<OCC id>``, from a poster's link or QR code) opens that answer directly."""
    _remember(update, context)
    services = context.bot_data.services
    assert update.effective_chat is not None
    payload = context.args[0] if context.args else ""
    reply = services.responder.linked(payload) if payload else None
    if reply is None:
        reply = welcome_for(update, context)
    else:
        _shown(context, reply)
    await send_reply(context.bot, update.effective_chat.id, reply)


async def home_button(update: Update, context: Context) -> None:
    """ "Home" under a menu: the welcome message and its menu again."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    await send_reply(context.bot, update.effective_chat.id, welcome_for(update, context))


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


QUOTED_KINDS = ("answer", "clarify", "occupation")


async def answer_question(update: Update, context: Context) -> None:
    """Answer a question typed in the student's own words, in the context of the last answer
    when it is a follow-up ("and how much do they pay?")."""
    text = _question_text(update, context)
    if text is None:
        return
    _remember(update, context)
    services = context.bot_data.services
    reply = await context.bot_data.answer(text, chat_memory(context).current_topic())
    if reply.kind == "fallback":
        services.usage.log_unanswered(text[: services.settings.max_question_chars], reply.score)
    elif reply.kind == "safeguarding":
        # A count by category only: the text is never stored.
        services.usage.count_safeguarding_reply(reply.id or "unknown")
    _shown(context, reply)
    assert update.effective_chat is not None and update.effective_message is not None
    log.info("question answered kind=%s id=%s score=%.1f", reply.kind, reply.id, reply.score)
    quote = update.effective_message.message_id if reply.kind in QUOTED_KINDS else None
    await send_reply(context.bot, update.effective_chat.id, reply, quote=quote)


def _quoted(update: Update) -> Message | None:
    """The student's message that the pressed message replies to (Telegram keeps it)."""
    query = update.callback_query
    message = query.message if query is not None else None
    quoted = getattr(message, "reply_to_message", None)
    return quoted if isinstance(quoted, Message) else None


async def _log_miss_and_point_to_a_person(update: Update, context: Context, outcome: str,
                                          reply_key: str, entry_id: str | None = None) -> None:
    """After "Not helpful" or "None of these": log the question the tap was about (Telegram's
    copy of it, with what happened) and say where a person can help."""
    services = context.bot_data.services
    quoted = _quoted(update)
    if quoted is not None and quoted.text:
        log_unanswered(services.db, quoted.text[: services.settings.max_question_chars], 0.0,
                       outcome=outcome, entry_id=entry_id)
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id,
                     Reply("fallback", services.kb.message(reply_key)))


async def ask_button(update: Update, context: Context) -> None:
    """ "Ask a question" on the welcome menu: invite a question instead of a help text."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    responder = context.bot_data.services.responder
    example = escape(responder.examples("ask", 1)[0])
    await send_reply(context.bot, update.effective_chat.id,
                     Reply("answer", responder.kb.message("ask_prompt", example=example)))


async def rating_button(update: Update, context: Context) -> None:
    """ "Helpful" / "Not helpful" under an answer: keep the entry id and the time only; for
    "Not helpful", log the question (from Telegram's copy) for maintainers and point to a person."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.bot_data.services
    helpful, entry_id = query.data.startswith("r+"), query.data[3:]
    if entry_id not in services.kb.entries:
        await expired_button(update, context)
        return
    record_rating(services.db, entry_id, helpful)
    await query.answer(services.kb.message("rating_thanks"))
    if helpful:
        return
    await _log_miss_and_point_to_a_person(update, context, "not_helpful", "not_helpful_reply",
                                          entry_id)


async def unknown_command(update: Update, context: Context) -> None:
    """ "/ocupation vet", "/hepl": the closest command, never a knowledge answer."""
    text = _question_text(update, context)
    if not text or update.effective_chat is None:
        return
    kb = context.bot_data.services.kb
    typed = text.split()[0].split("@")[0]
    suggestion = closest_command(typed, list(kb.messages.get("commands") or {}))
    key = "unknown_command" if suggestion else "unknown_command_no_match"
    text = kb.message(key, command=escape(typed), suggestion=f"/{suggestion}")
    await send_reply(context.bot, update.effective_chat.id, Reply("fallback", text))


async def inline_query(update: Update, context: Context) -> None:
    """ "@bot t level pay" in any chat: offer matching answers (text and sources) to share."""
    query = update.inline_query
    if query is None:
        return
    services = context.bot_data.services
    text = query.query.strip()
    replies = services.responder.shareable(text) if text else []
    button_key = "inline_no_answer" if text and not replies else "inline_empty"
    await query.answer(
        [InlineQueryResultArticle(
            id=shared.id, title=shared.title, description=shared.description,
            input_message_content=InputTextMessageContent(
                shared.text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
         for shared in replies],
        cache_time=300, is_personal=False,
        button=None if replies else InlineQueryResultsButton(
            text=services.kb.message(button_key), start_parameter="inline"),
    )


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
    services = context.bot_data.services
    entry_id = query.data.removeprefix("ans:")
    if entry_id not in services.kb.entries:
        await expired_button(update, context)
        return
    await query.answer()
    assert update.effective_chat is not None
    reply = services.responder.entry_reply(entry_id)
    _shown(context, reply)
    # The pressed message's quote carries on, so "Not helpful" can still log the question.
    quoted = _quoted(update)
    await send_reply(context.bot, update.effective_chat.id, reply,
                     quote=quoted.message_id if quoted is not None else None)


async def none_of_these(update: Update, context: Context) -> None:
    """ "None of these": be honest, point to a person who can help, and log the question (from
    Telegram's copy of it) for maintainers."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await _log_miss_and_point_to_a_person(update, context, "none_of_these",
                                          "none_of_these_reply")


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
