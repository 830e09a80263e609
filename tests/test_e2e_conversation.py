"""End to end through the local Bot API: follow-ups, ratings, "None of these" reaching
`kb misses`, deep links, unknown commands, inline sharing and the "Ask a question" button."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram.ext import Application

from app.cli import main
from app.local_api import LocalBotApi
from bot.config import Settings
from bot.feedback import helpful_ratios
from bot.usage import unanswered_questions

CHAT = 6001


async def test_a_follow_up_is_answered_in_the_context_of_the_last_answer(
        bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "how do i become a software developer")
    await local_api.wait_for_messages(CHAT, 1)
    local_api.push_text(CHAT, "any similar jobs?")
    similar = (await local_api.wait_for_messages(CHAT, 2))[1]
    assert "Software developer" in similar.text
    assert ("🏠 Home", "home") in similar.buttons


async def test_helpful_is_stored_as_a_rating_of_the_entry(bot: Application,
                                                          local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "how much do apprentices get paid")
    [answer] = await local_api.wait_for_messages(CHAT, 1)
    assert ("👍 Helpful", "r+:apprenticeship-pay") in answer.buttons
    local_api.push_callback(CHAT, "r+:apprenticeship-pay")
    await local_api.wait_for(lambda: any(m.method == "answerCallbackQuery" for m in local_api.sent)
                             or bool(helpful_ratios(bot.bot_data.services.db)))
    assert helpful_ratios(bot.bot_data.services.db) == {"apprenticeship-pay": (1, 0)}


async def test_not_helpful_logs_the_question_it_was_about(bot: Application,
                                                          local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "how much do apprentices get paid")
    await local_api.wait_for_messages(CHAT, 1)
    local_api.push_callback(CHAT, "r-:apprenticeship-pay")
    [_, sorry] = await local_api.wait_for_messages(CHAT, 2)
    assert "Sorry that didn't help" in sorry.text
    [row] = unanswered_questions(bot.bot_data.services.db)
    assert (row["text"], row["outcome"], row["entry_id"]) == (
        "how much do apprentices get paid", "not_helpful", "apprenticeship-pay")


async def test_none_of_these_reaches_kb_misses(
        bot: Application, local_api: LocalBotApi, real_settings: Settings,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    responder = bot.bot_data.services.responder
    question = next(q for q in ("t level or apprenticeship pay", "apprenticeship", "t levels vs",
                                "cambridge", "levels", "courses", "qualifications", "is it paid")
                    if responder.reply(q).kind == "clarify")
    local_api.push_text(CHAT, question)
    await local_api.wait_for_messages(CHAT, 1)
    local_api.push_callback(CHAT, "none")
    await local_api.wait_for_messages(CHAT, 2)
    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(real_settings.database_path))
    assert main(["kb", "misses"]) == 0
    out = capsys.readouterr().out
    assert f"1 × {question!r}" in out and "none of these" in out


@pytest.mark.parametrize(("payload", "says"), [
    ("apprenticeship-pay", "£"),
    ("occ-OCC0152", "Installation and maintenance electrician"),
    ("no-such-thing", "careers bot"),
])
async def test_a_deep_link_opens_its_answer_and_an_unknown_one_the_welcome(
        bot: Application, local_api: LocalBotApi, payload: str, says: str) -> None:
    local_api.push_text(CHAT, f"/start {payload}")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert says in reply.text


async def test_an_unknown_command_suggests_the_closest_one(bot: Application,
                                                           local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/ocupation vet")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "Did you mean /occupation?" in reply.text


async def test_an_inline_query_offers_answers_to_share(bot: Application,
                                                       local_api: LocalBotApi) -> None:
    local_api.push_inline_query(CHAT, "t level pay")
    await local_api.wait_for(lambda: any(m.method == "answerInlineQuery" for m in local_api.sent))
    sent = next(m for m in local_api.sent if m.method == "answerInlineQuery")
    results = sent.params["results"]
    assert results and all(r["input_message_content"]["parse_mode"] == "HTML" for r in results)
    assert any("href=" in r["input_message_content"]["message_text"] for r in results)


async def test_ask_a_question_invites_a_question(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_callback(CHAT, "ask")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "Type your question" in reply.text


def test_the_link_command_prints_a_deep_link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREERS_BOT_BOT_USERNAME", "careers_test_bot")
    assert main(["link", "OCC0152"]) == 0
    assert capsys.readouterr().out.strip() == "https://t.me/careers_test_bot?start=occ-OCC0152"
