"""Telegram in, Telegram out: every handler, registered in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import admin, alerts, chat, errors, flood, occupations, privacy


def register_handlers(application: Application) -> None:
    """Register all handlers. Group 0 holds the conversation; order within it matters."""
    # Group -1 runs first for every update: the flood limit can stop anything after it.
    application.add_handler(TypeHandler(Update, flood.flood_check), group=-1)

    application.add_handler(CommandHandler("start", chat.start))
    application.add_handler(CommandHandler("help", chat.help_command))
    application.add_handler(CommandHandler("privacy", privacy.privacy))
    application.add_handler(CommandHandler("forget", privacy.forget))
    application.add_handler(CommandHandler("occupation", occupations.occupation_command))
    application.add_handler(CommandHandler("routes", occupations.routes_command))
    application.add_handler(CommandHandler("about", occupations.about))
    application.add_handler(CommandHandler("reload", admin.reload))
    application.add_handler(CommandHandler("refresh", admin.refresh))
    # Alerts add their commands and buttons here: before every catch-all below.
    alerts.register_alert_handlers(application)

    application.add_handler(CallbackQueryHandler(chat.entry_button, pattern=r"^ans:[a-z0-9-]{1,60}$"))
    application.add_handler(CallbackQueryHandler(chat.none_of_these, pattern=r"^none$"))
    application.add_handler(CallbackQueryHandler(privacy.forget_button, pattern=r"^forget:(yes|no)$"))
    application.add_handler(CallbackQueryHandler(admin.refresh_force_button, pattern=r"^refresh:force$"))
    application.add_handler(CallbackQueryHandler(occupations.occupation_button,
                                                 pattern=r"^occ(rel)?:OCC[0-9A-Z]{1,12}$"))
    application.add_handler(CallbackQueryHandler(occupations.route_button,
                                                 pattern=r"^route:[0-9]{1,3}(:[0-9]{1,2}:[0-9]{1,3})?$"))
    # Last among buttons: anything unknown, old or forged.
    application.add_handler(CallbackQueryHandler(chat.expired_button))

    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, chat.answer_question))
    # Unknown commands are treated as questions ("/apprenticeships" is a fair thing to type).
    application.add_handler(MessageHandler(filters.COMMAND, chat.answer_question))
    application.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, chat.non_text))

    application.add_error_handler(errors.on_error)
