"""Privacy in chat: /privacy explains, /forget deletes after one confirm tap."""

from __future__ import annotations

import logging

from telegram import Update

from bot.privacy import forget_chat
from bot.reply import Button, Reply
from telegram_io.context import Context, chat_memory
from telegram_io.send import send_reply

log = logging.getLogger(__name__)


async def privacy(update: Update, context: Context) -> None:
    """What the bot stores and for how long (the privacy entry)."""
    responder = context.bot_data.services.responder
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, responder.entry_reply("privacy"))


async def forget(update: Update, context: Context) -> None:
    """Ask for one confirm tap before deleting."""
    kb = context.bot_data.services.kb
    buttons = ((Button(kb.message("forget_yes"), "forget:yes"),
                Button(kb.message("forget_no"), "forget:no")),)
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id,
                     Reply("answer", kb.message("forget_confirm"), buttons=buttons))


async def forget_button(update: Update, context: Context) -> None:
    """Delete everything tied to this chat, or do nothing, and say which."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    services = context.bot_data.services
    if query.data == "forget:yes":
        services.usage.forget(update.effective_chat.id)  # nothing waiting brings it back
        deleted = forget_chat(services.db, update.effective_chat.id)
        chat_memory(context).forget()
        log.info("forget: deleted %d rows for a chat", deleted)
        text = services.kb.message("forget_done")
    else:
        text = services.kb.message("forget_cancelled")
    await send_reply(context.bot, update.effective_chat.id, Reply("answer", text))
