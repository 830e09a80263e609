"""The per-user flood limit, applied before every other handler."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.reply import Reply
from telegram_io.context import Context
from telegram_io.send import send_reply


async def flood_check(update: Update, context: Context) -> None:
    """Let the message through, send one notice when over the limit, or drop it silently."""
    user = update.effective_user
    if user is None:
        return
    services = context.bot_data.services
    guard = context.bot_data.flood
    if guard is None:
        return
    verdict = guard.check(user.id)
    if verdict == "ok":
        return
    if verdict == "warn" and update.effective_chat is not None:
        await send_reply(context.bot, update.effective_chat.id,
                         Reply("fallback", services.kb.message("flood_notice")))
    if update.callback_query is not None:
        await update.callback_query.answer()
    raise ApplicationHandlerStop
