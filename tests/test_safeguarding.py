"""Safeguarding comes before any matching, tolerates slang and typos, and never fires on careers."""

from __future__ import annotations

import pytest
from telegram.ext import Application

from bot.answers import Responder
from bot.knowledge import load_knowledge
from bot.local_api import LocalBotApi
from bot.safeguarding import SafeguardingDetector
from bot.text import Normaliser
from tests.conftest import REAL_KB


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(load_knowledge(REAL_KB))


@pytest.mark.parametrize("message", [
    "i wanna kms", "thinking about suicdie", "im sufering selfharm", "my stepdad hits me",
    "an older guy keeps asking me for pics", "i took a load of pills", "im being bullied every day",
])
def test_risk_messages_get_the_help_lines(responder: Responder, message: str) -> None:
    reply = responder.reply(message)
    assert reply.kind == "safeguarding"
    assert all(number in reply.text for number in ("999", "0800 1111", "116 123", "85258"))


@pytest.mark.parametrize("message", [
    "i want to do an apprenticeship", "dog grooming as a job", "substance misuse worker jobs",
    "how do i end my apprenticeship early", "what is end point assessment",
])
def test_careers_questions_are_not_safeguarding(responder: Responder, message: str) -> None:
    assert responder.reply(message).kind != "safeguarding"


def test_no_maintained_question_triggers_safeguarding(responder: Responder) -> None:
    questions = [q for e in responder.kb.entries.values() for q in (e.title, *e.questions)]
    assert [q for q in questions if responder.safeguarding.is_concerning(q)] == []


def test_short_words_must_match_exactly() -> None:
    detector = SafeguardingDetector(["want to die"], Normaliser({}))
    assert detector.is_concerning("i want to die")
    assert not detector.is_concerning("i want to do")


async def test_a_disclosure_is_counted_but_its_text_never_stored(bot: Application, local_api: LocalBotApi) -> None:
    import datetime as dt

    from bot.storage import safeguarding_count

    local_api.push_text(4242, "i want to die")
    [reply] = await local_api.wait_for_messages(4242, 1)
    assert "0800 1111" in reply.text
    db = bot.bot_data["services"].db
    assert safeguarding_count(db, dt.datetime.now(dt.UTC).date()) == 1
    dumped = "\n".join(str(row) for table in db.tables for row in table.rows)
    assert "want to die" not in dumped


async def test_the_safeguarding_contact_gets_a_count_and_no_text(bot: Application, local_api: LocalBotApi) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from bot.storage import record_safeguarding_reply
    from jobs.safeguarding_report import send_safeguarding_count

    services = bot.bot_data["services"]
    services.settings = services.settings.model_copy(update={"safeguarding_contact_id": 31337})
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    record_safeguarding_reply(services.db, yesterday)
    await send_safeguarding_count(SimpleNamespace(bot_data=bot.bot_data, bot=bot.bot))
    [summary] = local_api.sent_to(31337)
    assert "shown 1 time(s)" in summary.text
