"""Building the python-telegram-bot Application: one place for the builder and its hooks.

``careers-bot run`` (Telegram), ``careers-bot chat`` (the local Bot API), the tests and the
benchmarks all build the bot here, so they run the same handlers and jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application

from bot.config import Settings
from bot.services import Services, settle_memory
from handlers import register_handlers
from jobs import register_jobs
from telegram_io.context import CONTEXT_TYPES, BotData
from telegram_io.transport import http_request

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, BotData, Any]


def _post_init(maps_refresh: bool) -> Callable[[BotApplication], Coroutine[Any, Any, None]]:
    async def post_init(application: BotApplication) -> None:
        """Settle the memory start-up used, register the command menu with Telegram and start
        the scheduled jobs."""
        settle_memory()
        commands = application.bot_data.services.kb.messages.get("commands") or {}
        await application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands.items()])
        register_jobs(application, maps_refresh=maps_refresh)

    return post_init


async def post_stop(application: BotApplication) -> None:
    """Write the batched bookkeeping once no handler runs any more (nothing is lost)."""
    application.bot_data.services.usage.flush()


async def post_shutdown(application: BotApplication) -> None:
    """Write anything still batched, then close the database cleanly so WAL is checkpointed."""
    application.bot_data.close()
    services = application.bot_data.services
    services.usage.flush()
    services.db.close()


def build_application(
    settings: Settings,
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
    maps_refresh: bool = False,
) -> BotApplication:
    """The Application used by `run`, `chat`, the tests and the benchmarks alike.
    ``maps_refresh`` schedules the quarterly maps refresh too (only `run` does)."""
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    builder = (
        Application.builder()
        .token(token)
        .base_url(base_url or settings.telegram_base_url)
        .context_types(CONTEXT_TYPES)
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.global_rate_per_s, max_retries=2))
        .concurrent_updates(settings.concurrent_updates)
        .post_init(_post_init(maps_refresh))
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    application: BotApplication = (
        builder.request(http_request(settings.http_transport,
                                     connection_pool_size=settings.http_pool_size,
                                     pool_timeout=settings.http_pool_timeout_s))
        .get_updates_request(http_request(settings.http_transport, connection_pool_size=1))
        .build()
    )
    application.bot_data.services = services
    register_handlers(application)
    return application


async def start_local(application: BotApplication, *, poll_timeout: float = 5.0) -> None:
    """Start an initialised Application by hand (terminal chat, tests, benchmarks) the way
    ``run_polling`` does, including ``post_init``, which PTB only calls from ``run_*``."""
    assert application.post_init is not None
    await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=int(poll_timeout))


async def stop_local(application: BotApplication) -> None:
    """Stop what :func:`start_local` started, then ``post_stop`` as ``run_polling`` would (it
    writes the batched bookkeeping)."""
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    if application.post_stop is not None:
        await application.post_stop(application)
