"""The durable outbox: every notice is written to SQLite before anything is sent.

- ``outbox``: one row per notice: subscriber × refresh (``refresh_key`` ``maps:v13``) or
  subscriber × broadcast (``broadcast:4``), unique per chat and key, so enqueuing twice never
  doubles a notice. ``state`` moves ``pending → sending → pending`` once per message part until
  ``sent``, or ends ``failed`` (``reason`` says why) or ``skipped`` (``unsubscribed`` …).
- ``outbox_bodies``: the rendered text of each distinct notice (all subscribers with the same
  routes share one body), so a resumed send uses exactly the text first enqueued. A digest
  whose subscriber changed routes before its first part went out is re-rendered for the new
  routes first (:func:`current_digest`).
- ``broadcasts``: admin broadcast drafts (``chat_id`` is the admin's) and whether they were queued.
- ``alert_state``: ``digests_through``, the newest map version already turned into digests, so a
  version stored by ``careers-bot refresh`` or just before a crash still gets its digests
  (:func:`catch_up_digests`); ``last_digest_sent_at``, for /changes and /about.

Delivery guarantee (enforced by the sender, :mod:`jobs.outbox`): a message part is marked
``sending`` (committed) before the Telegram call and counted after it. A crash between the two
leaves one row ``sending``; the next sender puts it back to ``pending`` and sends that part again.
So every subscriber gets exactly one notice, except that each crash can duplicate at most the one
message that was in flight. Nothing is ever lost. Old rows go (:func:`prune_alerts`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.alerts.digest import (
    ChangeContexts,
    Digest,
    MapContext,
    change_context,
    notices_for,
    render_digest,
)
from bot.alerts.subscriptions import (
    Subscription,
    active_subscriptions,
    routes_mask,
    subscription_of,
    unsubscribe,
)
from bot.db import iso, write_transaction
from bot.knowledge import Messages, bundled_messages
from bot.maps.diff import ChangeList
from bot.maps.store import changed_versions, latest_version, version_changes

STATES = ("pending", "sending", "sent", "failed", "skipped")
OUTBOX_LEASE = "outbox"
KEEP_OUTBOX_DAYS = 180

State = Literal["pending", "sending", "sent", "failed", "skipped"]


def refresh_key(version: int) -> str:
    return f"maps:v{version}"


def version_of(key: str) -> int | None:
    """The map version a :func:`refresh_key` names, or None for another kind of key."""
    number = key.removeprefix("maps:v")
    return int(number) if number != key and number.isdigit() else None


def show_all_data(version: int, routes: frozenset[str] | None, page: int) -> str:
    """Callback data of "Show all changes": the /changes pages for these routes (new message)."""
    return f"chg:{version}:{routes_mask(routes)}:{page}:n"


def _store_body(db: sqlite_utils.Database, body_key: str, key: str, parts: Sequence[str],
                buttons: Sequence[Sequence[tuple[str, str]]] = (), now: str | None = None) -> int:
    db.execute(
        "INSERT OR IGNORE INTO outbox_bodies (body_key, refresh_key, parts, buttons, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [body_key, key, json.dumps(list(parts), ensure_ascii=False),
         json.dumps([[list(b) for b in row] for row in buttons], ensure_ascii=False), now or iso()],
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


def enqueue_digests(db: sqlite_utils.Database, changes: ChangeList, *,
                    titles: Mapping[str, str] | None = None, source: str | None = None,
                    context: MapContext | None = None, texts: Messages | None = None,
                    timezone: str = "Europe/London", now: dt.datetime | None = None) -> int:
    """Write one outbox row per subscriber whose routes changed; returns how many were new.

    ``changes`` is a stored version's change list (``to_version`` set); ``titles`` and ``source``
    come from the refresh that stored it, when there is one. Idempotent per version: running it
    again for the same version adds nothing (one row per chat and ``refresh_key``).
    """
    if not len(changes) or changes.to_version is None:
        return 0
    texts = texts or bundled_messages()
    context = context or change_context(db, changes, titles=titles, source=source)
    key = refresh_key(changes.to_version)
    stamp = iso(now)
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
            parts, buttons = _digest_body(digest, members[0].routes, texts, timezone)
            body_id = _store_body(db, f"{key}|{routes_key}", key, parts, buttons, stamp)
            inserted += _enqueue_rows(db, [(m.chat_id, key, "digest", body_id) for m in members], stamp)
    return inserted


def _digest_body(digest: Digest, routes: frozenset[str] | None, texts: Messages,
                 timezone: str) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """A digest's message parts, and its "Show all changes" button when parts were left out."""
    parts = render_digest(digest, texts, timezone=timezone)
    buttons: list[list[tuple[str, str]]] = []
    if parts.omitted and digest.version is not None:
        buttons = [[(texts.message("show_all"), show_all_data(digest.version, routes, len(parts) + 1))]]
    return list(parts), buttons


def current_digest(db: sqlite_utils.Database, item: OutboxItem, *, texts: Messages | None = None,
                   timezone: str = "Europe/London", contexts: ChangeContexts | None = None) -> bool:
    """Make a queued digest fit its subscriber's routes *now*; False if it should not be sent.

    A digest is rendered for the routes chosen when it was queued. A subscriber who changed
    routes since then gets it re-rendered for the new ones (the row is pointed at that body, so
    a resumed send uses it too), or skipped when nothing changed on them. A digest already partly
    sent is left as it is: its first parts are out.
    """
    if item.kind != "digest" or item.parts_sent or item.routes_key is None:
        return True
    subscription = subscription_of(db, item.chat_id)
    if subscription is None or not subscription.active or subscription.key == item.routes_key:
        return True
    body_key = f"{item.refresh_key}|{subscription.key}"
    row = db.execute("SELECT id FROM outbox_bodies WHERE body_key = ?", [body_key]).fetchone()
    rendered: tuple[list[str], list[list[tuple[str, str]]]] | None = None
    if row is None:
        version = version_of(item.refresh_key)
        found = (contexts or ChangeContexts()).get(db, version) if version is not None else None
        digest = notices_for(subscription, *found) if found else None
        if digest is None:
            mark_skipped(db, item.id, "routes changed: nothing new on them")
            return False
        rendered = _digest_body(digest, subscription.routes, texts or bundled_messages(), timezone)
    with write_transaction(db):
        body_id = (_store_body(db, body_key, item.refresh_key, *rendered) if rendered
                   else int(row[0]))
        db.execute("UPDATE outbox SET body_id = ?, updated_at = ? WHERE id = ? AND parts_sent = 0",
                   [body_id, iso(), item.id])
        parts_json, buttons_json = db.execute("SELECT parts, buttons FROM outbox_bodies WHERE id = ?",
                                              [body_id]).fetchone()
    item.parts, item.buttons = json.loads(parts_json), json.loads(buttons_json or "[]")
    item.routes_key = subscription.key
    return True


DIGESTS_THROUGH = "digests_through"
LAST_DIGEST_SENT = "last_digest_sent_at"


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


def catch_up_digests(db: sqlite_utils.Database, *, texts: Messages | None = None,
                     timezone: str = "Europe/London", now: dt.datetime | None = None) -> int:
    """Queue digests for map versions stored since the last check; returns rows queued.

    The bot's refresh job queues digests through its hook at once; this catches the rest: a
    version stored by ``careers-bot refresh`` in another process, or by a bot that crashed
    before its hook ran. The very first check only records the newest version, so deploying
    alerts never sends a digest of an old refresh. Idempotent, like :func:`enqueue_digests`.
    """
    latest = latest_version(db)
    if latest is None:
        return 0
    marker = digests_through(db)
    if marker is None:
        _advance_digests_through(db, latest.version)
        return 0
    if latest.version <= marker:
        return 0
    queued = 0
    for version in changed_versions(db, after=marker):
        queued += enqueue_digests(db, version_changes(db, version.version), source=version.source,
                                  texts=texts, timezone=timezone, now=now)
    _advance_digests_through(db, latest.version)
    return queued


def create_broadcast(db: sqlite_utils.Database, chat_id: int | None, text: str,
                     *, now: dt.datetime | None = None) -> int:
    """Keep an admin's broadcast text until it is confirmed; returns its id."""
    cursor = db.execute("INSERT INTO broadcasts (chat_id, text, created_at) VALUES (?, ?, ?)",
                        [chat_id, text, iso(now)])
    return int(cursor.lastrowid or 0)


def enqueue_broadcast(db: sqlite_utils.Database, broadcast_id: int, parts: Sequence[str],
                      *, now: dt.datetime | None = None) -> int:
    """Queue a confirmed broadcast for every active subscriber; idempotent per broadcast."""
    key = f"broadcast:{broadcast_id}"
    stamp = iso(now)
    with write_transaction(db):
        body_id = _store_body(db, key, key, parts, (), stamp)
        chats = [s.chat_id for s in active_subscriptions(db)]
        inserted = _enqueue_rows(db, [(c, key, "broadcast", body_id) for c in chats], stamp)
        db.execute("UPDATE broadcasts SET queued_at = COALESCE(queued_at, ?), "
                   "recipients = COALESCE(recipients, 0) + ? WHERE id = ?",
                   [stamp, inserted, broadcast_id])
    return inserted


def broadcast_draft(db: sqlite_utils.Database, broadcast_id: int) -> tuple[str, bool] | None:
    """A broadcast's text and whether it was already queued; None if there is no such draft."""
    row = db.execute("SELECT text, queued_at FROM broadcasts WHERE id = ?", [broadcast_id]).fetchone()
    return (row[0], row[1] is not None) if row else None


def cancel_broadcast(db: sqlite_utils.Database, broadcast_id: int) -> None:
    """Drop a draft that was never queued (a queued broadcast stays on record)."""
    db.execute("DELETE FROM broadcasts WHERE id = ? AND queued_at IS NULL", [broadcast_id])


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



def send_window_words(start: dt.time, end: dt.time, texts: Messages) -> str:
    """The sending window as advisers read it: "between 08:00 and 20:00 UK time"."""
    if start == end:
        return texts.message("window_always")
    return texts.message("window_between", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


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
    routes_key: str | None = None  # a digest's routes when it was rendered ("all", "5,8")

    @property
    def done(self) -> bool:
        return self.parts_sent >= len(self.parts)


def due_items(db: sqlite_utils.Database, limit: int, *, now: dt.datetime | None = None) -> list[OutboxItem]:
    """Pending rows whose retry time has come, oldest first, with their bodies."""
    stamp = iso(now)
    rows = db.execute(
        "SELECT o.id, o.chat_id, o.kind, o.refresh_key, o.body_id, o.parts_sent, o.attempts "
        "FROM outbox o WHERE o.state = 'pending' AND (o.not_before IS NULL OR o.not_before <= ?) "
        "ORDER BY o.id LIMIT ?",
        [stamp, limit],
    ).fetchall()
    bodies: dict[int, tuple[list[str], list[list[list[str]]], str | None]] = {}
    for body_id in {r[4] for r in rows}:
        parts, buttons, body_key = db.execute(
            "SELECT parts, buttons, body_key FROM outbox_bodies WHERE id = ?", [body_id]).fetchone()
        bodies[body_id] = (json.loads(parts), json.loads(buttons or "[]"),
                           str(body_key).partition("|")[2] or None)
    return [OutboxItem(r[0], r[1], r[2], r[3], *bodies[r[4]][:2], r[5], r[6], bodies[r[4]][2])
            for r in rows]


def claim(db: sqlite_utils.Database, row_id: int) -> bool:
    """pending → sending, committed before the Telegram call; False if no longer pending."""
    cursor = db.execute("UPDATE outbox SET state = 'sending', updated_at = ? "
                        "WHERE id = ? AND state = 'pending'", [iso(), row_id])
    return cursor.rowcount == 1


def part_sent(db: sqlite_utils.Database, row_id: int, parts_sent: int, total: int) -> State:
    """sending → pending (more parts) or sent (last part); returns the new state.

    A digest's last part also records when the last alert went out (``alert_state``), which
    outlives the outbox rows that /forget and pruning delete."""
    stamp = iso()
    state: State = "sent" if parts_sent >= total else "pending"
    db.execute("UPDATE outbox SET state = ?, parts_sent = ?, attempts = 0, not_before = NULL, "
               "reason = NULL, updated_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END "
               "WHERE id = ?", [state, parts_sent, stamp, state, stamp, row_id])
    if state == "sent":
        db.execute("INSERT INTO alert_state (key, value) SELECT ?, ? FROM outbox "
                   "WHERE id = ? AND kind = 'digest' "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   [LAST_DIGEST_SENT, stamp, row_id])
    return state


def last_digest_sent_at(db: sqlite_utils.Database) -> str | None:
    """When the last digest went out to anyone (ISO UTC), or None if none ever did."""
    row = db.execute("SELECT value FROM alert_state WHERE key = ?", [LAST_DIGEST_SENT]).fetchone()
    return str(row[0]) if row and row[0] else None


def release(db: sqlite_utils.Database, row_id: int, *, reason: str | None = None,
            not_before: dt.datetime | None = None, attempt: bool = False) -> None:
    """sending → pending, optionally not before a time (rate limit, network retry)."""
    db.execute("UPDATE outbox SET state = 'pending', reason = ?, not_before = ?, "
               "attempts = attempts + ?, updated_at = ? WHERE id = ? AND state IN ('sending', 'pending')",
               [reason, iso(not_before) if not_before else None, 1 if attempt else 0,
                iso(), row_id])


def mark_failed(db: sqlite_utils.Database, row_id: int, reason: str) -> None:
    """A row that will never be sent, with the reason."""
    db.execute("UPDATE outbox SET state = 'failed', reason = ?, updated_at = ? WHERE id = ?",
               [reason[:500], iso(), row_id])


def mark_skipped(db: sqlite_utils.Database, row_id: int, reason: str = "unsubscribed") -> None:
    """A row that no longer needs sending (its subscriber left)."""
    db.execute("UPDATE outbox SET state = 'skipped', reason = ?, updated_at = ? WHERE id = ?",
               [reason, iso(), row_id])


def recover_in_flight(db: sqlite_utils.Database) -> int:
    """After a crash: rows left ``sending`` go back to ``pending`` (their part is sent again)."""
    cursor = db.execute("UPDATE outbox SET state = 'pending', reason = 'resumed after a crash', "
                        "updated_at = ? WHERE state = 'sending'", [iso()])
    return cursor.rowcount


def deactivate(db: sqlite_utils.Database, chat_id: int, reason: str) -> None:
    """The chat cannot be reached (blocked the bot): stop its alerts and skip what is queued."""
    unsubscribe(db, chat_id, reason=reason)


def outbox_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many outbox rows are in each state."""
    counts = dict.fromkeys(STATES, 0)
    for state, count in db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall():
        counts[state] = count
    return counts


def has_due(db: sqlite_utils.Database, *, now: dt.datetime | None = None) -> bool:
    """Whether a notice is waiting to be sent now."""
    row = db.execute("SELECT 1 FROM outbox WHERE state IN ('pending', 'sending') AND "
                     "(not_before IS NULL OR not_before <= ?) LIMIT 1", [iso(now)]).fetchone()
    return row is not None



def prune_alerts(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
                 keep_days: int = KEEP_OUTBOX_DAYS, inactive_days: int = 365) -> int:
    """Delete what alerts no longer need; returns the number of rows deleted.

    Finished outbox rows (sent, failed, skipped) older than ``keep_days``, bodies no row uses,
    drafts never confirmed after a day, and subscriptions stopped or blocked ``inactive_days`` ago.
    Pending rows are never touched.
    """
    moment = now or dt.datetime.now(dt.UTC)

    def before(days: float) -> str:
        return iso(moment - dt.timedelta(days=days))

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

