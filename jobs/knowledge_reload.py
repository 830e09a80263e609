"""Picking up maintainers' edits to knowledge/ while the bot runs, without a restart."""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.knowledge import KnowledgeError
from jobs.scheduling import job_kwargs
from telegram_io.context import Context

log = logging.getLogger(__name__)


async def reload_if_changed(context: Context) -> None:
    """Reload when files changed; a broken edit is logged and the last good copy keeps serving."""
    services = context.bot_data.services
    if not services.knowledge_changed():
        return
    try:
        services.reload_knowledge()
    except KnowledgeError as exc:
        log.warning("knowledge edit refused, still serving the last good copy:\n%s", exc)


def register_reload_job(application: Application) -> None:
    """Check knowledge/ every ``reload_interval_s`` seconds (0 turns it off)."""
    interval = application.bot_data.services.settings.reload_interval_s
    if interval <= 0 or application.job_queue is None:
        return
    application.job_queue.run_repeating(
        reload_if_changed,
        interval=interval,
        first=interval,
        name="knowledge-reload",
        job_kwargs=job_kwargs("knowledge-reload", misfire_grace_s=int(interval)),
    )
