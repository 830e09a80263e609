"""Picking up what changed on disk while the bot runs, without a restart: maintainers' edits to
knowledge/, and a map version stored by ``careers-bot refresh`` in another process."""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application

from bot.knowledge import KnowledgeError
from jobs.scheduling import job_kwargs
from telegram_io.context import Context

log = logging.getLogger(__name__)


async def reload_if_changed(context: Context) -> None:
    """Reload when files changed (a broken edit is logged and the last good copy keeps serving),
    and search a map version another process stored (``careers-bot refresh``)."""
    services = context.bot_data.services
    # Building a responder takes a few hundred milliseconds of Python: off the event loop,
    # students' replies go on meanwhile.
    if services.knowledge_changed():
        try:
            await asyncio.to_thread(services.reload_knowledge)
        except KnowledgeError as exc:
            log.warning("knowledge edit refused, still serving the last good copy:\n%s", exc)
    version = services.newer_maps_version()
    if version is not None:
        index = await asyncio.to_thread(services.load_maps_version, version)
        await asyncio.to_thread(services.set_occupations, index, version)
        context.bot_data.changes.clear()
        log.info("occupational maps: now searching version %s, stored by another process", version)


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


async def warm_explorer(context: Context) -> None:
    """Encode the occupations for "Similar jobs" and interest searches in a worker thread."""
    explorer = context.bot_data.services.responder.explorer
    if explorer is not None:
        count = await asyncio.to_thread(explorer.warm)
        log.info("occupational maps: %d occupations ready for similar jobs and interests", count)


def register_explorer_warmup(application: Application) -> None:
    """Once, just after start (the bot on Telegram only: the terminal chat and tests skip it)."""
    if application.job_queue is not None:
        application.job_queue.run_once(warm_explorer, when=1, name="explorer-warmup",
                                       job_kwargs=job_kwargs("explorer-warmup", misfire_grace_s=60))
