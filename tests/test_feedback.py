"""Ratings and misses: numbers and entry ids only, the questions worth a maintainer's time,
and the loop from misses to new phrasings."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from app.cli import main
from bot.answering.responder import Responder
from bot.db import open_db
from bot.feedback import (
    entries_shown,
    helpful_ratios,
    least_helpful,
    record_rating,
    record_reply,
    replies_per_week,
)
from bot.kb_edit import add_phrasings
from bot.misses import group_misses, suggest
from bot.usage import log_unanswered, unanswered_questions
from tests.conftest import REAL_KB


def test_a_rating_is_stored_as_entry_id_helpful_and_time_only(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    record_rating(db, "apprenticeship-pay", helpful=False)
    assert set(db["ratings"].columns_dict) == {"id", "entry_id", "helpful", "rated_at"}
    assert helpful_ratios(db) == {"apprenticeship-pay": (0, 1)}


def test_the_least_helpful_entries_come_first(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    for helpful in (True, True, True):
        record_rating(db, "t-level-basics", helpful)
    for helpful in (True, False, False):
        record_rating(db, "apprenticeship-pay", helpful)
    assert [entry for entry, _, _ in least_helpful(db)] == ["apprenticeship-pay", "t-level-basics"]


def test_replies_are_counted_per_week_by_kind_and_entry(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    monday = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    record_reply(db, "answer", "t-level-basics", at=monday)
    record_reply(db, "answer", "t-level-basics", at=monday + dt.timedelta(days=2))
    record_reply(db, "fallback", at=monday + dt.timedelta(days=7))
    assert replies_per_week(db) == [("2026-11-23", {"answer": 2}), ("2026-11-30", {"fallback": 1})]
    assert entries_shown(db) == {"t-level-basics": 2}


@pytest.mark.parametrize("text", ["3", "k", "??", "ans:t-level-basics", "12345"])
def test_numbers_single_characters_and_button_like_input_are_not_logged(tmp_path: Path,
                                                                       text: str) -> None:
    db = open_db(tmp_path / "bot.db")
    log_unanswered(db, text, 0.0)
    assert unanswered_questions(db) == []


def test_logged_questions_lose_email_addresses_and_phone_numbers(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    log_unanswered(db, "can you email me at sam@example.com or ring 07700 900123", 0.0,
                   outcome="none_of_these")
    [row] = unanswered_questions(db)
    assert row["text"] == "can you email me at [email] or ring [number]"
    assert row["outcome"] == "none_of_these"


def test_misses_are_suggested_for_the_nearest_entry_or_as_a_new_topic(tmp_path: Path,
                                                                      responder: Responder) -> None:
    db = open_db(tmp_path / "bot.db")
    log_unanswered(db, "what is the lowest wage an apprentice can legally get", 0.0)
    log_unanswered(db, "what colour is the sky on mars", 0.0)
    by_example = {s.group.example: s for s in suggest(group_misses(unanswered_questions(db)),
                                                      responder.nearest_entry)}
    assert by_example["what is the lowest wage an apprentice can legally get"].entry_id == "apprenticeship-pay"
    assert by_example["what colour is the sky on mars"].entry_id is None


def test_adding_phrasings_keeps_comments_order_and_body(tmp_path: Path) -> None:
    entry = tmp_path / "entry.md"
    entry.write_text("---\nid: x\n# who reviews this\ntitle: X?\nquestions:\n  - one\n"
                     "tags: [a]\n---\nBody *stays*.\n")
    assert add_phrasings(entry, ["two", "one"]) == ["two"]
    assert entry.read_text() == ("---\nid: x\n# who reviews this\ntitle: X?\nquestions:\n  - one\n"
                                 "  - two\ntags: [a]\n---\nBody *stays*.\n")


def test_kb_suggest_apply_adds_the_phrasing_and_checks_the_knowledge_base(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REAL_KB, knowledge)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setenv("CAREERS_BOT_KNOWLEDGE_DIR", str(knowledge))
    log_unanswered(open_db(tmp_path / "bot.db"), "what is the lowest wage an apprentice can legally get", 0.0)
    assert main(["kb", "suggest"]) == 0
    assert "apprenticeship-pay:\n  1. - what is the lowest wage an apprentice can legally get" in capsys.readouterr().out
    assert main(["kb", "suggest", "--apply", "apprenticeship-pay", "1"]) == 0
    assert "  - what is the lowest wage an apprentice can legally get\n" in (
        knowledge / "entries" / "apprenticeship-pay.md").read_text()
    assert "ok:" in capsys.readouterr().out


def test_reply_counts_on_the_answer_path_are_batched_and_written_at_flush(tmp_path: Path) -> None:
    from bot.feedback import count_reply
    from bot.usage import UsageBatch

    db = open_db(tmp_path / "bot.db")
    batch = UsageBatch(db)
    monday = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    count_reply(batch, "answer", "t-level-basics", at=monday)
    count_reply(batch, "answer", "t-level-basics", at=monday)
    assert entries_shown(db) == {}
    batch.flush()
    assert entries_shown(db) == {"t-level-basics": 2}
