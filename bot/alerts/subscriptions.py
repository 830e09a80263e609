"""Who hears about map changes: one subscription per chat, to some routes or all of them.

``subscriptions`` has one row per chat: ``routes`` (``"all"`` or sorted route ids such as
``"5,8"``), ``active`` (1/0) and ``reason`` for a deactivation (``unsubscribed``, ``blocked``).
Subscribing again updates the row: a chat never has two subscriptions. Unsubscribing skips the
chat's queued notices in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.db import iso, write_transaction
from bot.maps.parse import bundled_routes
from bot.maps.store import latest_routes
from bot.usage import set_role

ALL = "all"


@dataclass(frozen=True)
class RouteInfo:
    id: str
    name: str


def route_key(route_id: str) -> tuple[int, str]:
    return (int(route_id) if route_id.isdigit() else 10_000, route_id)


def current_routes(db: sqlite_utils.Database) -> list[RouteInfo]:
    """The routes of the newest stored map (the bundled ``routes.json`` on an empty database)."""
    routes = latest_routes(db) or bundled_routes()
    found = {r.id: RouteInfo(r.id, r.name) for r in routes if r.id}
    return sorted(found.values(), key=lambda r: route_key(r.id))


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
    return ",".join(sorted(routes, key=route_key))


def _routes_of(text: str) -> frozenset[str] | None:
    if text == ALL:
        return None
    return frozenset(part for part in text.split(",") if part)



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
    chosen = None if routes is None else frozenset(str(r) for r in routes)
    if chosen is not None and not chosen:
        raise ValueError("choose at least one route (or None for all routes)")
    stamp = iso(now)
    with write_transaction(db):
        db.execute(
            "INSERT INTO subscriptions (chat_id, routes, active, created_at, updated_at, reason) "
            "VALUES (?, ?, 1, ?, ?, NULL) ON CONFLICT(chat_id) DO UPDATE SET "
            "routes = excluded.routes, active = 1, reason = NULL, updated_at = excluded.updated_at, "
            "created_at = CASE WHEN subscriptions.active = 1 THEN subscriptions.created_at "
            "ELSE excluded.created_at END",
            [chat_id, routes_text(chosen), stamp, stamp],
        )
        set_role(db, chat_id, "adviser")
    found = subscription_of(db, chat_id)
    assert found is not None
    return found


def unsubscribe(db: sqlite_utils.Database, chat_id: int, *, reason: str = "unsubscribed",
                now: dt.datetime | None = None) -> bool:
    """Stop all alerts for a chat; its pending notices are skipped. True if it was subscribed."""
    stamp = iso(now)
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
    rows = list(db.table("subscriptions").rows_where("chat_id = ?", [chat_id]))
    return _subscription(rows[0]) if rows else None


def is_subscribed(db: sqlite_utils.Database, chat_id: int) -> bool:
    """Whether the chat has an active subscription."""
    row = db.execute("SELECT active FROM subscriptions WHERE chat_id = ?", [chat_id]).fetchone()
    return bool(row and row[0])


def active_subscriptions(db: sqlite_utils.Database) -> list[Subscription]:
    """Every active subscription, by chat id."""
    rows = db.table("subscriptions").rows_where("active = 1", order_by="chat_id")
    return [_subscription(r) for r in rows]



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


