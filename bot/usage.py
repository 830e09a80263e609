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

Writes made for every message (a student's last seen, today's question count, a question with no
answer, a safeguarding reply's count) do not each open
a transaction on the event loop: :class:`UsageBatch` keeps them in memory and :meth:`UsageBatch.flush`
writes them all in one transaction, about once a second (``jobs/usage.py``), before ``/stats``
reads them, and when the bot stops. A daily counter joins the batch by naming its table
(:class:`Counter`, e.g. ``Counter("reply_counts", ("day", "kind", "entry_id"), "count")``) and
calling :meth:`UsageBatch.count`; its table needs a unique key over those columns.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.db import iso, write_transaction

# First and last seen; an existing row keeps its first_seen and its role.
_TOUCH_SQL = ("INSERT INTO users (chat_id, first_seen, last_seen, role) VALUES (?, ?, ?, ?) "
              "ON CONFLICT(chat_id) DO UPDATE SET last_seen = "
              "max(users.last_seen, excluded.last_seen)")


@dataclass(frozen=True)
class Counter:
    """A table of counts: one row per key (its ``keys`` columns), ``column`` is added to."""

    table: str
    keys: tuple[str, ...]
    column: str

    @property
    def sql(self) -> str:
        keys = ", ".join(self.keys)
        marks = ", ".join("?" for _ in range(len(self.keys) + 1))
        return (f"INSERT INTO {self.table} ({keys}, {self.column}) VALUES ({marks}) "
                f"ON CONFLICT({keys}) DO UPDATE SET "
                f"{self.column} = {self.column} + excluded.{self.column}")


QUESTIONS = Counter("question_counts", ("day",), "questions")
SAFEGUARDING_REPLIES = Counter("safeguarding_replies", ("day", "category"), "count")


def local_day(now: dt.datetime | None = None, timezone: str = "Europe/London") -> str:
    """Today (or ``now``'s day) in the bot's time zone, as counters key it."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone)).date().isoformat()


class UsageBatch:
    """Per-message bookkeeping, kept in memory until :meth:`flush` writes it in one transaction.

    Recording costs a dictionary update; nothing is lost by batching as long as the bot flushes
    before it stops (``app/application.py`` does) and before reading what it counts. A failed
    flush keeps everything for the next one. Thread-safe.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        # chat id → (first seen, last seen, role) since the last flush.
        self._users: dict[int, tuple[str, str, str]] = {}
        self._counts: dict[tuple[Counter, tuple[object, ...]], int] = {}
        # Rows for ``unanswered`` since the last flush.
        self._misses: list[dict[str, object]] = []

    def touch_user(self, chat_id: int, role: str = "student", *,
                   now: dt.datetime | None = None) -> None:
        """Remember that a private chat used the bot (see :func:`touch_user`)."""
        moment = iso(now)
        with self._lock:
            seen = self._users.get(chat_id)
            self._users[chat_id] = (seen[0], max(seen[1], moment), seen[2]) if seen else (
                moment, moment, role)

    def count(self, counter: Counter, *key: object, by: int = 1) -> None:
        """Add ``by`` to the row of ``counter`` with this key (one value per key column)."""
        if len(key) != len(counter.keys):
            raise ValueError(f"{counter.table} is keyed by {counter.keys}, got {key!r}")
        with self._lock:
            self._counts[counter, key] = self._counts.get((counter, key), 0) + by

    def count_question(self, *, now: dt.datetime | None = None,
                       timezone: str = "Europe/London") -> None:
        """Add one to the question count of the day (no chat id, no text)."""
        self.count(QUESTIONS, local_day(now, timezone))

    def log_unanswered(self, text: str, best_score: float, *, outcome: str = "fallback",
                       entry_id: str | None = None) -> None:
        """Keep a question the bot could not answer well, with no chat id, for maintainers,
        with what happened: ``fallback``, ``none_of_these`` (after "Did you mean…?") or
        ``not_helpful`` (a rating of ``entry_id``). Button-like input is not kept."""
        if worth_logging(text):
            with self._lock:
                self._misses.append({"text": redact(text), "asked_at": iso(),
                                     "best_score": best_score, "outcome": outcome,
                                     "entry_id": entry_id})

    def count_safeguarding_reply(self, category: str, day: dt.date | None = None) -> None:
        """Count a safeguarding reply for the day (UTC; today) and category: never the text or
        who sent it."""
        key = (day or dt.datetime.now(dt.UTC).date()).isoformat()
        self.count(SAFEGUARDING_REPLIES, key, category)

    def forget(self, chat_id: int) -> None:
        """Drop what is waiting to be written about a chat (``/forget``)."""
        with self._lock:
            self._users.pop(chat_id, None)

    @property
    def pending(self) -> int:
        """How many rows the next flush writes."""
        with self._lock:
            return len(self._users) + len(self._counts) + len(self._misses)

    def flush(self) -> int:
        """Write everything recorded so far in one transaction; the number of rows written.
        If the write fails, what it held is kept for the next flush and the error raised."""
        with self._lock:
            users, self._users = self._users, {}
            counts, self._counts = self._counts, {}
            misses, self._misses = self._misses, []
        if not users and not counts and not misses:
            return 0
        try:
            with write_transaction(self.db):
                if misses:
                    self.db.table("unanswered").insert_all(misses)
                if users:
                    self.db.conn.executemany(_TOUCH_SQL, [
                        (chat_id, first, last, role) for chat_id, (first, last, role) in users.items()])
                by_counter: dict[Counter, list[tuple[object, ...]]] = {}
                for (counter, key), by in counts.items():
                    by_counter.setdefault(counter, []).append((*key, by))
                for counter, rows in by_counter.items():
                    self.db.conn.executemany(counter.sql, rows)
        except BaseException:
            self._restore(users, counts, misses)
            raise
        return len(users) + len(counts) + len(misses)

    def _restore(self, users: dict[int, tuple[str, str, str]],
                 counts: dict[tuple[Counter, tuple[object, ...]], int],
                 misses: list[dict[str, object]]) -> None:
        with self._lock:
            self._misses[:0] = misses
            for chat_id, (first, last, role) in users.items():
                newer = self._users.get(chat_id)
                self._users[chat_id] = (first, max(last, newer[1]), role) if newer else (
                    first, last, role)
            for item, by in counts.items():
                self._counts[item] = self._counts.get(item, 0) + by


def touch_user(db: sqlite_utils.Database, chat_id: int, role: str = "student") -> None:
    """Record that a private chat used the bot (first and last seen); keeps an existing role.
    Written at once: on the answer path use :meth:`UsageBatch.touch_user`."""
    batch = UsageBatch(db)
    batch.touch_user(chat_id, role)
    batch.flush()


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
    """:meth:`UsageBatch.log_unanswered`, written at once (after a button tap, for tools)."""
    batch = UsageBatch(db)
    batch.log_unanswered(text, best_score, outcome=outcome, entry_id=entry_id)
    batch.flush()


def unanswered_questions(db: sqlite_utils.Database) -> list[dict[str, object]]:
    """Every logged question, oldest first."""
    return list(db.table("unanswered").rows_where(order_by="asked_at"))


def record_safeguarding_reply(db: sqlite_utils.Database, category: str,
                              day: dt.date | None = None) -> None:
    """:meth:`UsageBatch.count_safeguarding_reply`, written at once."""
    batch = UsageBatch(db)
    batch.count_safeguarding_reply(category, day)
    batch.flush()


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
    """Add one to today's question count (no chat id, no text), written at once: on the
    answer path use :meth:`UsageBatch.count_question`."""
    batch = UsageBatch(db)
    batch.count_question(now=now, timezone=timezone)
    batch.flush()


def questions_on(db: sqlite_utils.Database, day: dt.date) -> int:
    """The question count of one day."""
    row = db.execute("SELECT questions FROM question_counts WHERE day = ?",
                     [day.isoformat()]).fetchone()
    return int(row[0]) if row else 0
