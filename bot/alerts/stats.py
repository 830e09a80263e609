"""What ``/stats`` shows admins: students, today's questions, subscribers per route, the last
refresh and the outbox. Counts only: no chat ids, no text."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.alerts.outbox import outbox_counts
from bot.alerts.subscriptions import ALL, active_subscriptions, current_routes, route_key
from bot.maps.store import MapVersion, get_state, latest_version
from bot.usage import count_students, questions_on, unanswered_since


@dataclass(frozen=True)
class AlertStats:
    date: str
    students: int
    questions_today: int
    unanswered_today: int
    subscribers: int
    per_route: tuple[tuple[str, int], ...]
    last_refresh: Mapping[str, str | None]
    latest_version: MapVersion | None
    outbox: Mapping[str, int]


def stats(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
          timezone: str = "Europe/London") -> AlertStats:
    """What ``/stats`` shows: students, today's questions, subscribers per route, refresh, outbox."""
    zone = ZoneInfo(timezone)
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    midnight = dt.datetime.combine(local.date(), dt.time(0), zone)
    subscriptions = active_subscriptions(db)
    names = {r.id: r.name for r in current_routes(db)}
    counts: Counter[str] = Counter()
    for subscription in subscriptions:
        if subscription.routes is None:
            counts[ALL] += 1
        else:
            counts.update(subscription.routes)
    per_route = [(names.get(rid, rid), counts[rid]) for rid in sorted(counts, key=route_key) if rid != ALL]
    if counts[ALL]:
        per_route.insert(0, (ALL, counts[ALL]))
    refresh = {key: get_state(db, key)
               for key in ("last_attempt_at", "last_status", "last_reason", "last_success_at")}
    return AlertStats(local.date().isoformat(), count_students(db), questions_on(db, local.date()),
                      unanswered_since(db, midnight), len(subscriptions), tuple(per_route),
                      refresh, latest_version(db), outbox_counts(db))


