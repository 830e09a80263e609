"""A daily, anonymous count of safeguarding replies for the configured safeguarding contact."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.usage import safeguarding_counts
from jobs.scheduling import job_kwargs
from telegram_io.context import Context

log = logging.getLogger(__name__)
RUN_AT = dt.time(8, 0)


async def send_safeguarding_count(context: Context) -> None:
    """Tell the contact how many times yesterday the bot showed help lines, by category:
    numbers only, no text."""
    services = context.bot_data.services
    contact = services.settings.safeguarding_contact_id
    if contact is None:
        return
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    services.usage.flush()  # the last second's replies are still batched
    counts = safeguarding_counts(services.db, yesterday)
    by_category = ", ".join(f"{category} {n}" for category, n in counts.items()) or "none"
    text = services.kb.message("safeguarding_count", day=yesterday.isoformat(),
                               count=sum(counts.values()), by_category=by_category)
    try:
        await context.bot.send_message(contact, text)
    except Exception:  # a missing contact must not break the job queue
        log.warning("could not send the safeguarding count to the configured contact")


def register_safeguarding_report(application: Application) -> None:
    """Daily at 08:00 in the bot's time zone, only when a contact is configured."""
    services = application.bot_data.services
    if application.job_queue is None or services.settings.safeguarding_contact_id is None:
        return
    application.job_queue.run_daily(
        send_safeguarding_count,
        time=RUN_AT.replace(tzinfo=ZoneInfo(services.settings.timezone)),
        name="safeguarding-count",
        job_kwargs=job_kwargs("safeguarding-count", misfire_grace_s=6 * 3600),
    )
