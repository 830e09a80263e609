"""Building the python-telegram-bot Application: one place for the builder and its hooks."""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.ext import AIORateLimiter, Application

from bot.config import Settings
from bot.services import Services, services_from
from handlers import register_handlers
from jobs.knowledge_reload import register_reload_job
from jobs.outbox import register_outbox_job
from jobs.retention import register_retention_job
from jobs.safeguarding_report import register_safeguarding_report

log = logging.getLogger(__name__)


async def post_init(application: Application) -> None:
    """Register the command menu with Telegram and start the scheduled jobs."""
    services = services_from(application.bot_data)
    commands = services.kb.messages.get("commands") or {}
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, description in commands.items()]
    )
    register_reload_job(application)
    register_retention_job(application)
    register_safeguarding_report(application)
    register_outbox_job(application)
    for register in services.extras.get("job_registrars", ()):
        register(application)


async def post_shutdown(application: Application) -> None:
    """Close the database cleanly so WAL is checkpointed."""
    services_from(application.bot_data).db.close()


def build_application(
    settings: Settings,
    services: Services,
    *,
    token: str,
    base_url: str | None = None,
) -> Application:
    """The Application used by `run`, `chat`, the tests and the benchmarks alike."""
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = (
        Application.builder()
        .token(token)
        .base_url(base_url or settings.telegram_base_url)
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.global_rate_per_s, max_retries=2))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data["services"] = services
    register_handlers(application)
    return application


async def start_local(application: Application, *, poll_timeout: float = 5.0) -> None:
    """Start an initialised Application by hand (terminal chat, tests, benchmarks) the way
    ``run_polling`` does, including ``post_init``, which PTB only calls from ``run_*``."""
    await post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=int(poll_timeout))


async def stop_local(application: Application) -> None:
    """Stop what :func:`start_local` started (``post_shutdown`` runs on ``shutdown``)."""
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
