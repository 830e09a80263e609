"""The daily privacy clean-up: old unanswered questions and long-inactive users go."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.privacy import purge_expired
from jobs.scheduling import job_kwargs
from telegram_io.context import Context

log = logging.getLogger(__name__)
RUN_AT = dt.time(3, 30)


async def purge_job(context: Context) -> None:
    """Delete what the retention settings say is too old."""
    services = context.bot_data.services
    settings = services.settings
    report = purge_expired(
        services.db,
        now=dt.datetime.now(dt.UTC),
        unanswered_days=settings.unanswered_retention_days,
        inactive_days=settings.inactive_user_retention_days,
    )
    if context.bot_data.flood is not None:
        context.bot_data.flood.forget_idle()
    log.info("retention: deleted %d unanswered questions, %d inactive users",
             report.unanswered, report.users)


def register_retention_job(application: Application) -> None:
    """Every day at 03:30 (bot's time zone); a missed run is caught up within 12 hours."""
    if application.job_queue is None:
        return
    tz = ZoneInfo(application.bot_data.services.settings.timezone)
    application.job_queue.run_daily(
        purge_job,
        time=RUN_AT.replace(tzinfo=tz),
        name="retention",
        job_kwargs=job_kwargs("retention", misfire_grace_s=12 * 3600),
    )
