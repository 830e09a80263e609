"""Privacy: /forget deletes everything tied to a chat; retention purges what is too old."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.alerts.subscriptions import subscribe
from bot.db import open_db
from bot.flood import FloodGuard
from bot.privacy import forget_chat, purge_expired
from bot.usage import log_unanswered, touch_user

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def test_forget_deletes_every_row_tied_to_the_chat(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    touch_user(db, 1)
    touch_user(db, 2)
    subscribe(db, 1, None)
    assert forget_chat(db, 1) == 2
    assert [r["chat_id"] for r in db["users"].rows] == [2]
    assert db["subscriptions"].count == 0


def test_unanswered_questions_are_kept_without_a_chat_id(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    log_unanswered(db, "where is the pizza", 12.5)
    assert set(db["unanswered"].columns_dict) == {"id", "text", "asked_at", "best_score", "outcome",
                                                  "entry_id"}


def test_retention_deletes_old_questions_and_idle_users_without_subscriptions(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    old = (NOW - dt.timedelta(days=400)).isoformat()
    db["unanswered"].insert_all([
        {"text": "old", "asked_at": (NOW - dt.timedelta(days=91)).isoformat(), "best_score": 1.0},
        {"text": "new", "asked_at": (NOW - dt.timedelta(days=89)).isoformat(), "best_score": 1.0},
    ])
    db["users"].insert_all([
        {"chat_id": 1, "first_seen": old, "last_seen": old, "role": "student"},
        {"chat_id": 2, "first_seen": old, "last_seen": old, "role": "adviser"},
        {"chat_id": 3, "first_seen": old, "last_seen": NOW.isoformat(), "role": "student"},
    ])
    subscribe(db, 2, None)
    report = purge_expired(db, now=NOW, unanswered_days=90, inactive_days=365)
    assert (report.unanswered, report.users) == (1, 1)
    assert [r["text"] for r in db["unanswered"].rows] == ["new"]
    assert sorted(r["chat_id"] for r in db["users"].rows) == [2, 3]


def test_flood_guard_warns_once_then_drops_until_the_window_passes() -> None:
    guard = FloodGuard(limit_per_minute=3)
    verdicts = [guard.check(7, now=float(t)) for t in range(5)]
    assert verdicts == ["ok", "ok", "ok", "warn", "drop"]
    assert guard.check(8, now=4.0) == "ok"
    assert guard.check(7, now=61.0) == "ok"
