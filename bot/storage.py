"""The bot's SQLite file, through sqlite-utils: users and the anonymised unanswered-question log.

One file in WAL mode so the bot, the CLI and scheduled jobs can read while one writes. The schema
is created idempotently at every start (:func:`ensure_db_shape`); feature modules add their own
tables through their own ``ensure_*_shape`` functions, called by :func:`bot.services.build_services`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 5000


def utcnow() -> str:
    """Timestamps are stored as ISO 8601 UTC strings: sortable and readable in any SQLite tool."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that takes the write lock first (``BEGIN IMMEDIATE``).

    In WAL mode a deferred transaction that reads and then writes fails at once with "database
    is locked" when another connection is writing: the busy timeout only applies while
    *acquiring* the lock. Taking it up front makes every writer wait its turn instead, and an
    error (or a crash) mid-way rolls the whole transaction back.
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
    """Create every table the bot needs, leaving existing ones (and their rows) alone."""
    db.table("users").create(
        {"chat_id": int, "first_seen": str, "last_seen": str, "role": str},
        pk="chat_id",
        if_not_exists=True,
    )
    db.table("unanswered").create(
        {"id": int, "text": str, "asked_at": str, "best_score": float},
        pk="id",
        if_not_exists=True,
    )
    db.table("unanswered").create_index(["asked_at"], if_not_exists=True)
    db.table("safeguarding_replies").create(
        {"day": str, "category": str, "count": int}, pk=("day", "category"), if_not_exists=True)


def touch_user(db: sqlite_utils.Database, chat_id: int, role: str = "student") -> None:
    """Record that a private chat used the bot (first and last seen); keeps an existing role."""
    now = utcnow()
    with write_transaction(db):
        users = db.table("users")
        users.insert({"chat_id": chat_id, "first_seen": now, "last_seen": now, "role": role}, ignore=True)
        users.update(chat_id, {"last_seen": now})


def log_unanswered(db: sqlite_utils.Database, text: str, best_score: float) -> None:
    """Keep a question the bot could not answer, with no chat id, for maintainers."""
    with write_transaction(db):
        db.table("unanswered").insert({"text": text, "asked_at": utcnow(), "best_score": best_score})


def unanswered_questions(db: sqlite_utils.Database) -> list[dict[str, object]]:
    """Every logged question, oldest first."""
    return list(db.table("unanswered").rows_where(order_by="asked_at"))


def record_safeguarding_reply(db: sqlite_utils.Database, category: str,
                              day: dt.date | None = None) -> None:
    """Count a safeguarding reply for the day and category: numbers only, never the text or
    who sent it."""
    key = (day or dt.datetime.now(dt.UTC).date()).isoformat()
    with write_transaction(db):
        db.execute(
            "INSERT INTO safeguarding_replies (day, category, count) VALUES (?, ?, 1) "
            "ON CONFLICT(day, category) DO UPDATE SET count = count + 1",
            [key, category],
        )


def safeguarding_counts(db: sqlite_utils.Database, day: dt.date) -> dict[str, int]:
    """How many safeguarding replies of each category were shown on ``day`` (UTC)."""
    rows = db.table("safeguarding_replies").rows_where("day = ?", [day.isoformat()],
                                                      order_by="category")
    return {row["category"]: int(row["count"]) for row in rows}
