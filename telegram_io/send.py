"""Turning a :class:`~bot.answering.responder.Reply` into Telegram messages."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode

from bot.answering.responder import Reply

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline buttons for the reply, one row per row of :attr:`Reply.buttons`."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> list[Message]:
    """Send every part of the reply; the buttons go under the last part."""
    parts = reply.messages
    sent = []
    for index, part in enumerate(parts):
        markup = keyboard(reply) if index == len(parts) - 1 else None
        sent.append(
            await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        )
    return sent
