"""One occupational maps refresh: fetch, check, diff, store — with guard rails before storing.

Order of checks (the first that fails decides the outcome; nothing is stored unless ``accepted``):

1. ``busy``: another refresh (bot job or CLI, any process) holds the lease. The lease has a
   heartbeat: a refresh whose process died is taken over at once (same host) or after
   :data:`LEASE_TTL_S` without a heartbeat.
2. ``failed``: the source could not be reached or refused us (no key, 401, retries exhausted,
   a ``Retry-After`` longer than we wait), or the database stayed locked by another process
   beyond its busy timeout, or another process stored a version while this one was pulling.
3. ``refused``: the data is malformed, truncated or empty, or has far fewer occupations than the
   current map (below ``min_ratio``, default 80%) — the signature of a partial response.
4. ``unchanged``: same content hash as the current version: no new version, no notices.
5. ``held``: more than ``max_changes`` occupations changed, or a route came back empty, shrank
   below :data:`ROUTE_MIN_RATIO` of its occupations or went missing from the route list (a
   partial response the whole-map check misses: one route is under 10% of the map); an admin
   checks and re-runs with ``force`` (``careers-bot refresh --force``).
6. ``dry_run``: would be accepted (or held: the reason says) but ``dry_run`` stores nothing.
7. ``accepted``: stored as a new version with its change list.

Every outcome but ``busy`` and ``dry_run`` is recorded in ``map_state`` (``last_status``…).

Absences follow :mod:`bot.maps.diff`: an occupation missing once is carried forward and
remembered; only a second miss (or a retired status) reports it as removed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx
import sqlite_utils

from bot.config import Settings
from bot.db import Lease, iso
from bot.maps.diff import ChangeList, carry_forward, diff_maps, is_retired
from bot.maps.model import ATTRIBUTION, MapsDataError, MapsSourceError, Occupation, OccupationMap
from bot.maps.parse import load_bundled_map
from bot.maps.source import DEFAULT_POLICY, USER_AGENT, Fetch, FetchPolicy, make_fetch, source_label
from bot.maps.store import (
    StaleBaseError,
    ensure_bundled_version,
    latest_version,
    load_version,
    missing_ids,
    save_version,
    set_state,
)

Status = Literal["accepted", "unchanged", "refused", "held", "dry_run", "failed", "busy"]
LEASE_NAME = "maps-refresh"
LEASE_TTL_S = 120.0
HEARTBEAT_S = 30.0
ROUTE_MIN_RATIO = 0.5
ROUTE_GUARD_MIN = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did and why; ``titles`` names every occupation the changes mention."""

    status: Status
    reason: str
    source: str
    changes: ChangeList = field(default_factory=ChangeList)
    occupations: int = 0
    dry_run: bool = False
    titles: Mapping[str, str] = field(default_factory=dict)

    @property
    def from_version(self) -> int | None:
        return self.changes.from_version

    @property
    def to_version(self) -> int | None:
        return self.changes.to_version

    @property
    def stored(self) -> bool:
        """A new version was written (rebuild indexes, send alerts)."""
        return self.status == "accepted"

    @property
    def needs_admin(self) -> bool:
        """Worth telling the admins: someone has to act."""
        return self.status in ("refused", "held", "failed", "busy")

    def to_json(self) -> dict[str, Any]:
        """The change-list JSON shape plus status, reason, source and first-time absences."""
        return {
            "status": self.status,
            "reason": self.reason,
            "source": self.source,
            "dry_run": self.dry_run,
            "occupations": self.occupations,
            **self.changes.to_json(),
            "missing": list(self.changes.missing),
        }


def _titles(changes: ChangeList, *maps: Mapping[str, Occupation]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for occupation_id in (*changes.ids, *changes.missing):
        for occupation_map in maps:
            if occupation_id in occupation_map:
                titles[occupation_id] = occupation_map[occupation_id].title
                break
    return titles


def _current(db: sqlite_utils.Database, dry_run: bool) -> tuple[int, OccupationMap]:
    """The map to compare against and its version.

    On an empty database a real run stores the bundled snapshot as version 1 first; a dry run
    compares with it as that version 1 without storing it.
    """
    latest = latest_version(db)
    if latest is None and dry_run:
        return 1, load_bundled_map()
    if latest is None:
        ensure_bundled_version(db)
        latest = latest_version(db)
        assert latest is not None
    return latest.version, load_version(db, latest.version)


async def refresh_maps(
    db: sqlite_utils.Database,
    fetch: Fetch,
    *,
    source: str = "api",
    min_ratio: float = 0.8,
    max_changes: int = 150,
    dry_run: bool = False,
    force: bool = False,
    now: dt.datetime | None = None,
) -> RefreshReport:
    """Run one refresh (see the module docstring for the outcomes); never raises for data,
    source or a locked database."""
    lease = Lease(LEASE_NAME, LEASE_TTL_S)
    if not dry_run:
        try:
            taken = lease.acquire(db, now.timestamp() if now else None)
        except sqlite3.OperationalError as exc:
            return _record(db, _locked(source, exc), now)
        if not taken:
            return RefreshReport("busy", "another occupational maps refresh is running", source)
    heartbeat = None if dry_run else asyncio.create_task(_keep_alive(db, lease))
    try:
        report = await _refresh(db, fetch, source, min_ratio, max_changes, dry_run, force, now)
    except sqlite3.OperationalError as exc:
        report = _locked(source, exc, dry_run=dry_run)
    except StaleBaseError as exc:
        report = RefreshReport("failed", sentence(str(exc)) + " Nothing was stored; run the "
                               "refresh again to compare with the new version.", source)
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
        if not dry_run:
            try:
                lease.release(db)
            except sqlite3.OperationalError:  # it expires by itself once the heartbeat stops
                log.warning("occupational maps: could not release the refresh lease (database locked)")
    return report if dry_run else _record(db, report, now)


def _locked(source: str, exc: Exception, *, dry_run: bool = False) -> RefreshReport:
    return RefreshReport("failed", f"the database is locked by another process ({exc}). "
                         "Nothing was stored; the refresh will be tried again.", source,
                         dry_run=dry_run)


def _record(db: sqlite_utils.Database, report: RefreshReport, now: dt.datetime | None) -> RefreshReport:
    """Keep the outcome in ``map_state`` (for /stats, /about and the catch-up)."""
    stamp = iso(now)
    state = {"last_attempt_at": stamp, "last_status": report.status, "last_reason": report.reason}
    if report.status in ("accepted", "unchanged"):
        state["last_success_at"] = stamp
    try:
        set_state(db, state, now)
    except sqlite3.OperationalError:
        log.warning("occupational maps: could not record the refresh outcome (database locked)")
    return report


async def _keep_alive(db: sqlite_utils.Database, lease: Lease) -> None:
    """Renew the lease while the refresh runs, so a live refresh is never taken over."""
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            if not lease.renew(db):
                log.warning("occupational maps: the refresh lease was taken over")
                return
        except sqlite3.OperationalError:
            log.warning("occupational maps: could not renew the refresh lease (database locked)")


def sentence(text: str) -> str:
    """Text ending with a full stop, so the next sentence does not run into it."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def route_shortfalls(current: OccupationMap, pulled: OccupationMap) -> list[str]:
    """Routes that came back empty, shrank sharply or are missing from the route list: how a
    partial response looks when it is too small to trip the whole-map check."""
    def counts(occupation_map: OccupationMap) -> Counter[str]:
        return Counter(o.route_id or o.route_name or "?" for o in occupation_map.values()
                       if not is_retired(o))

    before, after = counts(current), counts(pulled)
    listed = {r.id for r in pulled.routes}
    names = {r.id: r.name for r in (*current.routes, *pulled.routes)}
    found = []
    for route_id, count in sorted(before.items()):
        name = names.get(route_id, route_id)
        if listed and route_id not in listed:
            found.append(f"route {name} is missing from the route list ({count} occupations)")
        elif count >= ROUTE_GUARD_MIN and after[route_id] < ROUTE_MIN_RATIO * count:
            found.append(f"route {name} has {after[route_id]} occupations, down from {count}")
    return found


async def _refresh(
    db: sqlite_utils.Database,
    fetch: Fetch,
    source: str,
    min_ratio: float,
    max_changes: int,
    dry_run: bool,
    force: bool,
    now: dt.datetime | None,
) -> RefreshReport:
    current_version, current = _current(db, dry_run)
    base = ChangeList(from_version=current_version)

    def report(status: Status, reason: str, **extra: Any) -> RefreshReport:
        return RefreshReport(status, reason, source, dry_run=dry_run, **{"changes": base, **extra})

    try:
        pulled = await fetch()
    except MapsSourceError as exc:
        return report("failed", f"{sentence(str(exc))} The current map (version {current_version}) "
                                "is unchanged.")
    except MapsDataError as exc:
        return report("refused", f"the data is unusable: {exc}. The current map is unchanged.")
    if len(pulled) < min_ratio * len(current):
        share = len(pulled) / len(current) if current else 0.0
        return report(
            "refused",
            f"only {len(pulled):,} occupations, {share:.0%} of the {len(current):,} in the current "
            f"map (minimum {min_ratio:.0%}): looks like a partial response. "
            "The current map is unchanged.",
            occupations=len(pulled),
        )

    pulled = pulled.with_route_urls(current.routes)
    changes = diff_maps(current, pulled, missing_before=missing_ids(db))
    merged = carry_forward(pulled, current, changes.missing)
    titles = _titles(changes, pulled, current)
    unchanged = merged.content_hash() == current.content_hash()
    next_version = None if unchanged else current_version + 1
    changes = replace(changes, from_version=current_version, to_version=next_version)
    common = {"changes": changes, "occupations": len(pulled), "titles": titles}

    if unchanged:
        if not dry_run:
            save_version(db, merged, source, changes=changes, missing=changes.missing, now=now)
        return report(
            "unchanged", f"same content as version {current_version}; nothing stored", **common
        )
    shortfalls = route_shortfalls(current, pulled)
    too_many = len(changes) > max_changes
    held = ""
    if shortfalls:
        held = "; ".join(shortfalls) + ": it may be a partial response"
    elif too_many:
        held = f"{len(changes):,} occupations changed (more than {max_changes})"
    if held and not force and not dry_run:
        return report(
            "held",
            f"{held}. Check the list, then run `careers-bot refresh --force` (or press \"Apply "
            "these changes anyway\") to accept it. The current map is unchanged.",
            **common,
        )
    if dry_run:
        outcome = f"be held ({held}; --force accepts)" if held and not force else "be accepted"
        return report(
            "dry_run",
            f"dry run: {count_words(changes)}; version {next_version} would {outcome}. "
            "Nothing stored.",
            **common,
        )
    stored = save_version(db, merged, source, changes=changes, missing=changes.missing, now=now,
                          base=current_version)
    changes = replace(changes, to_version=stored)
    if stored is None:  # another process stored identical content meanwhile
        return report(
            "unchanged",
            "same content as the latest version; nothing stored",
            **{**common, "changes": changes},
        )
    return report("accepted", f"stored version {stored}: {count_words(changes)}",
                  **{**common, "changes": changes})


def count_words(changes: ChangeList) -> str:
    """ "1 added, 0 removed, 2 changed, 1 missing for the first time" — the same counts the list
    below it shows."""
    text = f"{len(changes.added)} added, {len(changes.removed)} removed, {len(changes.changed)} changed"
    return text + (f", {len(changes.missing)} missing for the first time" if changes.missing else "")


# --- wording --------------------------------------------------------------------------------


def _value(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def summary_text(report: RefreshReport, *, attribution: bool = True) -> str:
    """A plain-text account of a refresh, for the CLI and for admin messages."""
    versions = ""
    if report.to_version is not None:
        versions = f" (version {_value(report.from_version)} → {report.to_version})"
    elif report.from_version is not None:
        versions = f" (current version {report.from_version})"
    lines = [
        f"Occupational maps refresh from {report.source}: {report.status}{versions}",
        report.reason,
    ]
    changes = report.changes

    def name(occupation_id: str) -> str:
        title = report.titles.get(occupation_id)
        return f"{occupation_id} {title}" if title else occupation_id

    if changes.added:
        lines.append(f"Added ({len(changes.added)}):")
        lines += [f"  + {name(i)}" for i in changes.added]
    if changes.removed:
        lines.append(f"Removed ({len(changes.removed)}):")
        lines += [f"  - {name(i)}" for i in changes.removed]
    if changes.changed:
        lines.append(f"Changed ({len(changes.changed)}):")
        for change in changes.changed:
            parts = [
                f"{k} {_value(old)} → {_value(new)}" for k, (old, new) in change.fields.items()
            ]
            parts += [
                f"product added {p.code or p.title} ({p.type or '?'})"
                for p in change.products_added
            ]
            parts += [
                f"product removed {p.code or p.title} ({p.type or '?'})"
                for p in change.products_removed
            ]
            if change.job_titles_added:
                parts.append("job titles added: " + ", ".join(change.job_titles_added))
            if change.job_titles_removed:
                parts.append("job titles removed: " + ", ".join(change.job_titles_removed))
            lines.append(f"  * {name(change.id)}: " + "; ".join(parts))
    if changes.missing:
        lines.append(
            f"Missing from this pull for the first time, kept for now ({len(changes.missing)}): "
            + ", ".join(changes.missing)
        )
    if attribution and len(changes):
        lines.append(ATTRIBUTION)
    return "\n".join(lines)


async def refresh_from_settings(
    db: sqlite_utils.Database,
    settings: Settings,
    source: str | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> RefreshReport:
    """One refresh from the configured (or given) source: what the scheduled job, /refresh and
    ``careers-bot refresh`` all run. The HTTP client lives for this one refresh."""
    chosen = source or settings.maps_source
    key = settings.maps_api_key.get_secret_value() if settings.maps_api_key else None
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT}, follow_redirects=True
    ) as client:
        fetch = make_fetch(
            chosen,
            client,
            base_url=settings.maps_api_base_url,
            api_key=key,
            pause_s=settings.maps_request_pause_s,
            policy=policy,
        )
        return await refresh_maps(
            db,
            fetch,
            source=source_label(chosen, settings.maps_api_base_url),
            min_ratio=settings.maps_min_ratio,
            max_changes=settings.maps_max_changes,
            dry_run=dry_run,
            force=force,
        )
