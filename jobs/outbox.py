"""Sending the alerts outbox: paced, resumable, and never in the way of students' answers.

:func:`deliver_pending` is the sender. Tests, the crash test's subprocess and the benchmark call it
directly; in the bot, :func:`register_outbox_job` adds one repeating job that polls the outbox and,
when something is due inside the sending window, starts a background task
(:class:`OutboxRunner`) that calls :func:`deliver_pending` until nothing is due. The job itself
returns at once, so it never overlaps itself and never holds up :meth:`Application.stop`.

How a notice is sent (one message part at a time, one part in flight per sender):

1. ``pending → sending`` is committed, then ``bot.send_message`` is awaited, then the part is
   counted (``sending → pending`` for the next part, ``→ sent`` after the last one).
2. A crash between 1 and the count leaves the row ``sending``. The next sender (only one runs: the
   ``outbox_lease`` row; a lease whose process is gone is taken over at once) puts it back to
   ``pending`` and sends that part again. **So nothing is lost, and each crash can duplicate at
   most the one message that was in flight.** A send that times out is retried too (Telegram may
   have delivered it), which is the same at-most-one-duplicate case.

Limits and errors:

- Pace: evenly spaced at ``settings.global_rate_per_s`` overall (small catch-up after a stall, never
  a burst) and at least :data:`PER_CHAT_INTERVAL_S` between two messages to the same chat. Keep
  ``global_rate_per_s`` a little under Telegram's ~30/s: students' answers share that budget.
- ``RetryAfter``: that chat waits ``retry_after`` while the others go on; the broadcast pace drops by
  a fifth (at most once a second) and creeps back. Students are unaffected: broadcasts use their
  own :class:`telegram.Bot` (:func:`broadcast_bot`), not the application's bot, whose
  ``AIORateLimiter`` would pause *every* request after a 429.
- ``Forbidden`` (the user blocked the bot): the row fails with the reason, the subscription is
  deactivated (``reason = blocked``) and that chat's other queued notices are skipped.
- ``BadRequest``: the row fails with Telegram's reason.
- ``NetworkError``/``TimedOut`` (and 5xx): retried with exponential backoff and jitter, at most
  :data:`MAX_ATTEMPTS` times, then failed.
- A notice whose subscriber unsubscribed after it was queued is skipped (``unsubscribed``); a
  digest whose subscriber changed routes is re-rendered for the new routes, or skipped when
  nothing changed on them (:func:`bot.alerts.outbox.current_digest`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, Job

from bot.alerts.digest import ChangeContexts
from bot.alerts.outbox import (
    OUTBOX_LEASE,
    OutboxItem,
    catch_up_digests,
    claim,
    current_digest,
    deactivate,
    due_items,
    has_due,
    in_send_window,
    mark_failed,
    mark_skipped,
    part_sent,
    prune_alerts,
    recover_in_flight,
    release,
)
from bot.alerts.subscriptions import is_subscribed
from bot.config import Settings
from bot.db import Lease
from bot.knowledge import Messages
from bot.reply import Button
from jobs.scheduling import job_kwargs
from telegram_io.context import BotData, Context
from telegram_io.send import NO_PREVIEW, markup
from telegram_io.transport import http_request

log = logging.getLogger(__name__)

JOB_ID = "alerts-outbox"
JOB_NAME = "alerts outbox"
POLL_INTERVAL_S = 15.0
DEFAULT_BATCH = 2000
PER_CHAT_INTERVAL_S = 1.0
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 60.0
INLINE_WAIT_MAX_S = 30.0
LEASE_TTL_S = 60.0
HEARTBEAT_S = 10.0
MAX_SLEEP_S = 0.5
PRUNE_EVERY_S = 3600.0
MIN_RATE = 1.0


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` call did."""

    picked: int = 0  # outbox rows taken in this call
    sent: int = 0  # notices completed (all parts)
    messages: int = 0  # Telegram messages sent
    failed: int = 0
    skipped: int = 0
    deactivated: int = 0
    retried: int = 0  # network errors that will be retried
    rate_limited: int = 0  # RetryAfter (429) answers
    deferred: int = 0  # rows left pending for a later call (long retry wait)
    recovered: int = 0  # rows found "sending" after a crash, sent again
    busy: bool = False  # another sender holds the lease
    window_closed: bool = False
    stopped: bool = False
    elapsed_s: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)


class Pacer:
    """Evenly spaced sends at ``rate``/s, slowing on 429s and recovering gradually."""

    CATCH_UP = 2  # slots a late sender may make up at once (keeps any 1 s window ≤ rate + 2)

    def __init__(self, rate: float, now: float) -> None:
        self.max_rate = max(rate, MIN_RATE)
        self.rate = self.max_rate
        self.next_at = now
        self.last_change = now

    def wait_s(self, now: float) -> float:
        return max(0.0, self.next_at - now)

    def took(self, now: float) -> None:
        interval = 1.0 / self.rate
        self.next_at = max(self.next_at, now - self.CATCH_UP * interval) + interval
        if self.rate < self.max_rate and now - self.last_change >= 1.0:
            self.rate = min(self.max_rate, self.rate + 0.05 * self.max_rate)
            self.last_change = now

    def slow_down(self, now: float) -> None:
        if now - self.last_change >= 1.0 or self.rate == self.max_rate:
            self.rate = max(MIN_RATE, self.rate * 0.8)
            self.last_change = now


def _retry_after_s(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)  # avoid PTB's int/timedelta deprecation warning
    if isinstance(value, dt.timedelta):
        return max(value.total_seconds(), 0.0)
    return float(value or 1.0)


def _backoff_s(attempts: int) -> float:
    base = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(attempts - 1, 0))
    return base * (1.0 + random.random() * 0.25)


def _buttons(item: OutboxItem) -> list[list[Button]]:
    return [[Button(label, data) for label, data in row] for row in item.buttons]


async def deliver_pending(
    bot: Bot,
    db: sqlite_utils.Database,
    settings: Settings,
    *,
    limit: int = DEFAULT_BATCH,
    now: dt.datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
    per_chat_interval_s: float = PER_CHAT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
    texts: Messages | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due outbox rows (see the module docstring for the guarantees).

    ``bot`` should be a plain :class:`telegram.Bot` without a rate limiter (:func:`broadcast_bot`).
    Returns at once with ``window_closed`` outside the sending window and ``busy`` when another
    sender is running. ``should_stop`` is checked between messages (the in-flight one finishes).
    ``texts`` words a digest re-rendered for new routes (default: the shipped messages).
    """
    started = clock()
    report = DeliveryReport()
    moment = now or dt.datetime.now(dt.UTC)
    window = (settings.send_window_start, settings.send_window_end, settings.timezone)
    if not in_send_window(moment, *window):
        report.window_closed = True
        return report
    lease = Lease(OUTBOX_LEASE, LEASE_TTL_S)
    if not lease.acquire(db, time.time()):
        report.busy = True
        return report
    try:
        report.recovered = recover_in_flight(db)
        if report.recovered:
            log.warning("outbox: %d notice(s) were in flight during a crash; sending them again",
                        report.recovered)
        await _deliver(bot, db, settings, report, limit=limit, now=now, should_stop=should_stop,
                       per_chat_interval_s=per_chat_interval_s, clock=clock, lease=lease,
                       window=window, texts=texts)
    finally:
        lease.release(db)
        report.elapsed_s = clock() - started
    return report


async def _deliver(
    bot: Bot,
    db: sqlite_utils.Database,
    settings: Settings,
    report: DeliveryReport,
    *,
    limit: int,
    now: dt.datetime | None,
    should_stop: Callable[[], bool] | None,
    per_chat_interval_s: float,
    clock: Callable[[], float],
    lease: Lease,
    window: tuple[dt.time, dt.time, str],
    texts: Messages | None = None,
) -> None:
    items = due_items(db, limit, now=now)
    report.picked = len(items)
    if not items:
        return
    t0 = clock()
    pacer = Pacer(settings.global_rate_per_s, t0)
    order = itertools.count()
    queue: list[tuple[float, int, OutboxItem]] = [(t0, next(order), item) for item in items]
    last_by_chat: dict[int, float] = {}
    heartbeat = window_check = t0
    contexts = ChangeContexts()

    def later(item: OutboxItem, delay: float, reason: str, *, attempt: bool = False) -> None:
        """Put a row back to pending; wait for it in this call if the wait is short."""
        wake = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        release(db, item.id, reason=reason, not_before=wake, attempt=attempt)
        if attempt:
            item.attempts += 1
        if delay <= INLINE_WAIT_MAX_S:
            heapq.heappush(queue, (clock() + delay, next(order), item))
        else:
            report.deferred += 1

    while queue:
        current = clock()
        if should_stop is not None and should_stop():
            report.stopped = True
            break
        if current - heartbeat >= HEARTBEAT_S:
            heartbeat = current
            if not lease.renew(db, time.time()):
                log.error("outbox: lost the sender lease; stopping")
                report.stopped = True
                break
        if current - window_check >= 1.0:
            window_check = current
            if not in_send_window(dt.datetime.now(dt.UTC), *window):
                report.window_closed = True
                break
        ready_at, _, item = queue[0]
        chat_ready = last_by_chat.get(item.chat_id, -1e9) + per_chat_interval_s
        if chat_ready > ready_at:  # another row of this chat was just sent
            heapq.heapreplace(queue, (chat_ready, next(order), item))
            continue
        wait = max(ready_at - current, pacer.wait_s(current))
        if wait > 0:
            await asyncio.sleep(min(wait, MAX_SLEEP_S))
            continue
        heapq.heappop(queue)

        if not is_subscribed(db, item.chat_id):
            mark_skipped(db, item.id, "unsubscribed")
            report.skipped += 1
            report.reasons["unsubscribed"] += 1
            continue
        if not current_digest(db, item, texts=texts, timezone=settings.timezone, contexts=contexts):
            report.skipped += 1
            report.reasons["routes changed"] += 1
            continue
        if not claim(db, item.id):  # skipped or failed meanwhile (unsubscribed, /forget)
            continue
        index = item.parts_sent
        last = index == len(item.parts) - 1
        pacer.took(clock())
        try:
            await bot.send_message(
                chat_id=item.chat_id,
                text=item.parts[index],
                parse_mode=ParseMode.HTML,
                reply_markup=markup(_buttons(item)) if last else None,
                link_preview_options=NO_PREVIEW,
            )
        except RetryAfter as exc:
            delay = _retry_after_s(exc)
            report.rate_limited += 1
            pacer.slow_down(clock())
            last_by_chat[item.chat_id] = clock()
            later(item, delay, f"rate limited: retry after {delay:g}s")
            continue
        except Forbidden as exc:
            reason = f"blocked: {exc.message}"
            mark_failed(db, item.id, reason)
            deactivate(db, item.chat_id, "blocked")
            report.failed += 1
            report.deactivated += 1
            report.reasons["blocked"] += 1
            log.info("outbox: chat %s blocked the bot; subscription deactivated", item.chat_id)
            continue
        except BadRequest as exc:
            mark_failed(db, item.id, f"bad request: {exc.message}")
            report.failed += 1
            report.reasons["bad request"] += 1
            log.warning("outbox: notice %s refused: %s", item.id, exc.message)
            continue
        except (InvalidToken, EndPointNotFound):
            release(db, item.id, reason="stopped: the bot token or API URL is wrong")
            raise
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            last_by_chat[item.chat_id] = clock()
            if item.attempts + 1 >= MAX_ATTEMPTS:
                mark_failed(db, item.id, f"network: {exc.message} (after {MAX_ATTEMPTS} attempts)")
                report.failed += 1
                report.reasons["network"] += 1
            else:
                report.retried += 1
                later(item, _backoff_s(item.attempts + 1), f"network: {exc.message}", attempt=True)
            continue
        except TelegramError as exc:
            mark_failed(db, item.id, f"{type(exc).__name__}: {exc.message}")
            report.failed += 1
            report.reasons[type(exc).__name__] += 1
            continue
        except Exception as exc:
            if isinstance(exc, asyncio.CancelledError):  # pragma: no cover - shutdown mid-send
                raise
            log.exception("outbox: unexpected error sending notice %s", item.id)
            mark_failed(db, item.id, f"error: {type(exc).__name__}")
            report.failed += 1
            report.reasons["error"] += 1
            continue
        sent_at = clock()
        last_by_chat[item.chat_id] = sent_at
        report.messages += 1
        item.parts_sent = index + 1
        if part_sent(db, item.id, item.parts_sent, len(item.parts)) == "sent":
            report.sent += 1
        else:
            heapq.heappush(queue, (sent_at + per_chat_interval_s, next(order), item))


# --- in the bot ------------------------------------------------------------------------------


def broadcast_bot(application: Application) -> Bot:
    """A plain Bot for the same API and token, with its own connections and no rate limiter,
    over the same HTTP client as the application (``settings.http_transport``)."""
    base = application.bot
    url, file_url = base.base_url, base.base_file_url
    return Bot(
        base.token,
        base_url=lambda _token: url,
        base_file_url=lambda _token: file_url,
        request=http_request(application.bot_data.services.settings.http_transport,
                             connection_pool_size=2, connect_timeout=5.0, read_timeout=10.0,
                             write_timeout=10.0, pool_timeout=5.0),
    )


class OutboxRunner:
    """The background task that drains the outbox while the application runs."""

    def __init__(self, application: Application, *, batch: int = DEFAULT_BATCH,
                 bot_factory: Callable[[Application], Bot] = broadcast_bot) -> None:
        self.application = application
        self.batch = batch
        self.bot_factory = bot_factory
        self.task: asyncio.Task[Any] | None = None
        self.again = False
        self.last_report: DeliveryReport | None = None
        self.pruned_at = -PRUNE_EVERY_S

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def kick(self) -> None:
        """Start draining now (or once more after the current pass)."""
        if self.running:
            self.again = True
            return
        if not self.application.running:
            return
        self.again = False
        self.task = self.application.create_task(self._drain(), name="alerts-outbox")

    async def _drain(self) -> None:
        services = self.application.bot_data.services
        db, settings = services.db, services.settings
        async with self.bot_factory(self.application) as bot:
            while self.application.running:
                self.again = False
                report = await deliver_pending(
                    bot, db, settings, limit=self.batch,
                    should_stop=lambda: not self.application.running,
                    texts=services.kb.texts,
                )
                self.last_report = report
                if report.picked:
                    log.info(
                        "outbox: %d sent, %d failed, %d skipped, %d retried, %d rate limited in %.1fs",
                        report.sent, report.failed, report.skipped, report.retried,
                        report.rate_limited, report.elapsed_s,
                    )
                if report.busy or report.window_closed or report.stopped:
                    break
                if not report.picked and not self.again:
                    break

    async def wait(self) -> None:
        """Wait for the current pass (tests)."""
        while self.running:
            assert self.task is not None
            await asyncio.wait({self.task})


async def poll_outbox(context: Context) -> None:
    """The repeating job: queue digests of versions stored elsewhere, start sending what is due."""
    runner = context.bot_data.outbox
    if not isinstance(runner, OutboxRunner):
        return
    services = context.bot_data.services
    settings = services.settings
    queued = catch_up_digests(services.db, texts=services.kb.texts, timezone=settings.timezone)
    if queued:
        log.info("alerts: %d digest(s) queued for map versions stored outside the bot", queued)
    if time.monotonic() - runner.pruned_at >= PRUNE_EVERY_S:
        runner.pruned_at = time.monotonic()
        pruned = prune_alerts(services.db, inactive_days=settings.inactive_user_retention_days)
        if pruned:
            log.info("alerts: pruned %d old outbox/subscription rows", pruned)
    if runner.running:
        return
    now = dt.datetime.now(dt.UTC)
    if not in_send_window(now, settings.send_window_start, settings.send_window_end, settings.timezone):
        return
    if has_due(services.db, now=now):
        runner.kick()


def register_outbox_job(application: Application[Any, Any, Any, Any, BotData, Any], *,
                        interval: float = POLL_INTERVAL_S, first: float = 5.0) -> Job[Any] | None:
    """Poll the outbox every ``interval`` seconds (idempotent: one job, one sender)."""
    if not isinstance(application.bot_data.outbox, OutboxRunner):
        application.bot_data.outbox = OutboxRunner(application)
    if application.job_queue is None:
        log.warning("alerts: no JobQueue (install python-telegram-bot[job-queue]); outbox not polled")
        return None
    return application.job_queue.run_repeating(
        poll_outbox,
        interval=interval,
        first=first,
        name=JOB_NAME,
        job_kwargs=job_kwargs(JOB_ID, misfire_grace_s=max(int(interval) * 2, 1)),
    )
