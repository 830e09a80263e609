"""Safeguarding comes before any matching, tolerates slang and typos, and never fires on careers."""

from __future__ import annotations

import pytest

from bot.answers import Responder
from bot.knowledge import load_knowledge
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
