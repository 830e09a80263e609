"""Writing the per-message bookkeeping (last seen, question counts) about once a second, in one
transaction, instead of two transactions on the event loop for every message."""

from __future__ import annotations

import logging

from telegram.ext import Application

from jobs.scheduling import job_kwargs
from telegram_io.context import Context

log = logging.getLogger(__name__)


async def flush_usage(context: Context) -> None:
    """Write what :class:`bot.usage.UsageBatch` holds (a failed write keeps it for next time)."""
    try:
        context.bot_data.services.usage.flush()
    except Exception:  # a locked or full disk: kept in memory, tried again next time
        log.warning("could not write usage bookkeeping; will retry", exc_info=True)


def register_usage_job(application: Application) -> None:
    """Every ``usage_flush_interval_s`` seconds (the bot also flushes when it stops)."""
    if application.job_queue is None:
        return
    interval = application.bot_data.services.settings.usage_flush_interval_s
    application.job_queue.run_repeating(
        flush_usage,
        interval=interval,
        first=interval,
        name="usage-flush",
        job_kwargs=job_kwargs("usage-flush", misfire_grace_s=max(1, int(interval * 10))),
    )
