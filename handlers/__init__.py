"""Telegram in, Telegram out: every handler, registered in one place.

Handlers read the update, call plain functions in ``bot/`` and send what they return through
:mod:`telegram_io.send`. They run no SQL of their own.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import admin, alerts, alerts_admin, chat, errors, flood, occupations, privacy
from telegram_io.context import BotData


def register_handlers(application: Application[Any, Any, Any, Any, BotData, Any]) -> None:
    """Register all handlers. Group 0 holds the conversation; order within it matters."""
    add = application.add_handler
    private = filters.ChatType.PRIVATE

    # Group -1 runs first for every update: the flood limit can stop anything after it.
    add(TypeHandler(Update, flood.flood_check), group=-1)

    # Commands for everyone.
    add(CommandHandler("start", chat.start))
    add(CommandHandler("help", chat.help_command))
    add(CommandHandler("privacy", privacy.privacy))
    add(CommandHandler("forget", privacy.forget))
    add(CommandHandler("occupation", occupations.occupation_command))
    add(CommandHandler("routes", occupations.routes_command))
    add(CommandHandler("about", occupations.about))
    add(CommandHandler("changes", alerts.changes_command))
    # Alerts belong to a person: in a group any member could press the buttons.
    add(CommandHandler("subscribe", alerts.subscribe_command, filters=private))
    add(CommandHandler("subscriptions", alerts.subscriptions_command, filters=private))
    add(CommandHandler("unsubscribe", alerts.unsubscribe_command, filters=private))
    add(CommandHandler(["subscribe", "subscriptions", "unsubscribe"], alerts.private_chat_only,
                       filters=~private))
    # Admin commands (each refuses non-admins itself, and logs who used it).
    add(CommandHandler("reload", admin.reload))
    add(CommandHandler("refresh", admin.refresh))
    add(CommandHandler("stats", alerts_admin.stats_command))
    add(CommandHandler("broadcast", alerts_admin.broadcast_command))
    add(CommandHandler("testnotice", alerts_admin.testnotice_command))

    # Buttons: each pattern is exact, so old or forged data falls through to the last one.
    add(CallbackQueryHandler(chat.entry_button, pattern=r"^ans:[a-z0-9-]{1,60}$"))
    add(CallbackQueryHandler(chat.none_of_these, pattern=r"^none$"))
    add(CallbackQueryHandler(privacy.forget_button, pattern=r"^forget:(yes|no)$"))
    add(CallbackQueryHandler(admin.refresh_force_button, pattern=r"^refresh:force$"))
    add(CallbackQueryHandler(chat.home_button, pattern=r"^home$"))
    add(CallbackQueryHandler(occupations.occupation_button,
                             pattern=r"^occ(rel|det)?:OCC[0-9A-Z]{1,12}$"))
    add(CallbackQueryHandler(occupations.more_button, pattern=r"^more:[0-9]{1,3}$"))
    add(CallbackQueryHandler(occupations.routes_command, pattern=r"^routes$"))
    add(CallbackQueryHandler(occupations.route_button,
                             pattern=r"^route:[0-9]{1,3}(:[0-9]{1,2}:[0-9]{1,3})?$"))
    add(CallbackQueryHandler(alerts.subscribe_button, pattern=alerts.SUB_PATTERN))
    add(CallbackQueryHandler(alerts.unsubscribe_button, pattern=alerts.UNSUB_PATTERN))
    add(CallbackQueryHandler(alerts.changes_button, pattern=alerts.CHG_PATTERN))
    add(CallbackQueryHandler(alerts_admin.broadcast_button, pattern=alerts_admin.BROADCAST_PATTERN))
    # Last among buttons: anything unknown, old or forged.
    add(CallbackQueryHandler(chat.expired_button))

    # Messages: a question in the student's own words.
    add(MessageHandler(filters.TEXT & ~filters.COMMAND, chat.answer_question))
    # Unknown commands are treated as questions ("/apprenticeships" is a fair thing to type).
    add(MessageHandler(filters.COMMAND, chat.answer_question))
    add(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, chat.non_text))
    # Group 1, after the answer is sent: count a private question for /stats (no text kept).
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & private, alerts_admin.count_question_handler),
        group=1)

    application.add_error_handler(errors.on_error)
