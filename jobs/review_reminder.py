"""Once a month, tell the admins which knowledge base entries are due for review.

The rules are :mod:`bot.review`'s, the same as ``careers-bot kb check --stale``: an entry reviewed
more than ``CAREERS_BOT_REVIEW_MAX_AGE_MONTHS`` ago, or one stating a money figure from before the
last 1 April or a course fact from before the last 1 September. Nothing due, nothing sent: admins
hear from this job only when there is work to do.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from telegram.ext import Application

from bot.reply import Reply
from bot.review import admin_summary, review_report
from jobs.scheduling import job_kwargs
from telegram_io.context import Context
from telegram_io.send import send_reply

log = logging.getLogger(__name__)
JOB_ID = "review-reminder"
RUN_AT = dt.time(9, 0)
DAY_OF_MONTH = 1


async def send_review_reminder(context: Context) -> None:
    """Send every admin the list of entries due for review, if there are any."""
    services = context.bot_data.services
    settings = services.settings
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    report = review_report(services.kb.entries.values(), today, settings.review_max_age_months)
    text = admin_summary(report, services.kb.texts)
    if text is None:
        log.info("review reminder: no entry is due for review")
        return
    log.info("review reminder: %d entries due; telling %d admin(s)", len(report.due_ids),
             len(settings.admin_ids))
    for chat_id in sorted(settings.admin_ids):
        try:
            await send_reply(context.bot, chat_id, Reply("answer", text))
        except Exception:  # one unreachable admin must not stop the others or the job queue
            log.warning("review reminder: could not message admin %s", chat_id)


def register_review_reminder(application: Application) -> None:
    """On the 1st of each month at 09:00 in the bot's time zone, when there are admins; a run
    missed while the bot was down is made up within a day."""
    settings = application.bot_data.services.settings
    if application.job_queue is None or not settings.admin_ids:
        return
    application.job_queue.run_monthly(
        send_review_reminder,
        when=RUN_AT.replace(tzinfo=ZoneInfo(settings.timezone)),
        day=DAY_OF_MONTH,
        name=JOB_ID,
        job_kwargs=job_kwargs(JOB_ID, misfire_grace_s=24 * 3600),
    )
