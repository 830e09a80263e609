"""Picking up maintainers' edits to knowledge/ while the bot runs, without a restart."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.knowledge import KnowledgeError
from bot.services import services_from

log = logging.getLogger(__name__)


async def reload_if_changed(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reload when files changed; a broken edit is logged and the last good copy keeps serving."""
    services = services_from(context.bot_data)
    if not services.knowledge_changed():
        return
    try:
        services.reload_knowledge()
    except KnowledgeError as exc:
        log.warning("knowledge edit refused, still serving the last good copy:\n%s", exc)


def register_reload_job(application: Application) -> None:
    """Check knowledge/ every ``reload_interval_s`` seconds (0 turns it off)."""
    interval = services_from(application.bot_data).settings.reload_interval_s
    if interval <= 0 or application.job_queue is None:
        return
    application.job_queue.run_repeating(
        reload_if_changed,
        interval=interval,
        first=interval,
        name="knowledge-reload",
        job_kwargs={"id": "knowledge-reload", "replace_existing": True, "coalesce": True,
                    "max_instances": 1, "misfire_grace_time": int(interval)},
    )
