"""Where the maps stand, for advisers: so /changes, /about and /subscriptions are never a blank.

- :func:`map_timeline`: the version in use (its source in words and its publication date), when
  the maps were last refreshed, the next scheduled refresh and when the last alert went out. The
  next refresh comes from the caller (:func:`jobs.refresh.next_refresh_at` reads the cron): the
  domain knows no scheduler.
- :func:`route_level_counts` and :func:`recent_status_changes`: what a fresh install can say
  before any comparison exists. Status changes are listed only where the data itself carries a
  date (``statusLastUpdated``); no history is ever inferred.
- :func:`next_digest`: what a subscriber's next digest will cover.

Everything returns plain data; the ``*_text`` functions word it from ``messages.yaml``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.alerts.digest import long_date, source_name
from bot.alerts.outbox import last_digest_sent_at, version_of
from bot.knowledge import Messages
from bot.maps.model import Occupation, OccupationMap
from bot.maps.store import get_state, latest_version
from bot.render import day_in_words, escape

RECENT_STATUS_LIMIT = 5


@dataclass(frozen=True)
class MapTimeline:
    """The maps in use and their timetable (ISO strings as stored, None when never)."""

    version: int | None
    source: str | None
    published: str | None
    occupations: int
    last_refresh: str | None
    next_refresh: dt.datetime | None
    last_alert: str | None


def map_timeline(db: sqlite_utils.Database, next_refresh: dt.datetime | None) -> MapTimeline:
    """The version in use, the last successful refresh, the next one and the last alert sent."""
    latest = latest_version(db)
    return MapTimeline(
        version=latest.version if latest else None,
        source=latest.source if latest else None,
        published=latest.retrieved_at if latest else None,
        occupations=latest.occupations if latest else 0,
        last_refresh=get_state(db, "last_success_at"),
        next_refresh=next_refresh,
        last_alert=last_digest_sent_at(db),
    )


def date_and_time(moment: dt.datetime, timezone: str) -> str:
    """"Monday 4 January 2027 at 06:00" in the bot's time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {day_in_words(local)} at {local:%H:%M}"


def next_refresh_words(timeline: MapTimeline, texts: Messages, timezone: str) -> str:
    """When the next scheduled refresh is, in words (or that none is scheduled)."""
    if timeline.next_refresh is None:
        return texts.message("timeline_no_schedule")
    return texts.message("timeline_when", when=date_and_time(timeline.next_refresh, timezone))


def maps_in_use_text(timeline: MapTimeline, texts: Messages, timezone: str) -> str:
    """"Version 1: Skills England's occupational maps as published on 11 September 2026 …"."""
    if timeline.version is None:
        return texts.message("timeline_no_maps")
    # The API serves the live maps: its date is when they were fetched, not a publication date.
    key = "timeline_served" if (timeline.source or "").startswith("api") else "timeline_published"
    published = (texts.message(key, date=long_date(timeline.published, timezone))
                 if timeline.published else "")
    return texts.message("timeline_maps", version=timeline.version, published=published,
                         source=escape(source_name(timeline.source, texts)),
                         count=f"{timeline.occupations:,}")


def timeline_text(timeline: MapTimeline, texts: Messages, timezone: str) -> str:
    """Last refresh, next scheduled refresh and last alert, one line each."""
    last = (texts.message("timeline_date", date=long_date(timeline.last_refresh, timezone))
            if timeline.last_refresh else texts.message("timeline_never_refreshed"))
    alert = (texts.message("timeline_date", date=long_date(timeline.last_alert, timezone))
             if timeline.last_alert else texts.message("timeline_no_alert"))
    return texts.message("timeline", last=last, next=next_refresh_words(timeline, texts, timezone),
                         alert=alert)


# --- a fresh install: what the current map holds ----------------------------------------------


@dataclass(frozen=True)
class RouteCounts:
    """How many occupations one route has at each level."""

    route_id: str
    name: str
    by_level: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by_level)


def route_level_counts(occupation_map: OccupationMap) -> list[RouteCounts]:
    """Occupations per route and level, routes in the maps' own order."""
    counts: dict[str, Counter[int]] = {}
    for occupation in occupation_map.values():
        counts.setdefault(occupation.route_id or occupation.route_name or "?", Counter())[
            occupation.level] += 1
    names = {r.id: r.name for r in occupation_map.routes}
    order = [r.id for r in occupation_map.routes] + sorted(counts.keys() - names.keys())
    return [RouteCounts(rid, names.get(rid, rid), tuple(sorted(counts[rid].items())))
            for rid in order if rid in counts]


def recent_status_changes(occupations: Iterable[Occupation],
                          limit: int = RECENT_STATUS_LIMIT) -> list[Occupation]:
    """The occupations whose status the source changed most recently, newest first; only those
    whose data carries a date (an empty list when none does)."""
    dated = [o for o in occupations if o.status_updated and o.status_name]
    return sorted(dated, key=lambda o: (o.status_updated or "", o.id), reverse=True)[:limit]


def map_overview_text(occupation_map: OccupationMap, texts: Messages, timezone: str) -> str:
    """Counts per route and level, then the most recent dated status changes."""
    lines = [texts.message("overview_heading", count=f"{len(occupation_map):,}")]
    for route in route_level_counts(occupation_map):
        levels = texts.message("overview_level_separator").join(
            texts.message("overview_level", level=level, count=count)
            for level, count in route.by_level)
        lines.append(texts.message("overview_route_line", route=escape(route.name),
                                   total=route.total, levels=levels))
    recent = recent_status_changes(occupation_map.values())
    lines.append("")
    if not recent:
        lines.append(texts.message("overview_recent_none"))
        return "\n".join(lines)
    lines.append(texts.message("overview_recent_heading"))
    for occupation in recent:
        lines.append(texts.message(
            "overview_recent_line", title=escape(occupation.title), level=occupation.level,
            route=escape(occupation.route_name or ""), status=escape(occupation.status_name or ""),
            date=long_date(occupation.status_updated, timezone)))
    return "\n".join(lines)


# --- /subscriptions: the next digest ----------------------------------------------------------


@dataclass(frozen=True)
class NextDigest:
    """What a subscriber hears next: a digest already queued, or the next comparison."""

    queued_version: int | None
    since_version: int | None
    published: str | None


def next_digest(db: sqlite_utils.Database, chat_id: int) -> NextDigest:
    """The digest waiting in the outbox for this chat, else the version the next refresh is
    compared with."""
    row = db.execute(
        "SELECT refresh_key FROM outbox WHERE chat_id = ? AND kind = 'digest' "
        "AND state IN ('pending', 'sending') ORDER BY id DESC LIMIT 1", [chat_id]).fetchone()
    queued = version_of(str(row[0])) if row else None
    latest = latest_version(db)
    return NextDigest(queued, latest.version if latest else None,
                      latest.retrieved_at if latest else None)
