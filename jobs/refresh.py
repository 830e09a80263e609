"""The scheduled occupational maps refresh on PTB's JobQueue, with a catch-up at start.

Schedule: ``CAREERS_BOT_MAPS_CRON`` (default ``0 6 * jan,apr,jul,oct mon#1``: 06:00 on the first
Monday of January, April, July and October) in ``CAREERS_BOT_TIMEZONE``. APScheduler's
``CronTrigger.from_crontab`` silently drops the ``#1`` of ``mon#1`` and would fire every Monday of
those months, so :func:`refresh_trigger` turns ``dow#n`` into APScheduler's own ``day="1st mon"``.

The job is added with ``coalesce=True`` (missed runs collapse into one), ``max_instances=1`` and an
explicit ``misfire_grace_time``; the database lease in :mod:`bot.maps.refresh` additionally keeps a
CLI refresh and the bot from overlapping. A bot that was down at fire time catches up: shortly
after start, if the last successful refresh is older than the previous scheduled time (and no
attempt was made in the last :data:`CATCH_UP_RETRY_S`), it refreshes once.

The callbacks are thin: they take the services from ``bot_data``, run the refresh, and on a
stored version swap in a rebuilt search index, queue one digest per affected subscriber
(:func:`bot.alerts.outbox.enqueue_digests`) and wake the sender; refused, held and failed runs are
reported to every admin id in plain text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import sqlite_utils
from apscheduler.triggers.cron import CronTrigger
from telegram import Bot
from telegram.ext import Application, Job

from bot.alerts.outbox import enqueue_digests
from bot.alerts.status import MapTimeline, map_timeline, maps_in_use_text, timeline_text
from bot.config import ConfigError, Settings
from bot.maps.refresh import RefreshReport, refresh_from_settings, summary_text
from bot.maps.search import OccupationIndex
from bot.maps.store import latest_version, load_version, state_time
from bot.services import Services
from jobs.scheduling import job_kwargs
from telegram_io.context import BotData, Context

log = logging.getLogger(__name__)

JOB_ID = "maps-refresh"
CATCH_UP_JOB_ID = "maps-refresh-catch-up"
RETRY_JOB_ID = "maps-refresh-retry"
BUSY_RETRY_S = 10 * 60
MISFIRE_GRACE_S = 6 * 60 * 60
CATCH_UP_DELAY_S = 30.0
CATCH_UP_RETRY_S = 6 * 60 * 60
ADMIN_MESSAGE_LIMIT = 3500
_ORDINALS = {"1": "1st", "2": "2nd", "3": "3rd", "4": "4th", "5": "5th", "l": "last", "L": "last"}


def refresh_trigger(cron: str, timezone: str) -> CronTrigger:
    """A CronTrigger from a five-field crontab, understanding ``mon#1`` as "first Monday"."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(
            f"maps_cron must have five fields (minute hour day month weekday): {cron!r}"
        )
    minute, hour, day, month, weekday = fields
    zone = ZoneInfo(timezone)
    if "#" not in weekday:
        return CronTrigger.from_crontab(cron, timezone=zone)
    if day != "*":
        raise ValueError(f"maps_cron: use '*' for the day of month with '{weekday}': {cron!r}")
    days = []
    for part in weekday.split(","):
        name, _, nth = part.partition("#")
        if not name or nth not in _ORDINALS:
            raise ValueError(f"maps_cron: cannot read weekday '{part}' (expected e.g. mon#1)")
        days.append(f"{_ORDINALS[nth]} {name}")
    return CronTrigger(minute=minute, hour=hour, day=",".join(days), month=month, timezone=zone)


def check_schedule(settings: Settings) -> None:
    """The refresh schedule must parse (the settings check only looks at its shape)."""
    try:
        refresh_trigger(settings.maps_cron, settings.timezone)
    except ValueError as exc:
        raise ConfigError(f"CAREERS_BOT_MAPS_CRON is invalid: {exc}") from None


def previous_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The last time the trigger fired at or before ``now`` (looking back up to two years)."""
    fire = trigger.get_next_fire_time(None, now - dt.timedelta(days=731))
    previous = None
    while fire is not None and fire <= now:
        previous = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return previous


def next_refresh_at(cron: str, timezone: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the scheduled refresh fires next (what /changes, /about and /subscriptions tell
    advisers); None when the schedule never fires again or cannot be read."""
    try:
        trigger = refresh_trigger(cron, timezone)
    except ValueError:
        return None
    moment = now or dt.datetime.now(dt.UTC)
    return trigger.get_next_fire_time(None, moment)


def maps_timeline(services: Services) -> MapTimeline:
    """The maps in use, the last refresh, the next scheduled one (from the cron) and the last
    alert."""
    settings = services.settings
    return map_timeline(services.db, next_refresh_at(settings.maps_cron, settings.timezone))


def maps_status_text(services: Services) -> str:
    """The maps in use and their timetable, as shown by /changes and /about."""
    texts, timezone = services.kb.texts, services.settings.timezone
    timeline = maps_timeline(services)
    return "\n".join([maps_in_use_text(timeline, texts, timezone),
                      timeline_text(timeline, texts, timezone)])


def needs_catch_up(db: sqlite_utils.Database, trigger: CronTrigger, now: dt.datetime) -> bool:
    """Whether a scheduled refresh was missed: last success older than the previous fire time.

    Without a recorded success the latest version's data date counts (the bundled snapshot's).
    A recent attempt (e.g. failing for want of an API key) suppresses the catch-up for a while,
    so a restarting bot does not pull or message admins on every start.
    """
    previous = previous_fire_time(trigger, now)
    if previous is None:
        return False
    attempted = state_time(db, "last_attempt_at")
    if attempted is not None and attempted > now - dt.timedelta(seconds=CATCH_UP_RETRY_S):
        return False
    succeeded = state_time(db, "last_success_at")
    if succeeded is None:
        latest = latest_version(db)
        stamp = latest and (latest.retrieved_at or latest.fetched_at)
        succeeded = dt.datetime.fromisoformat(stamp) if stamp else None
    return succeeded is None or succeeded < previous


def register_refresh_job(application: Application, settings: Settings) -> Job:
    """Schedule the quarterly refresh and a one-off catch-up check shortly after start."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the maps refresh needs python-telegram-bot[job-queue]")
    trigger = refresh_trigger(settings.maps_cron, settings.timezone)
    job = job_queue.run_custom(
        refresh_job,
        job_kwargs={"trigger": trigger, **job_kwargs(JOB_ID, misfire_grace_s=MISFIRE_GRACE_S)},
        name="occupational maps refresh",  # not in job_kwargs: PTB passes name to add_job itself
    )
    job_queue.run_once(
        catch_up_job,
        when=CATCH_UP_DELAY_S,
        name="occupational maps catch-up",
        job_kwargs=job_kwargs(CATCH_UP_JOB_ID, misfire_grace_s=MISFIRE_GRACE_S),
    )
    return job


# --- callbacks ------------------------------------------------------------------------------


async def refresh_job(context: Context) -> None:
    """The scheduled run."""
    report = await run_refresh_job(context.bot_data, context.bot)
    _retry_if_busy(context, report)


def _retry_if_busy(context: Context, report: RefreshReport) -> None:
    """Another refresh holds the lease: try again later (the catch-up sees the missed run)."""
    if report.status == "busy" and context.job_queue is not None:
        context.job_queue.run_once(catch_up_job, when=BUSY_RETRY_S, name="occupational maps retry",
                                   job_kwargs=job_kwargs(RETRY_JOB_ID, misfire_grace_s=MISFIRE_GRACE_S))


async def catch_up_job(context: Context) -> None:
    """At start: refresh once if a scheduled run was missed while the bot was down."""
    services = context.bot_data.services
    trigger = refresh_trigger(services.settings.maps_cron, services.settings.timezone)
    if needs_catch_up(services.db, trigger, dt.datetime.now(dt.UTC)):
        log.info("occupational maps: a scheduled refresh was missed; catching up now")
        _retry_if_busy(context, await run_refresh_job(context.bot_data, context.bot))


async def run_refresh_job(bot_data: BotData, bot: Bot, *, force: bool = False) -> RefreshReport:
    """Refresh; on a new version rebuild the search index and queue the advisers' digests;
    otherwise tell the admins when a person should look."""
    services = bot_data.services
    db, settings = services.db, services.settings
    report = await refresh_from_settings(db, settings, force=force)
    log.info("occupational maps refresh: %s: %s", report.status, report.reason)
    if report.stored and report.to_version is not None:
        new_map = load_version(db, report.to_version)
        index = await asyncio.to_thread(OccupationIndex.build, new_map, services.phrase_rules)
        await asyncio.to_thread(services.set_occupations, index, report.to_version)
        bot_data.changes.clear()
        if len(report.changes):
            queued = enqueue_digests(db, report.changes, titles=report.titles, source=report.source,
                                     texts=services.kb.texts, timezone=settings.timezone)
            log.info("alerts: %d digest(s) queued for maps version %s", queued, report.to_version)
            bot_data.wake_outbox()
    elif report.needs_admin:
        await notify_admins(bot, settings.admin_ids, admin_message(report))
    return report


def admin_message(report: RefreshReport) -> str:
    """The plain-text admin notice, cut to fit one Telegram message."""
    text = summary_text(report, attribution=False)
    if report.status == "busy":
        text += (f"\nThe bot will try again in {BUSY_RETRY_S // 60} minutes. If no refresh is "
                 "running, a crashed one's lock is taken over then.")
    if len(text) <= ADMIN_MESSAGE_LIMIT:
        return text
    cut = text[:ADMIN_MESSAGE_LIMIT].rsplit("\n", 1)[0]
    return cut + "\n… (cut short; run `careers-bot refresh --dry-run` for the full list)"


async def notify_admins(bot: Bot, admin_ids: Iterable[int], text: str) -> None:
    """Send ``text`` to each admin; one failing chat is logged and does not stop the others."""
    for chat_id in sorted(admin_ids):
        try:
            await bot.send_message(chat_id=chat_id, text=text)
        except Exception:
            log.exception("occupational maps: could not notify admin %s", chat_id)
