"""Turning a :class:`~bot.reply.Reply` into Telegram messages: the one place that builds inline
keyboards and sends or edits messages, for handlers and jobs alike."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.reply import Button, Reply

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
KEYBOARDS_KEPT = 1024


def markup(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Inline buttons, one keyboard row per row of buttons (None for no buttons)."""
    if not rows:
        return None
    return _keyboard(tuple(tuple(row) for row in rows))


@lru_cache(maxsize=KEYBOARDS_KEPT)
def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    """One keyboard per set of buttons: an answer's buttons repeat with every showing, and PTB's
    objects are immutable, so building them again (about 25 µs a reply) is kept for new ones."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])


async def send_reply(bot: Bot, chat_id: int, reply: Reply, *,
                     quote: int | None = None) -> list[Message]:
    """Send every part of the reply; the buttons go under the last part. ``quote``: the
    student's message the last part replies to, so a later "Not helpful" or "None of these"
    tap can log the question from Telegram's copy instead of the bot keeping it."""
    parts = reply.messages
    sent = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        keyboard = markup(reply.buttons) if last else None
        replying = (ReplyParameters(quote, allow_sending_without_reply=True)
                    if last and quote is not None else None)
        sent.append(await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML,
                                           reply_markup=keyboard, link_preview_options=NO_PREVIEW,
                                           reply_parameters=replying))
    return sent


async def send_document(bot: Bot, chat_id: int, filename: str, data: bytes,
                        caption: str | None = None) -> Message:
    """Send a file (a CSV for a school's records) with an optional HTML caption."""
    return await bot.send_document(chat_id, data, filename=filename, caption=caption,
                                   parse_mode=ParseMode.HTML)


async def edit_or_send(update: Update, bot: Bot, reply: Reply) -> None:
    """Replace the pressed message's text (and buttons) with the reply; send it as a new message
    if that message cannot be edited."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(reply.text, parse_mode=ParseMode.HTML,
                                          reply_markup=markup(reply.buttons),
                                          link_preview_options=NO_PREVIEW)
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
            log.debug("could not edit the message, sending a new one: %s", exc.message)
    assert update.effective_chat is not None
    await send_reply(bot, update.effective_chat.id, reply)
