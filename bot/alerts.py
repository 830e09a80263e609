"""Adviser alerts without Telegram: subscriptions, digests of map changes, and a durable outbox.

Tables (created by :func:`ensure_alerts_shape`, idempotent; chat ids always in ``chat_id`` so
:func:`bot.privacy.forget_chat` deletes them):

- ``subscriptions``: one row per chat: ``routes`` (``"all"`` or sorted route ids such as
  ``"5,8"``), ``active`` (1/0), ``reason`` for a deactivation (``unsubscribed``, ``blocked``).
  Subscribing again updates the row: a chat never has two subscriptions.
- ``outbox``: one row per notice: subscriber × refresh (``refresh_key`` ``maps:v13``) or
  subscriber × broadcast (``broadcast:4``), ``UNIQUE(chat_id, refresh_key)`` so enqueuing twice
  never doubles a notice. ``state`` moves ``pending → sending → pending`` once per message part
  until ``sent``, or ends ``failed`` (``reason`` says why) or ``skipped`` (``unsubscribed`` …).
- ``outbox_bodies``: the rendered text of each distinct notice (all subscribers with the same
  routes share one body), so a resumed send uses exactly the text first enqueued.
- ``outbox_lease``: which process is sending, so only one sender runs (see :mod:`jobs.outbox`).
- ``broadcasts``: admin broadcast drafts (``chat_id`` is the admin's) and whether they were queued.

Old rows go (:func:`prune_alerts`, hourly from the outbox job): finished outbox rows after
:data:`KEEP_OUTBOX_DAYS`, bodies and drafts nothing needs, and subscriptions inactive (stopped or
blocked) for ``inactive_user_retention_days``.
- ``question_counts``: questions per day for ``/stats`` (no chat ids, no text).
- ``alert_state``: ``digests_through``, the newest map version already turned into digests, so
  a version stored by the CLI (``careers-bot refresh``) or just before a crash still gets its
  digests (:func:`catch_up_digests`, run by the outbox job).

Delivery guarantee (documented here, enforced by :mod:`jobs.outbox`): a message part is marked
``sending`` (committed) before the Telegram call and counted after it. A crash between the two
leaves one row ``sending``; the next sender puts it back to ``pending`` and sends that part again.
So every subscriber gets exactly one notice, except that each crash can duplicate at most the one
message that was in flight. Nothing is ever lost.

Digests: :func:`change_context` collects titles, levels and routes of the occupations a change
list mentions; :func:`notices_for` picks what one subscription should hear about (``None`` when
nothing in its routes changed); :func:`render_digest` turns that into Telegram HTML parts of at
most 4,096 characters, numbered "(1/3)", with at most :data:`DIGEST_MAX_PARTS` parts (the rest is
behind a "Show all changes" button).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlite_utils
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.maps.diff import ChangeList
from bot.render import TELEGRAM_LIMIT, escape
from bot.storage import write_transaction

MESSAGES_FILE = "alerts_messages.yaml"
DIGEST_MAX_PARTS = 3
MAX_LINE_CHARS = 600
MAX_TITLES_LISTED = 3
TITLE_RESERVE, HEADER_RESERVE, FOOTER_RESERVE, MORE_RESERVE = 100, 400, 300, 100
ALL = "all"
STATES = ("pending", "sending", "sent", "failed", "skipped")
OUTBOX_LEASE = "outbox"
KEEP_OUTBOX_DAYS = 180

State = Literal["pending", "sending", "sent", "failed", "skipped"]
Kind = Literal["new", "changed", "retired"]


def _now_iso(now: dt.datetime | None = None) -> str:
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


# --- wording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertTexts:
    """The wording in ``knowledge/alerts_messages.yaml``."""

    messages: Mapping[str, Any]

    def message(self, key: str, **values: object) -> str:
        text = self.messages[key]
        return text.format(**values) if values else text

    def product_label(self, product_type: str | None) -> str:
        labels = self.messages.get("product_labels") or {}
        if product_type and product_type in labels:
            return str(labels[product_type])
        return str(product_type or self.messages.get("product_default", "Qualification"))


@lru_cache(maxsize=8)
def _load_texts(path: str, mtime_ns: int) -> AlertTexts:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return AlertTexts({k: v.strip("\n") if isinstance(v, str) else v for k, v in data.items()})


def load_alert_texts(knowledge_dir: Path | str | None = None) -> AlertTexts:
    """``alerts_messages.yaml`` from ``knowledge_dir`` (or the bundled one if it has none)."""
    path = Path(knowledge_dir or DEFAULT_KNOWLEDGE_DIR) / MESSAGES_FILE
    if not path.exists():
        path = DEFAULT_KNOWLEDGE_DIR / MESSAGES_FILE
    return _load_texts(str(path), path.stat().st_mtime_ns)


def long_date(iso: str | None, timezone: str = "Europe/London") -> str:
    """``2027-01-04T06:00:00+00:00`` as "4 January 2027" in the bot's time zone."""
    if not iso:
        return "?"
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return f"{moment.day} {moment:%B %Y}"


# --- schema ----------------------------------------------------------------------------------


def ensure_alerts_shape(db: sqlite_utils.Database) -> None:
    """Create the alerts tables and indexes if missing; existing rows are left alone."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS subscriptions (
            chat_id INTEGER PRIMARY KEY,
            routes TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            reason TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS outbox_bodies (
            id INTEGER PRIMARY KEY,
            body_key TEXT NOT NULL UNIQUE,
            refresh_key TEXT NOT NULL,
            parts TEXT NOT NULL,
            buttons TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            refresh_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            body_id INTEGER NOT NULL REFERENCES outbox_bodies(id),
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
            reason TEXT,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (chat_id, refresh_key)
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS outbox_lease (
            name TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT, pid INTEGER,
            expires_at REAL NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS broadcasts (
            id INTEGER PRIMARY KEY, chat_id INTEGER, text TEXT NOT NULL, created_at TEXT NOT NULL,
            queued_at TEXT, recipients INTEGER
        )"""
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS question_counts (day TEXT PRIMARY KEY, questions INTEGER NOT NULL)"
    )
    db.execute("CREATE TABLE IF NOT EXISTS alert_state (key TEXT PRIMARY KEY, value TEXT)")


# --- routes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    id: str
    name: str


def _route_key(route_id: str) -> tuple[int, str]:
    return (int(route_id) if route_id.isdigit() else 10_000, route_id)


def current_routes(db: sqlite_utils.Database) -> list[RouteInfo]:
    """The routes of the newest stored map (the bundled ``routes.json`` on an empty database)."""
    rows: list[dict[str, Any]] = []
    if db["map_versions"].exists():
        rows = list(db["map_versions"].rows_where(select="routes_json", order_by="version desc", limit=1))
    raw: list[dict[str, Any]] = json.loads(rows[0]["routes_json"] or "[]") if rows else []
    if not raw:
        from bot.maps.model import BUNDLED_DIR, parse_routes_file

        routes, _ = parse_routes_file(json.loads((BUNDLED_DIR / "routes.json").read_text("utf-8")))
        raw = [{"id": r.id, "name": r.name} for r in routes]
    found = {str(r["id"]): RouteInfo(str(r["id"]), str(r["name"])) for r in raw if r.get("id")}
    return sorted(found.values(), key=lambda r: _route_key(r.id))


def routes_mask(routes: frozenset[str] | None) -> str:
    """Routes as short hex for callback data: bit 0 is "all routes", bit n is route id n."""
    if routes is None:
        return "1"
    mask = 0
    for route_id in routes:
        if route_id.isdigit() and 0 < int(route_id) < 63:
            mask |= 1 << int(route_id)
    return format(mask, "x")


def routes_from_mask(text: str) -> frozenset[str] | None:
    """The inverse of :func:`routes_mask` (``None`` = all routes)."""
    mask = int(text, 16)
    if mask & 1:
        return None
    return frozenset(str(i) for i in range(1, 63) if mask & (1 << i))


def routes_text(routes: frozenset[str] | None) -> str:
    """How ``subscriptions.routes`` stores a choice: ``"all"`` or ``"5,8"``."""
    if routes is None:
        return ALL
    return ",".join(sorted(routes, key=_route_key))


def _routes_of(text: str) -> frozenset[str] | None:
    if text == ALL:
        return None
    return frozenset(part for part in text.split(",") if part)


# --- subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One chat's alert choice; ``routes`` is ``None`` for all routes (including future ones)."""

    chat_id: int
    routes: frozenset[str] | None
    active: bool = True
    created_at: str | None = None
    reason: str | None = None

    def covers(self, route_id: str | None) -> bool:
        return self.routes is None or (route_id is not None and route_id in self.routes)

    @property
    def key(self) -> str:
        return routes_text(self.routes)


def _subscription(row: Mapping[str, Any]) -> Subscription:
    return Subscription(row["chat_id"], _routes_of(row["routes"]), bool(row["active"]),
                        row["created_at"], row["reason"])


def subscribe(db: sqlite_utils.Database, chat_id: int, routes: Iterable[str] | None,
              *, now: dt.datetime | None = None) -> Subscription:
    """Subscribe (or change routes, or re-activate): one row per chat, never a duplicate."""
    ensure_alerts_shape(db)
    chosen = None if routes is None else frozenset(str(r) for r in routes)
    if chosen is not None and not chosen:
        raise ValueError("choose at least one route (or None for all routes)")
    stamp = _now_iso(now)
    with write_transaction(db):
        db.execute(
            "INSERT INTO subscriptions (chat_id, routes, active, created_at, updated_at, reason) "
            "VALUES (?, ?, 1, ?, ?, NULL) ON CONFLICT(chat_id) DO UPDATE SET "
            "routes = excluded.routes, active = 1, reason = NULL, updated_at = excluded.updated_at, "
            "created_at = CASE WHEN subscriptions.active = 1 THEN subscriptions.created_at "
            "ELSE excluded.created_at END",
            [chat_id, routes_text(chosen), stamp, stamp],
        )
        if db["users"].exists():
            db.execute("UPDATE users SET role = 'adviser' WHERE chat_id = ?", [chat_id])
    found = subscription_of(db, chat_id)
    assert found is not None
    return found


def unsubscribe(db: sqlite_utils.Database, chat_id: int, *, reason: str = "unsubscribed",
                now: dt.datetime | None = None) -> bool:
    """Stop all alerts for a chat; its pending notices are skipped. True if it was subscribed."""
    ensure_alerts_shape(db)
    stamp = _now_iso(now)
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE subscriptions SET active = 0, reason = ?, updated_at = ? "
            "WHERE chat_id = ? AND active = 1",
            [reason, stamp, chat_id],
        )
        was_active = cursor.rowcount > 0
        db.execute(
            "UPDATE outbox SET state = 'skipped', reason = ?, updated_at = ? "
            "WHERE chat_id = ? AND state = 'pending'",
            [reason, stamp, chat_id],
        )
    return was_active


def subscription_of(db: sqlite_utils.Database, chat_id: int) -> Subscription | None:
    """The chat's subscription row (active or not), or None if it never subscribed."""
    if not db["subscriptions"].exists():
        return None
    rows = list(db["subscriptions"].rows_where("chat_id = ?", [chat_id]))
    return _subscription(rows[0]) if rows else None


def is_subscribed(db: sqlite_utils.Database, chat_id: int) -> bool:
    row = db.execute("SELECT active FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()
    return bool(row and row[0])


def active_subscriptions(db: sqlite_utils.Database) -> list[Subscription]:
    if not db["subscriptions"].exists():
        return []
    return [_subscription(r) for r in db["subscriptions"].rows_where("active = 1", order_by="chat_id")]


# --- what changed, per route -----------------------------------------------------------------


@dataclass(frozen=True)
class OccupationInfo:
    """What a digest line needs to know about one occupation in one map version."""

    id: str
    title: str
    level: int | None
    route_id: str | None


@dataclass(frozen=True)
class MapContext:
    """Titles, levels and routes around a change list: before (``old``) and after (``new``)."""

    old: Mapping[str, OccupationInfo] = field(default_factory=dict)
    new: Mapping[str, OccupationInfo] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)  # id -> name, in display order
    titles: Mapping[str, str] = field(default_factory=dict)
    version: int | None = None
    previous: int | None = None
    refreshed_at: str | None = None
    retrieved_at: str | None = None
    source: str | None = None

    @classmethod
    def from_maps(cls, old: Mapping[str, Any], new: Mapping[str, Any], *,
                  routes: Iterable[Any] = (), **meta: Any) -> MapContext:
        """From two :class:`~bot.maps.model.OccupationMap` (or plain mappings of Occupation)."""

        def info(occupations: Mapping[str, Any]) -> dict[str, OccupationInfo]:
            return {i: OccupationInfo(o.id, o.title, o.level, o.route_id or o.route_name)
                    for i, o in occupations.items()}

        names: dict[str, str] = {}
        for route in (*getattr(old, "routes", ()), *getattr(new, "routes", ()), *routes):
            names[route.id] = route.name
        for occupation in (*old.values(), *new.values()):
            rid = occupation.route_id or occupation.route_name
            if rid and rid not in names:
                names[rid] = occupation.route_name or rid
        ordered = dict(sorted(names.items(), key=lambda kv: _route_key(kv[0])))
        return cls(info(old), info(new), ordered, **meta)

    def route_name(self, route_id: str | None) -> str | None:
        if route_id is None:
            return None
        return self.routes.get(route_id, route_id)

    def route_id_for(self, label: Any) -> str | None:
        """A route id from what a change list holds (a route name, or an id)."""
        if label is None:
            return None
        text = str(label)
        if text in self.routes:
            return text
        folded = text.casefold().strip()
        return next((rid for rid, name in self.routes.items() if name.casefold() == folded), None)


def change_context(db: sqlite_utils.Database, changes: ChangeList, *,
                   titles: Mapping[str, str] | None = None, source: str | None = None) -> MapContext:
    """The context for a stored change list: the versions it goes from and to."""
    from bot.maps.store import load_version

    if changes.to_version is None:
        raise ValueError("the change list has no to_version")
    new_map = load_version(db, changes.to_version)
    old_map = load_version(db, changes.from_version) if changes.from_version else {}
    meta = list(db["map_versions"].rows_where("version = ?", [changes.to_version],
                                              select="fetched_at, retrieved_at, source"))
    row = meta[0] if meta else {}
    return MapContext.from_maps(
        old_map, new_map,
        titles=dict(titles or {}),
        version=changes.to_version,
        previous=changes.from_version,
        refreshed_at=row.get("fetched_at"),
        retrieved_at=row.get("retrieved_at"),
        source=source or row.get("source"),
    )


@dataclass(frozen=True)
class Fact:
    """One thing that changed, as a message key and its values (rendered later)."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, key: str, **values: Any) -> Fact:
        return cls(key, tuple(values.items()))


@dataclass(frozen=True)
class DigestLine:
    occupation_id: str
    title: str
    level: int | None
    kind: Kind
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class RouteSection:
    route_id: str | None
    route_name: str | None
    lines: tuple[DigestLine, ...]


@dataclass(frozen=True)
class Digest:
    """What one subscriber hears about one refresh: counts and lines grouped by route."""

    version: int | None
    previous: int | None
    refreshed_at: str | None
    retrieved_at: str | None
    source: str | None
    new: int
    retired: int
    changed: int
    sections: tuple[RouteSection, ...]

    @property
    def line_count(self) -> int:
        return sum(len(s.lines) for s in self.sections)


_KIND_ORDER = {"new": 0, "changed": 1, "retired": 2}


def _product_facts(products: Sequence[Any], key: str) -> list[Fact]:
    counts = Counter(p.type for p in products)
    return [Fact.of(key, product_type=t, count=n) for t, n in counts.items()]


def _title_facts(titles: Sequence[str], key: str) -> list[Fact]:
    return [Fact.of(key, titles=tuple(titles))] if titles else []


def _placements(changes: ChangeList, context: MapContext) -> list[tuple[str | None, DigestLine]]:
    """Every (route, line) the change list produces; a move appears on both routes."""
    placed: list[tuple[str | None, DigestLine]] = []

    def describe(occupation_id: str) -> tuple[str, int | None]:
        info = context.new.get(occupation_id) or context.old.get(occupation_id)
        title = info.title if info else context.titles.get(occupation_id, occupation_id)
        return title, info.level if info else None

    for occupation_id in changes.added:
        title, level = describe(occupation_id)
        info = context.new.get(occupation_id)
        placed.append((info.route_id if info else None,
                       DigestLine(occupation_id, title, level, "new", (Fact.of("change_new"),))))
    for occupation_id in changes.removed:
        old = context.old.get(occupation_id)
        info = old or context.new.get(occupation_id)
        title = (info.title if info else None) or context.titles.get(occupation_id, occupation_id)
        placed.append((info.route_id if info else None,
                       DigestLine(occupation_id, title, info.level if info else None, "retired",
                                  (Fact.of("change_retired"),))))
    for change in changes.changed:
        title, level = describe(change.id)
        old, new = context.old.get(change.id), context.new.get(change.id)
        facts: list[Fact] = []
        for name, (before, after) in change.fields.items():
            if name == "route":
                continue
            if name == "title":
                facts.append(Fact.of("change_renamed", old=before))
            elif name == "level":
                facts.append(Fact.of("change_level", old=before, new=after))
            elif name in ("pathway", "cluster", "status"):
                facts.append(Fact.of(f"change_{name}", old=before, new=after))
            else:
                facts.append(Fact.of("change_field", field=name, old=before, new=after))
        facts += _product_facts(change.products_added, "change_product_added")
        facts += _product_facts(change.products_removed, "change_product_removed")
        for before, after in change.products_changed:
            label = f"{after.code or after.title}"
            if before.level != after.level:
                facts.append(Fact.of("change_product_level", product=label, product_type=after.type,
                                     old=before.level, new=after.level))
            else:
                facts.append(Fact.of("change_product_status", product=label, product_type=after.type,
                                     old=before.status or "-", new=after.status or "-"))
        facts += _title_facts(change.job_titles_added, "change_job_titles_added")
        facts += _title_facts(change.job_titles_removed, "change_job_titles_removed")
        new_route = new.route_id if new else None
        old_route = old.route_id if old else None
        if "route" in change.fields:
            before, after = change.fields["route"]
            old_route = old_route or context.route_id_for(before)
            new_route = new_route or context.route_id_for(after)
        if "route" in change.fields and old_route != new_route:
            before, after = change.fields["route"]
            to_name = context.route_name(new_route) or str(after)
            from_name = context.route_name(old_route) or str(before)
            placed.append((old_route, DigestLine(change.id, title, level, "changed",
                                                 (Fact.of("change_moved_to", route=to_name), *facts))))
            placed.append((new_route, DigestLine(change.id, title, level, "changed",
                                                 (Fact.of("change_moved_from", route=from_name), *facts))))
        elif facts:
            placed.append((new_route or old_route,
                           DigestLine(change.id, title, level, "changed", tuple(facts))))
    return placed


def notices_for(subscription: Subscription, changes: ChangeList, context: MapContext) -> Digest | None:
    """The digest one subscription gets for a change list, or None if its routes did not change."""
    placed = [(rid, line) for rid, line in _placements(changes, context) if subscription.covers(rid)]
    if not placed:
        return None
    by_route: dict[str | None, list[DigestLine]] = {}
    for rid, line in placed:
        by_route.setdefault(rid, []).append(line)
    order = {rid: i for i, rid in enumerate(context.routes)}
    sections = tuple(
        RouteSection(rid, context.route_name(rid),
                     tuple(sorted(lines, key=lambda x: (_KIND_ORDER[x.kind], x.title.casefold(), x.occupation_id))))
        for rid, lines in sorted(by_route.items(),
                                 key=lambda kv: (order.get(kv[0], 10_000) if kv[0] else 20_000, str(kv[0])))
    )
    kinds: dict[str, str] = {}
    for _, line in placed:
        kinds.setdefault(line.occupation_id, line.kind)
    counted = Counter(kinds.values())
    return Digest(context.version, context.previous, context.refreshed_at, context.retrieved_at,
                  context.source, counted["new"], counted["retired"], counted["changed"], sections)


# --- rendering -------------------------------------------------------------------------------


class DigestParts(list[str]):
    """Rendered message parts; ``omitted`` counts lines left for "Show all changes"."""

    omitted: int = 0
    lines: int = 0


def source_name(source: str | None, texts: AlertTexts) -> str:
    if not source:
        return texts.message("source_unknown")
    if source.startswith("api"):
        return texts.message("source_api")
    if source.startswith("bundled"):
        return texts.message("source_bundled")
    name = source.rstrip("/").rsplit("/", 1)[-1] or source
    return texts.message("source_file", name=name)


def _value(value: Any, texts: AlertTexts) -> str:
    if value in (None, ""):
        return texts.message("empty_value")
    text = str(value)
    return text if len(text) <= 150 else text[:149] + "…"


def render_fact(fact: Fact, texts: AlertTexts) -> str:
    """One fact as escaped HTML ("Level 3 → 4", "moved to Digital", "T Level added")."""
    values = dict(fact.values)
    if fact.key in ("change_product_added", "change_product_removed"):
        text = texts.message(fact.key, product=texts.product_label(values["product_type"]))
        if values.get("count", 1) > 1:
            text += texts.message("change_times", count=values["count"])
        return escape(text)
    if fact.key in ("change_product_status", "change_product_level"):
        kind = texts.product_label(values.pop("product_type"))
        return escape(texts.message(fact.key, kind=kind, **{k: _value(v, texts) for k, v in values.items()}))
    if fact.key in ("change_job_titles_added", "change_job_titles_removed"):
        titles = list(values["titles"])
        shown = ", ".join(titles[:MAX_TITLES_LISTED])
        if len(titles) > MAX_TITLES_LISTED:
            shown += texts.message("change_more_titles", count=len(titles) - MAX_TITLES_LISTED)
        return escape(texts.message(fact.key, titles=shown))
    return escape(texts.message(fact.key, **{k: _value(v, texts) for k, v in values.items()}))


def render_line(line: DigestLine, texts: AlertTexts) -> str:
    details = texts.message("details_separator").join(render_fact(f, texts) for f in line.facts)
    title = line.title if len(line.title) <= 200 else line.title[:199] + "…"
    if line.level is None:
        text = texts.message("line_no_level", title=escape(title), details=details)
    else:
        text = texts.message("line", title=escape(title), level=line.level, details=details)
    if len(text) > MAX_LINE_CHARS:  # cut on a fact boundary so no tag or entity is broken
        facts = [render_fact(f, texts) for f in line.facts]
        key = "line_no_level" if line.level is None else "line"
        while len(facts) > 1 and len(text) > MAX_LINE_CHARS:
            facts.pop()
            text = texts.message(key, title=escape(title), level=line.level,
                                 details=texts.message("details_separator").join(facts) + " …")
    return text


def _header(digest: Digest, texts: AlertTexts, counts_line: str, timezone: str) -> list[str]:
    previous = texts.message("digest_previous", previous=digest.previous) if digest.previous else ""
    lines = [texts.message("digest_refreshed", date=long_date(digest.refreshed_at, timezone),
                           source=escape(source_name(digest.source, texts)),
                           version=digest.version if digest.version is not None else "?",
                           previous=previous)]
    if digest.retrieved_at:
        lines.append(texts.message("digest_data_date", date=long_date(digest.retrieved_at, timezone)))
    lines.append(counts_line)
    return lines


def render_digest(
    digest: Digest,
    texts: AlertTexts | None = None,
    *,
    limit: int = TELEGRAM_LIMIT,
    max_parts: int | None = DIGEST_MAX_PARTS,
    title_key: str = "digest_title",
    counts_line: str | None = None,
    footer_key: str = "digest_footer",
    timezone: str = "Europe/London",
) -> DigestParts:
    """Telegram HTML parts of at most ``limit`` characters, numbered "(1/3)" when split.

    Lines are never cut; a route that continues on the next part repeats its heading. With
    more than ``max_parts`` parts, the last one ends with "…and N more changes" and
    ``DigestParts.omitted`` says how many lines are behind the "Show all changes" button.
    """
    texts = texts or load_alert_texts()
    title = texts.message(title_key)
    if counts_line is None:
        counts_line = texts.message("digest_counts", new=digest.new, retired=digest.retired,
                                    changed=digest.changed)
    header = "\n".join(_header(digest, texts, counts_line, timezone))
    footer = texts.message(footer_key)
    numbering = len(texts.message("part_number", index=99, total=99))
    more = len(texts.message("more_changes", count=99999))
    # Fixed reserves (unless the wording outgrows them), so a digest and the /changes pages of
    # the same routes break at the same lines: "Show all changes" opens page N+1 exactly where
    # the digest stopped.
    budget = (limit - max(len(title), TITLE_RESERVE) - numbering - max(len(footer), FOOTER_RESERVE)
              - max(more, MORE_RESERVE) - 8)
    if budget < 200:
        raise ValueError("limit too small for a digest")

    # Pack: each part is a list of text blocks joined by newlines.
    parts: list[list[str]] = [[header]]
    line_counts: list[int] = [0]
    sizes = [max(len(header), HEADER_RESERVE)]
    for section in digest.sections:
        name = escape(section.route_name or texts.message("other_route"))
        heading = texts.message("route_heading", route=name)
        started = False
        for line in section.lines:
            text = render_line(line, texts)
            if not started:
                need = len(heading) + len(text) + 3  # blank line + heading + line
                if sizes[-1] + need > budget and line_counts[-1]:
                    parts.append([])
                    sizes.append(0)
                    line_counts.append(0)
                parts[-1].extend(["", heading, text] if parts[-1] else [heading, text])
                sizes[-1] += need
                started = True
                line_counts[-1] += 1
                continue
            if sizes[-1] + len(text) + 1 > budget:
                again = texts.message("route_continued", route=name)
                parts.append([again, text])
                sizes.append(len(again) + len(text) + 1)
                line_counts.append(1)
                continue
            parts[-1].append(text)
            sizes[-1] += len(text) + 1
            line_counts[-1] += 1

    omitted = 0
    if max_parts is not None and len(parts) > max_parts:
        omitted = sum(line_counts[max_parts:])
        parts = parts[:max_parts]
    total = len(parts)
    rendered = DigestParts()
    for index, blocks in enumerate(parts, start=1):
        number = texts.message("part_number", index=index, total=total) if total > 1 else ""
        body = "\n".join(blocks)
        tail = [footer] if index == total else []
        if index == total and omitted:
            tail = [texts.message("more_changes", count=omitted), footer]
        text = "\n".join([title + number, body, *([""] + tail if tail else [])])
        assert len(text) <= limit, (len(text), limit)
        rendered.append(text)
    rendered.omitted = omitted
    rendered.lines = digest.line_count
    return rendered


# --- enqueueing ------------------------------------------------------------------------------


def refresh_key(version: int) -> str:
    return f"maps:v{version}"


def show_all_data(version: int, routes: frozenset[str] | None, page: int) -> str:
    """Callback data of "Show all changes": the /changes pages for these routes (new message)."""
    return f"chg:{version}:{routes_mask(routes)}:{page}:n"


def _store_body(db: sqlite_utils.Database, body_key: str, key: str, parts: Sequence[str],
                buttons: Sequence[Sequence[tuple[str, str]]] = (), now: str | None = None) -> int:
    db.execute(
        "INSERT OR IGNORE INTO outbox_bodies (body_key, refresh_key, parts, buttons, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [body_key, key, json.dumps(list(parts), ensure_ascii=False),
         json.dumps([[list(b) for b in row] for row in buttons], ensure_ascii=False), now or _now_iso()],
    )
    row = db.execute("SELECT id FROM outbox_bodies WHERE body_key = ?", [body_key]).fetchone()
    return int(row[0])


def _enqueue_rows(db: sqlite_utils.Database, rows: Sequence[tuple[int, str, str, int]], now: str) -> int:
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO outbox (chat_id, refresh_key, kind, body_id, state, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        [(chat_id, key, kind, body_id, now, now) for chat_id, key, kind, body_id in rows],
    )
    return db.conn.total_changes - before


def enqueue_digests(db: sqlite_utils.Database, report: Any, *, context: MapContext | None = None,
                    texts: AlertTexts | None = None, timezone: str = "Europe/London",
                    now: dt.datetime | None = None) -> int:
    """Write one outbox row per subscriber whose routes changed; returns how many were new.

    ``report`` is a :class:`~bot.maps.refresh.RefreshReport` (or anything with ``changes`` and
    optionally ``titles`` and ``source``). Idempotent per refresh version: running it again for
    the same version adds nothing (``UNIQUE(chat_id, refresh_key)``).
    """
    ensure_alerts_shape(db)
    changes: ChangeList = report.changes
    if not len(changes) or changes.to_version is None:
        return 0
    texts = texts or load_alert_texts()
    context = context or change_context(db, changes, titles=getattr(report, "titles", None),
                                        source=getattr(report, "source", None))
    key = refresh_key(changes.to_version)
    stamp = _now_iso(now)
    groups: dict[str, list[Subscription]] = {}
    for subscription in active_subscriptions(db):
        groups.setdefault(subscription.key, []).append(subscription)
    inserted = 0
    with write_transaction(db):
        _advance_digests_through(db, changes.to_version)
        for routes_key, members in groups.items():
            digest = notices_for(members[0], changes, context)
            if digest is None:
                continue
            parts = render_digest(digest, texts, timezone=timezone)
            buttons: list[list[tuple[str, str]]] = []
            if parts.omitted:
                buttons = [[(texts.message("show_all"),
                             show_all_data(changes.to_version, members[0].routes, len(parts) + 1))]]
            body_id = _store_body(db, f"{key}|{routes_key}", key, parts, buttons, stamp)
            inserted += _enqueue_rows(db, [(m.chat_id, key, "digest", body_id) for m in members], stamp)
    return inserted


DIGESTS_THROUGH = "digests_through"


def digests_through(db: sqlite_utils.Database) -> int | None:
    """The newest map version whose digests were queued (None before the first check)."""
    row = db.execute("SELECT value FROM alert_state WHERE key = ?", [DIGESTS_THROUGH]).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _advance_digests_through(db: sqlite_utils.Database, version: int) -> None:
    db.execute(
        "INSERT INTO alert_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = CASE WHEN CAST(alert_state.value AS INTEGER) >= CAST(excluded.value AS INTEGER) "
        "THEN alert_state.value ELSE excluded.value END",
        [DIGESTS_THROUGH, str(version)],
    )


def catch_up_digests(db: sqlite_utils.Database, *, texts: AlertTexts | None = None,
                     timezone: str = "Europe/London", now: dt.datetime | None = None) -> int:
    """Queue digests for map versions stored since the last check; returns rows queued.

    The bot's refresh job queues digests through its hook at once; this catches the rest: a
    version stored by ``careers-bot refresh`` in another process, or by a bot that crashed
    before its hook ran. The very first check only records the newest version, so deploying
    alerts never sends a digest of an old refresh. Idempotent, like :func:`enqueue_digests`.
    """
    ensure_alerts_shape(db)
    if not db["map_versions"].exists():
        return 0
    latest = db.execute("SELECT max(version) FROM map_versions").fetchone()[0]
    if latest is None:
        return 0
    marker = digests_through(db)
    if marker is None:
        _advance_digests_through(db, latest)
        return 0
    if latest <= marker:
        return 0
    queued = 0
    versions = db.execute("SELECT version, source FROM map_versions WHERE version > ? AND "
                          "added + removed + changed > 0 ORDER BY version", [marker]).fetchall()
    for version, source in versions:
        changes = changes_for_version(db, version)
        if changes is not None:
            report = SimpleNamespace(changes=changes, titles={}, source=source)
            queued += enqueue_digests(db, report, texts=texts, timezone=timezone, now=now)
    _advance_digests_through(db, latest)
    return queued


def create_broadcast(db: sqlite_utils.Database, chat_id: int | None, text: str,
                     *, now: dt.datetime | None = None) -> int:
    """Keep an admin's broadcast text until it is confirmed; returns its id."""
    ensure_alerts_shape(db)
    cursor = db.execute("INSERT INTO broadcasts (chat_id, text, created_at) VALUES (?, ?, ?)",
                        [chat_id, text, _now_iso(now)])
    return int(cursor.lastrowid or 0)


def enqueue_broadcast(db: sqlite_utils.Database, broadcast_id: int, parts: Sequence[str],
                      *, now: dt.datetime | None = None) -> int:
    """Queue a confirmed broadcast for every active subscriber; idempotent per broadcast."""
    ensure_alerts_shape(db)
    key = f"broadcast:{broadcast_id}"
    stamp = _now_iso(now)
    with write_transaction(db):
        body_id = _store_body(db, key, key, parts, (), stamp)
        chats = [s.chat_id for s in active_subscriptions(db)]
        inserted = _enqueue_rows(db, [(c, key, "broadcast", body_id) for c in chats], stamp)
        db.execute("UPDATE broadcasts SET queued_at = COALESCE(queued_at, ?), "
                   "recipients = COALESCE(recipients, 0) + ? WHERE id = ?",
                   [stamp, inserted, broadcast_id])
    return inserted


# --- the sending window ----------------------------------------------------------------------


def in_send_window(now: dt.datetime, start: dt.time, end: dt.time, tz: str | ZoneInfo) -> bool:
    """Whether ``now`` is inside the daily window in ``tz``; ``start == end`` means always.

    ``start < end`` is a daytime window (``start <= t < end``); ``start > end`` wraps midnight.
    """
    if start == end:
        return True
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    moment = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


# --- outbox state transitions ----------------------------------------------------------------


@dataclass
class OutboxItem:
    """A row being delivered, with its text."""

    id: int
    chat_id: int
    kind: str
    refresh_key: str
    parts: list[str]
    buttons: list[list[list[str]]]
    parts_sent: int
    attempts: int

    @property
    def done(self) -> bool:
        return self.parts_sent >= len(self.parts)


def due_items(db: sqlite_utils.Database, limit: int, *, now: dt.datetime | None = None) -> list[OutboxItem]:
    """Pending rows whose retry time has come, oldest first, with their bodies."""
    stamp = _now_iso(now)
    rows = db.execute(
        "SELECT o.id, o.chat_id, o.kind, o.refresh_key, o.body_id, o.parts_sent, o.attempts "
        "FROM outbox o WHERE o.state = 'pending' AND (o.not_before IS NULL OR o.not_before <= ?) "
        "ORDER BY o.id LIMIT ?",
        [stamp, limit],
    ).fetchall()
    bodies: dict[int, tuple[list[str], list[list[list[str]]]]] = {}
    for body_id in {r[4] for r in rows}:
        parts, buttons = db.execute("SELECT parts, buttons FROM outbox_bodies WHERE id = ?",
                                    [body_id]).fetchone()
        bodies[body_id] = (json.loads(parts), json.loads(buttons or "[]"))
    return [OutboxItem(r[0], r[1], r[2], r[3], *bodies[r[4]], r[5], r[6]) for r in rows]


def claim(db: sqlite_utils.Database, row_id: int) -> bool:
    """pending → sending, committed before the Telegram call; False if no longer pending."""
    cursor = db.execute("UPDATE outbox SET state = 'sending', updated_at = ? "
                        "WHERE id = ? AND state = 'pending'", [_now_iso(), row_id])
    return cursor.rowcount == 1


def part_sent(db: sqlite_utils.Database, row_id: int, parts_sent: int, total: int) -> State:
    """sending → pending (more parts) or sent (last part); returns the new state."""
    stamp = _now_iso()
    state: State = "sent" if parts_sent >= total else "pending"
    db.execute("UPDATE outbox SET state = ?, parts_sent = ?, attempts = 0, not_before = NULL, "
               "reason = NULL, updated_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END "
               "WHERE id = ?", [state, parts_sent, stamp, state, stamp, row_id])
    return state


def release(db: sqlite_utils.Database, row_id: int, *, reason: str | None = None,
            not_before: dt.datetime | None = None, attempt: bool = False) -> None:
    """sending → pending, optionally not before a time (rate limit, network retry)."""
    db.execute("UPDATE outbox SET state = 'pending', reason = ?, not_before = ?, "
               "attempts = attempts + ?, updated_at = ? WHERE id = ? AND state IN ('sending', 'pending')",
               [reason, _now_iso(not_before) if not_before else None, 1 if attempt else 0,
                _now_iso(), row_id])


def mark_failed(db: sqlite_utils.Database, row_id: int, reason: str) -> None:
    db.execute("UPDATE outbox SET state = 'failed', reason = ?, updated_at = ? WHERE id = ?",
               [reason[:500], _now_iso(), row_id])


def mark_skipped(db: sqlite_utils.Database, row_id: int, reason: str = "unsubscribed") -> None:
    db.execute("UPDATE outbox SET state = 'skipped', reason = ?, updated_at = ? WHERE id = ?",
               [reason, _now_iso(), row_id])


def recover_in_flight(db: sqlite_utils.Database) -> int:
    """After a crash: rows left ``sending`` go back to ``pending`` (their part is sent again)."""
    cursor = db.execute("UPDATE outbox SET state = 'pending', reason = 'resumed after a crash', "
                        "updated_at = ? WHERE state = 'sending'", [_now_iso()])
    return cursor.rowcount


def deactivate(db: sqlite_utils.Database, chat_id: int, reason: str) -> None:
    """The chat cannot be reached (blocked the bot): stop its alerts and skip what is queued."""
    unsubscribe(db, chat_id, reason=reason)


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    if db["outbox"].exists():
        for state, count in db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall():
            counts[state] = count
    return counts


def has_due(db: sqlite_utils.Database, *, now: dt.datetime | None = None) -> bool:
    if not db["outbox"].exists():
        return False
    row = db.execute("SELECT 1 FROM outbox WHERE state IN ('pending', 'sending') AND "
                     "(not_before IS NULL OR not_before <= ?) LIMIT 1", [_now_iso(now)]).fetchone()
    return row is not None


# --- the sender lease ------------------------------------------------------------------------


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease(db: sqlite_utils.Database, holder: str, ttl_s: float, now: float) -> bool:
    """Become the one sender, unless a live sender holds an unexpired lease.

    A lease held by a process on this host that no longer exists (killed mid-broadcast) is taken
    over at once, so a restart resumes without waiting for the lease to expire.
    """
    host, pid = socket.gethostname(), os.getpid()
    with write_transaction(db):
        row = db.execute("SELECT holder, host, pid, expires_at FROM outbox_lease WHERE name = ?",
                         [OUTBOX_LEASE]).fetchone()
        free = (row is None or row[0] == holder or row[3] < now
                or (row[1] == host and row[2] != pid and not _alive(row[2])))
        if free:
            db.execute("INSERT OR REPLACE INTO outbox_lease (name, holder, host, pid, expires_at) "
                       "VALUES (?, ?, ?, ?, ?)", [OUTBOX_LEASE, holder, host, pid, now + ttl_s])
    return free


def renew_lease(db: sqlite_utils.Database, holder: str, ttl_s: float, now: float) -> bool:
    cursor = db.execute("UPDATE outbox_lease SET expires_at = ? WHERE name = ? AND holder = ?",
                        [now + ttl_s, OUTBOX_LEASE, holder])
    return cursor.rowcount == 1


def release_lease(db: sqlite_utils.Database, holder: str) -> None:
    db.execute("DELETE FROM outbox_lease WHERE name = ? AND holder = ?", [OUTBOX_LEASE, holder])


# --- statistics ------------------------------------------------------------------------------


def count_question(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
                   timezone: str = "Europe/London") -> None:
    """Add one to today's question count (no chat id, no text)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    db.execute("INSERT INTO question_counts (day, questions) VALUES (?, 1) "
               "ON CONFLICT(day) DO UPDATE SET questions = questions + 1", [moment.date().isoformat()])


@dataclass(frozen=True)
class AlertStats:
    date: str
    students: int
    questions_today: int
    unanswered_today: int
    subscribers: int
    per_route: tuple[tuple[str, int], ...]
    last_refresh: Mapping[str, str | None]
    latest_version: Mapping[str, Any] | None
    outbox: Mapping[str, int]


def stats(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
          timezone: str = "Europe/London") -> AlertStats:
    """What ``/stats`` shows: students, today's questions, subscribers per route, refresh, outbox."""
    ensure_alerts_shape(db)
    zone = ZoneInfo(timezone)
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    midnight = dt.datetime.combine(local.date(), dt.time(0), zone).astimezone(dt.UTC)
    students = db.execute("SELECT count(*) FROM users WHERE role IS NULL OR role != 'adviser'").fetchone()[0] \
        if db["users"].exists() else 0
    row = db.execute("SELECT questions FROM question_counts WHERE day = ?",
                     [local.date().isoformat()]).fetchone()
    unanswered = db["unanswered"].count_where("asked_at >= ?", [midnight.isoformat(timespec="seconds")]) \
        if db["unanswered"].exists() else 0
    subscriptions = active_subscriptions(db)
    names = {r.id: r.name for r in current_routes(db)}
    counts: Counter[str] = Counter()
    for subscription in subscriptions:
        if subscription.routes is None:
            counts[ALL] += 1
        else:
            counts.update(subscription.routes)
    per_route = [(names.get(rid, rid), counts[rid]) for rid in sorted(counts, key=_route_key) if rid != ALL]
    if counts[ALL]:
        per_route.insert(0, (ALL, counts[ALL]))
    refresh: dict[str, str | None] = {}
    if db["map_state"].exists():
        for key in ("last_attempt_at", "last_status", "last_reason", "last_success_at"):
            found = db.execute("SELECT value FROM map_state WHERE key = ?", [key]).fetchone()
            refresh[key] = found[0] if found else None
    latest = None
    if db["map_versions"].exists():
        rows = list(db["map_versions"].rows_where(select="version, fetched_at, source, added, removed, changed",
                                                  order_by="version desc", limit=1))
        latest = rows[0] if rows else None
    return AlertStats(local.date().isoformat(), students, row[0] if row else 0, unanswered,
                      len(subscriptions), tuple(per_route), refresh, latest, outbox_counts(db))


def latest_changes(db: sqlite_utils.Database) -> ChangeList | None:
    """The change list of the newest version that changed anything (None if there is none)."""
    if not db["map_versions"].exists():
        return None
    row = db.execute("SELECT version, changes_json FROM map_versions WHERE added + removed + changed > 0 "
                     "ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return None
    changes = ChangeList.from_json(json.loads(row[1] or "{}"))
    if changes.to_version is None:
        from dataclasses import replace

        changes = replace(changes, to_version=row[0])
    return changes


def changes_for_version(db: sqlite_utils.Database, version: int) -> ChangeList | None:
    from bot.maps.store import version_changes

    try:
        changes = version_changes(db, version)
    except KeyError:
        return None
    if changes.to_version is None:
        from dataclasses import replace

        changes = replace(changes, to_version=version)
    return changes


def find_route(routes: Sequence[RouteInfo], text: str) -> RouteInfo | None:
    """The route a user means by ``text``: its id, its name, or words from its name."""
    wanted = " ".join(text.casefold().replace("&", "and").split())
    if not wanted:
        return None
    for route in routes:
        if wanted == route.id or wanted == route.name.casefold():
            return route
    for route in routes:
        if route.name.casefold().startswith(wanted):
            return route
    words = [w for w in wanted.replace(",", " ").split() if w not in ("and", "the", "route")]
    for route in routes:
        name = route.name.casefold().replace(",", " ")
        if words and all(any(part.startswith(w) for part in name.split()) for w in words):
            return route
    return None


def prune_alerts(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
                 keep_days: int = KEEP_OUTBOX_DAYS, inactive_days: int = 365) -> int:
    """Delete what alerts no longer need; returns the number of rows deleted.

    Finished outbox rows (sent, failed, skipped) older than ``keep_days``, bodies no row uses,
    drafts never confirmed after a day, and subscriptions stopped or blocked ``inactive_days`` ago.
    Pending rows are never touched.
    """
    ensure_alerts_shape(db)
    moment = now or dt.datetime.now(dt.UTC)

    def before(days: float) -> str:
        return _now_iso(moment - dt.timedelta(days=days))

    deleted = 0
    with write_transaction(db):
        for sql, args in (
            ("DELETE FROM outbox WHERE state IN ('sent', 'failed', 'skipped') AND updated_at < ?",
             [before(keep_days)]),
            ("DELETE FROM outbox_bodies WHERE id NOT IN (SELECT body_id FROM outbox)", []),
            ("DELETE FROM broadcasts WHERE queued_at IS NULL AND created_at < ?", [before(1)]),
            ("DELETE FROM subscriptions WHERE active = 0 AND updated_at < ?", [before(inactive_days)]),
        ):
            deleted += db.execute(sql, args).rowcount
    return deleted
