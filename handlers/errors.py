"""The one error handler: log with the update id (never the message text), reply politely."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot.reply import Reply
from telegram_io.context import Context
from telegram_io.send import send_reply

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log the failure and tell the user something went wrong; the bot keeps running."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, NetworkError):
        log.warning("network error (update %s): %s", update_id, type(error).__name__)
        return
    log.error("error while handling update %s", update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None or isinstance(error, Forbidden):
        return
    try:
        kb = context.bot_data.services.kb
        await send_reply(context.bot, update.effective_chat.id, Reply("fallback", kb.message("error")))
    except Exception:  # the error reply itself must never raise out of the error handler
        log.warning("could not send the error reply for update %s", update_id)
