"""Follow-ups: a short message after an answer is read in that answer's context; anything that
makes sense alone is answered as before; the context is ids only and short-lived."""

from __future__ import annotations

import pytest

from bot.answering.evaluation import evaluate, read_cases
from bot.answering.followup import CONTEXT_SECONDS, Topic, topic_of
from bot.answering.query import Query
from bot.answering.responder import Responder
from bot.answering.safeguarding import Concern
from bot.reply import Reply
from telegram_io.context import ChatData
from tests.conftest import DATA

FOLLOW_UP_FLOOR = 0.85


def _after(responder: Responder, previous: str, question: str) -> Reply:
    return responder.reply(question, topic_of(responder.reply(previous)))


def test_the_dialogue_file_is_answered_in_context_at_least_85_percent(responder: Responder) -> None:
    cases = read_cases(DATA / "followups.jsonl")
    assert len(cases) >= 40 and all(c.previous for c in cases)
    report = evaluate(responder, cases)
    assert report.followups.rate >= FOLLOW_UP_FLOOR, report.followups.misses


def test_pay_after_t_levels_is_about_t_levels_not_apprentice_pay(responder: Responder) -> None:
    reply = _after(responder, "whats the difference between t levels and a levels",
                   "and how much do they pay?")
    assert reply.kind == "answer" and reply.id is not None and reply.id.startswith("t-level")


def test_tell_me_more_after_a_job_shows_that_job_again(responder: Responder) -> None:
    reply = _after(responder, "how do i become an electrician", "how much would i earn")
    assert (reply.kind, reply.id) == ("occupation", "OCC0152")


def test_similar_jobs_after_a_job_lists_its_neighbours(responder: Responder) -> None:
    reply = _after(responder, "how do i become a software developer", "any similar jobs?")
    assert reply.kind == "occupation" and reply.id == "OCC0116"
    assert "OCC0116" not in reply.candidates[1:] and len(reply.candidates) > 1


@pytest.mark.parametrize("question", ["how do i become a plumber", "what are ucas points",
                                      "what does this bot store about me"])
def test_a_question_that_stands_alone_is_answered_as_without_context(responder: Responder,
                                                                     question: str) -> None:
    alone = responder.reply(question)
    after = _after(responder, "what is an apprenticeship", question)
    assert (after.kind, after.id) == (alone.kind, alone.id)


def test_a_disclosure_after_an_answer_still_gets_help_first(responder: Responder) -> None:
    assert _after(responder, "what is a t level", "i want to kill myself").kind == "safeguarding"


def test_a_disclosure_in_a_tell_me_more_message_gets_help_not_the_answer_again(
        responder: Responder) -> None:
    reply = _after(responder, "what is a t level", "tell me more, i want to kill myself")
    assert reply.kind == "safeguarding"


def test_tell_me_more_after_an_answer_gives_that_answer_again(responder: Responder) -> None:
    first = responder.reply("what is a t level")
    reply = responder.reply("tell me more", topic_of(first))
    assert (reply.kind, reply.id) == ("answer", first.id)


def test_the_chat_keeps_only_the_topic_and_forgets_it_after_30_minutes() -> None:
    memory = ChatData()
    memory.remember(Reply("answer", "text", "t-level-basics"), now=1000.0)
    assert memory.current_topic(now=1000.0 + CONTEXT_SECONDS - 1) == Topic("entry", "t-level-basics")
    assert memory.current_topic(now=1000.0 + CONTEXT_SECONDS + 1) is None


def test_replies_about_nothing_keep_the_earlier_topic() -> None:
    memory = ChatData()
    memory.remember(Reply("occupation", "card", "OCC0152"), now=0.0)
    memory.remember(Reply("smalltalk", "You're welcome!", "thanks"), now=1.0)
    assert memory.current_topic(now=2.0) == Topic("occupation", "OCC0152")


def test_forget_clears_the_context() -> None:
    memory = ChatData()
    memory.remember(Reply("answer", "text", "t-level-basics"), now=0.0)
    memory.forget()
    assert memory.current_topic(now=1.0) is None


def test_an_unrelated_question_is_not_pulled_into_the_last_topic(responder: Responder) -> None:
    reply = _after(responder, "does child benefit stop if my son starts an apprenticeship",
                   "where can i learn to fly planes")
    assert reply.id != "child-benefit-and-apprenticeships"


def test_safeguarding_reads_a_follow_up_as_the_student_wrote_it_not_with_the_subject_added(
        responder: Responder, monkeypatch: pytest.MonkeyPatch) -> None:
    first = responder.reply("what is a t level")
    checked: list[str] = []
    check = responder.safeguarding.check

    def recording(query: Query) -> Concern | None:
        checked.append(query.text)
        return check(query)

    monkeypatch.setattr(responder.safeguarding, "check", recording)
    reply = responder.reply("do u get paid on them tho", topic_of(first))
    assert reply.id is not None and reply.id.startswith("t-level")
    assert checked == ["do u get paid on them tho"]
