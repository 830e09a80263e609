"""Per-message bookkeeping is batched: recorded in memory, written in one transaction, never lost."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from app.application import build_application, start_local, stop_local
from app.local_api import LocalBotApi
from bot.db import open_db
from bot.services import build_services
from bot.usage import (
    Counter,
    UsageBatch,
    questions_on,
    safeguarding_counts,
    touch_user,
    unanswered_questions,
)
from tests.conftest import REAL_KB, TOKEN, make_settings

NOON = dt.datetime(2026, 8, 13, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "usage.db")


def test_nothing_is_written_until_the_batch_is_flushed(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.touch_user(1)
    batch.count_question(now=NOON)
    assert db["users"].count == 0 and questions_on(db, NOON.date()) == 0
    assert batch.pending == 2


def test_a_flush_writes_every_count_and_student_once(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    for chat_id in range(50):
        for _ in range(3):
            batch.touch_user(chat_id, now=NOON)
            batch.count_question(now=NOON)
    assert batch.flush() == 51
    assert db["users"].count == 50 and questions_on(db, NOON.date()) == 150
    assert batch.pending == 0 and batch.flush() == 0


def test_counts_add_to_what_earlier_flushes_wrote(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    for _ in range(2):
        batch.count_question(now=NOON)
        batch.count_question(now=NOON)
        batch.flush()
    assert questions_on(db, NOON.date()) == 4


def test_questions_count_on_the_day_they_were_asked_in_the_bots_time_zone(
        db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.count_question(now=dt.datetime(2026, 8, 13, 23, 30, tzinfo=dt.UTC))  # 00:30 in London
    batch.count_question(now=dt.datetime(2026, 8, 13, 22, 30, tzinfo=dt.UTC))
    batch.flush()
    assert questions_on(db, dt.date(2026, 8, 13)) == 1
    assert questions_on(db, dt.date(2026, 8, 14)) == 1


def test_a_batched_visit_keeps_first_seen_and_role_and_moves_last_seen(
        db: sqlite_utils.Database) -> None:
    touch_user(db, 7, role="adviser")
    first = db["users"].get(7)["first_seen"]
    batch = UsageBatch(db)
    batch.touch_user(7, now=NOON + dt.timedelta(days=400))
    batch.touch_user(7, now=NOON + dt.timedelta(days=300))
    batch.flush()
    row = db["users"].get(7)
    assert row["first_seen"] == first and row["role"] == "adviser"
    assert row["last_seen"].startswith("2027-09-17")


def test_a_failed_flush_keeps_everything_for_the_next_one(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.touch_user(1, now=NOON)
    batch.count_question(now=NOON)
    batch.count_question(now=NOON)
    db.execute("ALTER TABLE question_counts RENAME TO question_counts_away")
    with pytest.raises(sqlite3.OperationalError):
        batch.flush()
    assert db["users"].count == 0  # one transaction: nothing half-written
    db.execute("ALTER TABLE question_counts_away RENAME TO question_counts")
    batch.count_question(now=NOON)
    batch.flush()
    assert db["users"].count == 1 and questions_on(db, NOON.date()) == 3


def test_unanswered_questions_and_safeguarding_counts_wait_for_the_flush(
        db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.log_unanswered("where is the pizza, ring 07700 900123", 12.0)
    batch.log_unanswered("3", 0.0)  # says nothing a maintainer can act on
    batch.count_safeguarding_reply("bullying")
    batch.count_safeguarding_reply("bullying")
    assert unanswered_questions(db) == [] and batch.pending == 2
    batch.flush()
    [row] = unanswered_questions(db)
    assert (row["text"], row["outcome"]) == ("where is the pizza, ring [number]", "fallback")
    assert safeguarding_counts(db, dt.datetime.now(dt.UTC).date()) == {"bullying": 2}


def test_a_failed_flush_keeps_the_unanswered_questions(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.log_unanswered("where is the pizza", 12.0)
    batch.count_question(now=NOON)
    db.execute("ALTER TABLE question_counts RENAME TO question_counts_away")
    with pytest.raises(sqlite3.OperationalError):
        batch.flush()
    db.execute("ALTER TABLE question_counts_away RENAME TO question_counts")
    batch.flush()  # written once: the failed transaction left nothing behind
    assert [r["text"] for r in unanswered_questions(db)] == ["where is the pizza"]


def test_forgetting_a_chat_drops_its_waiting_visit(db: sqlite_utils.Database) -> None:
    batch = UsageBatch(db)
    batch.touch_user(1)
    batch.touch_user(2)
    batch.forget(1)
    batch.flush()
    assert [r["chat_id"] for r in db["users"].rows] == [2]


def test_a_new_daily_counter_joins_the_batch_by_naming_its_table(
        db: sqlite_utils.Database) -> None:
    db["tap_counts"].create({"day": str, "kind": str, "entry_id": str, "taps": int},
                           pk=("day", "kind", "entry_id"))
    taps = Counter("tap_counts", ("day", "kind", "entry_id"), "taps")
    batch = UsageBatch(db)
    batch.count(taps, "2026-08-13", "answer", "t-levels")
    batch.count(taps, "2026-08-13", "answer", "t-levels")
    batch.count(taps, "2026-08-13", "clarify", "")
    batch.flush()
    assert {(r["kind"], r["taps"]) for r in db["tap_counts"].rows} == {
        ("answer", 2), ("clarify", 1)}
    with pytest.raises(ValueError):
        batch.count(taps, "2026-08-13")


async def test_nothing_batched_is_lost_when_the_bot_stops(tmp_path: Path) -> None:
    # The periodic flush never runs in this test: only stopping writes the batch.
    settings = make_settings(tmp_path, REAL_KB, usage_flush_interval_s=60)
    students = range(6001, 6011)
    async with LocalBotApi() as api:
        services = build_services(settings)
        application = build_application(settings, services, token=TOKEN, base_url=api.base_url)
        async with application:
            await start_local(application, poll_timeout=1)
            for chat_id in students:
                api.push_text(chat_id, "what is a t level")
                api.push_text(chat_id, "how do apprenticeships work")
            for chat_id in students:
                await api.wait_for_messages(chat_id, 2)
            await stop_local(application)
    db = open_db(settings.database_path)
    assert sorted(r["chat_id"] for r in db["users"].rows) == list(students)
    assert sum(r["questions"] for r in db["question_counts"].rows) == 20
