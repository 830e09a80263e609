"""What the bot keeps about its own use, and nothing more: who used it and when, what it
could not answer, and daily counts.

- ``users``: one row per private chat: first and last seen, and a role (``student`` unless the
  chat said otherwise with /role or subscribed to alerts; it only tailors the welcome). Group
  members are never stored.
- ``unanswered``: questions the bot could not answer (or answered unhelpfully), with what
  happened and no chat id, e-mail addresses and phone numbers taken out, for maintainers
  (``careers-bot kb misses``); deleted after ``unanswered_retention_days``.
- ``question_counts``: how many questions a day, for ``/stats``.
- ``safeguarding_replies``: how many safeguarding replies a day, by category. Never the text or
  who sent it.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.db import iso, write_transaction


def touch_user(db: sqlite_utils.Database, chat_id: int, role: str = "student") -> None:
    """Record that a private chat used the bot (first and last seen); keeps an existing role."""
    now = iso()
    with write_transaction(db):
        users = db.table("users")
        users.insert({"chat_id": chat_id, "first_seen": now, "last_seen": now, "role": role}, ignore=True)
        users.update(chat_id, {"last_seen": now})


_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"(?:\+?\d[\d\s-]{6,}\d)")
_BUTTON_LIKE = re.compile(r"^(?:/?\w+:\S+|[\W\d_]+|\w)$")


def worth_logging(text: str) -> bool:
    """Whether a miss says something a maintainer can act on: not a plain number, a single
    character or button-like input ("3", "k", "ans:t-level-basics")."""
    stripped = text.strip()
    return sum(ch.isalpha() for ch in stripped) >= 2 and not _BUTTON_LIKE.match(stripped)


def redact(text: str) -> str:
    """The question with e-mail addresses and phone numbers taken out, before it is stored."""
    return _PHONE.sub("[number]", _EMAIL.sub("[email]", text))


def log_unanswered(db: sqlite_utils.Database, text: str, best_score: float, *,
                   outcome: str = "fallback", entry_id: str | None = None) -> None:
    """Keep a question the bot could not answer well, with no chat id, for maintainers, with
    what happened: ``fallback``, ``none_of_these`` (after "Did you mean…?") or
    ``not_helpful`` (a rating of ``entry_id``)."""
    if not worth_logging(text):
        return
    with write_transaction(db):
        db.table("unanswered").insert({"text": redact(text), "asked_at": iso(),
                                       "best_score": best_score, "outcome": outcome,
                                       "entry_id": entry_id})


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


ROLES = ("student", "parent", "adviser")


def set_role(db: sqlite_utils.Database, chat_id: int, role: str) -> None:
    """Record a chat's role: told with /role, or ``adviser`` once it subscribes to alerts."""
    db.execute("UPDATE users SET role = ? WHERE chat_id = ?", [role, chat_id])


def role_of(db: sqlite_utils.Database, chat_id: int) -> str | None:
    """The chat's role (``student`` until told otherwise), or None for a chat never seen."""
    row = db.execute("SELECT role FROM users WHERE chat_id = ?", [chat_id]).fetchone()
    return str(row[0]) if row and row[0] else None


def count_students(db: sqlite_utils.Database) -> int:
    """Private chats that are not advisers."""
    return db.table("users").count_where("role IS NULL OR role != 'adviser'")


def unanswered_since(db: sqlite_utils.Database, since: dt.datetime) -> int:
    """How many questions went unanswered since ``since``."""
    return db.table("unanswered").count_where("asked_at >= ?", [iso(since)])


def count_question(db: sqlite_utils.Database, *, now: dt.datetime | None = None,
                   timezone: str = "Europe/London") -> None:
    """Add one to today's question count (no chat id, no text)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    db.execute("INSERT INTO question_counts (day, questions) VALUES (?, 1) "
               "ON CONFLICT(day) DO UPDATE SET questions = questions + 1",
               [moment.date().isoformat()])


def questions_on(db: sqlite_utils.Database, day: dt.date) -> int:
    """The question count of one day."""
    row = db.execute("SELECT questions FROM question_counts WHERE day = ?",
                     [day.isoformat()]).fetchone()
    return int(row[0]) if row else 0
