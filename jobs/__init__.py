"""Scheduled work on python-telegram-bot's JobQueue (APScheduler), registered in one place.

Every callback is thin: it takes the services from the typed ``bot_data`` and calls the same
plain functions in ``bot/`` that the CLI and the tests call.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from jobs.knowledge_reload import register_explorer_warmup, register_reload_job
from jobs.outbox import register_outbox_job
from jobs.refresh import register_refresh_job
from jobs.retention import register_retention_job
from jobs.review_reminder import register_review_reminder
from jobs.safeguarding_report import register_safeguarding_report
from jobs.usage import register_usage_job
from telegram_io.context import BotData


def register_jobs(application: Application[Any, Any, Any, Any, BotData, Any], *,
                  maps_refresh: bool = False) -> None:
    """Start every scheduled job. ``maps_refresh``: also the quarterly refresh and its catch-up
    (only the bot on Telegram refreshes; the terminal chat and tests do not)."""
    # Every 30 s by default: pick up maintainers' edits to knowledge/ without a restart.
    register_reload_job(application)
    # Every second: last seen and question counts, batched into one transaction.
    register_usage_job(application)
    # Daily at 03:30: delete old unanswered questions and long-inactive users.
    register_retention_job(application)
    # Daily at 08:00, only with a safeguarding contact: yesterday's counts by category.
    register_safeguarding_report(application)
    # Monthly on the 1st at 09:00, only with admins: entries due for review (bot/review.py).
    register_review_reminder(application)
    # Every 15 s: queue digests of versions stored elsewhere, deliver what is due.
    register_outbox_job(application)
    if maps_refresh:
        # Quarterly (CAREERS_BOT_MAPS_CRON), plus a catch-up shortly after start.
        register_refresh_job(application, application.bot_data.services.settings)
        # Once after start: encode the occupations for "Similar jobs" before anyone asks.
        register_explorer_warmup(application)
