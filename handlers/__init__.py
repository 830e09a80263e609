"""Telegram in, Telegram out: every handler, registered in one place."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import admin, chat, errors


def register_handlers(application: Application) -> None:
    """Register all handlers. Group 0 holds the conversation; order within it matters."""
    application.add_handler(CommandHandler("start", chat.start))
    application.add_handler(CommandHandler("help", chat.help_command))
    application.add_handler(CommandHandler("reload", admin.reload))

    application.add_handler(CallbackQueryHandler(chat.entry_button, pattern=r"^ans:[a-z0-9-]{1,60}$"))
    application.add_handler(CallbackQueryHandler(chat.none_of_these, pattern=r"^none$"))
    # Last among buttons: anything unknown, old or forged.
    application.add_handler(CallbackQueryHandler(chat.expired_button))

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, chat.answer_question))
    # Unknown commands are treated as questions ("/apprenticeships" is a fair thing to type).
    application.add_handler(MessageHandler(filters.COMMAND, chat.answer_question))
    application.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, chat.non_text))

    application.add_error_handler(errors.on_error)
