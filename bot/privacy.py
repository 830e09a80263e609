"""What the bot forgets, and when: /forget and the daily retention clean-up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from bot.db import write_transaction


def forget_chat(db: sqlite_utils.Database, chat_id: int) -> int:
    """Delete every row tied to ``chat_id`` in any table that has a ``chat_id`` column.

    Generic on purpose: a feature that adds a table keyed by chat is covered without touching
    this function. Returns the number of rows deleted.
    """
    deleted = 0
    with write_transaction(db):
        for table in db.tables:
            if "chat_id" in table.columns_dict:
                before = table.count_where("chat_id = ?", [chat_id])
                if before:
                    table.delete_where("chat_id = ?", [chat_id])
                    deleted += before
    return deleted


@dataclass(frozen=True)
class PurgeReport:
    unanswered: int
    users: int


def purge_expired(db: sqlite_utils.Database, *, now: dt.datetime, unanswered_days: int,
                  inactive_days: int) -> PurgeReport:
    """Delete old unanswered questions, and users inactive that long who have no subscription."""
    question_cutoff = (now - dt.timedelta(days=unanswered_days)).isoformat(timespec="seconds")
    user_cutoff = (now - dt.timedelta(days=inactive_days)).isoformat(timespec="seconds")
    with write_transaction(db):
        old_questions = db.table("unanswered").count_where("asked_at < ?", [question_cutoff])
        db.table("unanswered").delete_where("asked_at < ?", [question_cutoff])
        where = "last_seen < ?"
        if db.table("subscriptions").exists():
            where += " AND chat_id NOT IN (SELECT chat_id FROM subscriptions WHERE active = 1)"
        idle_users = db.table("users").count_where(where, [user_cutoff])
        db.table("users").delete_where(where, [user_cutoff])
    return PurgeReport(old_questions, idle_users)
