"""The bot's one SQLite file: opening it, write transactions, timestamps, every table, leases.

One file in WAL mode, so the bot, the CLI and scheduled jobs can read while one writes. Every
table's shape is declared here, in :func:`ensure_db_shape` (idempotent, run at every open), with
sqlite-utils' ``create(..., if_not_exists=True)``; the feature modules own the rows:

- usage (:mod:`bot.usage`): ``users`` (chat id, first and last seen, role), ``unanswered``
  (questions the bot could not answer, no chat id), ``question_counts`` and
  ``safeguarding_replies`` (numbers per day, never text);
- occupational maps (:mod:`bot.maps.store`): ``map_versions``, ``map_occupations``,
  ``map_state``, ``map_missing``;
- adviser alerts (:mod:`bot.alerts`): ``subscriptions``, ``outbox``, ``outbox_bodies``,
  ``broadcasts``, ``alert_state``;
- ``leases`` (:class:`Lease`): which process is refreshing the maps or sending the outbox.

Every table keyed by a person has a ``chat_id`` column, which is how :mod:`bot.privacy` finds
everything to delete on /forget. Timestamps are ISO 8601 UTC strings (:func:`iso`): sortable and
readable in any SQLite tool, including Datasette.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 5000


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime | None = None) -> str:
    """A moment (default now) as stored: ``2026-11-25T20:16:26+00:00``."""
    return (moment or utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds")


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) the database file in WAL mode with its schema in place."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        db.enable_wal()
    ensure_db_shape(db)
    return db


def open_db_readonly(path: Path | str) -> sqlite_utils.Database:
    """Open an existing database file for reading only (reports): nothing can be created or
    written through this connection. FileNotFoundError if there is no such file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no database at {path}")
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    return sqlite_utils.Database(conn)


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that takes the write lock first (``BEGIN IMMEDIATE``).

    In WAL mode a deferred transaction that reads and then writes fails at once with "database
    is locked" when another connection is writing: the busy timeout only applies while
    *acquiring* the lock. Taking it up front makes every writer wait its turn instead, and an
    error (or a crash) mid-way rolls the whole transaction back. (``with db.conn:`` is not enough
    with sqlite-utils 4: its write methods commit their own transaction when none is open.)
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    else:
        db.conn.commit()


def ensure_db_shape(db: sqlite_utils.Database) -> None:
    """Create every table and index the bot needs, leaving existing ones (and rows) alone."""
    # usage
    db.table("users").create({"chat_id": int, "first_seen": str, "last_seen": str, "role": str},
                       pk="chat_id", if_not_exists=True)
    db.table("unanswered").create({"id": int, "text": str, "asked_at": str, "best_score": float,
                                   "outcome": str, "entry_id": str},
                            pk="id", if_not_exists=True)
    db.table("unanswered").create_index(["asked_at"], if_not_exists=True)
    unanswered = db.table("unanswered")
    for column in ("outcome", "entry_id"):
        # Added after the first release: what happened (fallback, none of these, not helpful)
        # and which entry had been shown.
        if column not in unanswered.columns_dict:
            unanswered.add_column(column, str)
    db.table("question_counts").create({"day": str, "questions": int}, pk="day", if_not_exists=True)
    # feedback
    db.table("ratings").create({"id": int, "entry_id": str, "helpful": int, "rated_at": str},
                               pk="id", not_null={"entry_id", "helpful", "rated_at"},
                               if_not_exists=True)
    db.table("reply_counts").create({"day": str, "kind": str, "entry_id": str, "count": int},
                                    pk=("day", "kind", "entry_id"), if_not_exists=True)
    db.table("safeguarding_replies").create({"day": str, "category": str, "count": int},
                                      pk=("day", "category"), if_not_exists=True)
    # occupational maps
    db.table("map_versions").create(
        {"version": int, "fetched_at": str, "retrieved_at": str, "source": str,
         "content_hash": str, "occupations": int, "routes": int, "added": int, "removed": int,
         "changed": int, "routes_json": str, "changes_json": str},
        pk="version", if_not_exists=True)
    db.table("map_versions").create_index(["content_hash"], if_not_exists=True)
    db.table("map_occupations").create(
        {"version": int, "id": str, "title": str, "level": int, "route_id": str, "status": str,
         "json": str},
        pk=("version", "id"), foreign_keys=[("version", "map_versions", "version")],
        if_not_exists=True)
    db.table("map_occupations").create_index(["id"], if_not_exists=True)
    db.table("map_state").create({"key": str, "value": str, "updated_at": str}, pk="key",
                           if_not_exists=True)
    db.table("map_missing").create({"id": str, "since_version": int, "since_at": str}, pk="id",
                             if_not_exists=True)
    # adviser alerts
    db.table("subscriptions").create(
        {"chat_id": int, "routes": str, "active": int, "created_at": str, "updated_at": str,
         "reason": str},
        pk="chat_id", not_null={"routes", "active", "created_at", "updated_at"},
        defaults={"active": 1}, if_not_exists=True)
    db.table("outbox_bodies").create(
        {"id": int, "body_key": str, "refresh_key": str, "parts": str, "buttons": str,
         "created_at": str},
        pk="id", not_null={"body_key", "refresh_key", "parts", "created_at"}, if_not_exists=True)
    db.table("outbox_bodies").create_index(["body_key"], unique=True, if_not_exists=True)
    db.table("outbox").create(
        {"id": int, "chat_id": int, "refresh_key": str, "kind": str, "body_id": int,
         "state": str, "reason": str, "parts_sent": int, "attempts": int, "not_before": str,
         "created_at": str, "updated_at": str, "sent_at": str},
        pk="id",
        not_null={"chat_id", "refresh_key", "kind", "body_id", "state", "parts_sent", "attempts",
                  "created_at", "updated_at"},
        defaults={"state": "pending", "parts_sent": 0, "attempts": 0},
        foreign_keys=[("body_id", "outbox_bodies", "id")], if_not_exists=True)
    # One notice per subscriber and refresh (or broadcast): enqueuing twice never doubles it.
    db.table("outbox").create_index(["chat_id", "refresh_key"], unique=True, if_not_exists=True)
    db.table("outbox").create_index(["state", "id"], if_not_exists=True)
    db.table("broadcasts").create(
        {"id": int, "chat_id": int, "text": str, "created_at": str, "queued_at": str,
         "recipients": int},
        pk="id", not_null={"text", "created_at"}, if_not_exists=True)
    db.table("alert_state").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    # leases
    db.table("leases").create(
        {"name": str, "holder": str, "host": str, "pid": int, "expires_at": float,
         "heartbeat_at": float},
        pk="name", if_not_exists=True)


# --- leases ----------------------------------------------------------------------------------


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


@dataclass
class Lease:
    """A named lock in the database that one process holds at a time: the maps refresh and the
    outbox sender each take one, so a CLI refresh and the bot never overlap and only one sender
    runs.

    The holder renews it (:meth:`renew`, a heartbeat) while it works. Another process takes it
    over when it has expired, or at once when its holder was a process on this host that no
    longer exists (killed mid-refresh), so a restart never waits out the time-to-live.
    """

    name: str
    ttl_s: float
    holder: str = field(default_factory=lambda: uuid.uuid4().hex)

    def acquire(self, db: sqlite_utils.Database, now: float | None = None) -> bool:
        """Take the lease unless a live holder's is unexpired; True if this holder has it."""
        moment = now if now is not None else utcnow().timestamp()
        host, pid = socket.gethostname(), os.getpid()
        with write_transaction(db):
            row = db.execute("SELECT holder, host, pid, expires_at FROM leases WHERE name = ?",
                             [self.name]).fetchone()
            free = (row is None or row[0] == self.holder or row[3] < moment
                    or (row[1] == host and row[2] != pid and not _alive(row[2])))
            if free:
                db.table("leases").upsert({"name": self.name, "holder": self.holder, "host": host,
                                     "pid": pid, "expires_at": moment + self.ttl_s,
                                     "heartbeat_at": moment}, pk="name")
        return free

    def renew(self, db: sqlite_utils.Database, now: float | None = None) -> bool:
        """Extend the lease (a heartbeat); False if another process has taken it over."""
        moment = now if now is not None else utcnow().timestamp()
        cursor = db.execute("UPDATE leases SET expires_at = ?, heartbeat_at = ? "
                            "WHERE name = ? AND holder = ?",
                            [moment + self.ttl_s, moment, self.name, self.holder])
        return cursor.rowcount == 1

    def release(self, db: sqlite_utils.Database) -> None:
        """Give the lease back (only if this holder still has it)."""
        db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [self.name, self.holder])
