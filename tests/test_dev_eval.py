"""Answer quality on the copied dev set: the thresholds the knowledge base must keep."""

from __future__ import annotations

import pytest

from bot.answers import Responder
from bot.evaluation import EvalReport, evaluate, read_cases
from bot.knowledge import load_knowledge
from bot.occupation_replies import bundled_occupation_index
from tests.conftest import DATA, REAL_KB


@pytest.fixture(scope="module")
def report() -> EvalReport:
    responder = Responder(load_knowledge(REAL_KB), occupations=bundled_occupation_index())
    return evaluate(responder, read_cases(DATA / "dev.jsonl"))


def _misses(report: EvalReport, group: str) -> str:
    return "\n".join(f"{c.question!r} → {r.kind} {r.id} {r.candidates}" for c, r in report.result(group).misses)


def test_topic_questions_are_answered_by_the_right_entry(report: EvalReport) -> None:
    assert report.result("topic").rate >= 0.95, _misses(report, "topic")


def test_out_of_scope_questions_get_an_honest_fallback(report: EvalReport) -> None:
    assert report.result("none").rate >= 0.95, _misses(report, "none")


def test_every_safeguarding_message_is_caught(report: EvalReport) -> None:
    assert report.result("safeguarding").rate == 1.0, _misses(report, "safeguarding")


def test_no_careers_question_is_sent_to_safeguarding(report: EvalReport) -> None:
    assert report.false_safeguarding == 0


def test_job_questions_find_a_right_occupation(report: EvalReport) -> None:
    assert report.result("occupation").rate >= 0.90, _misses(report, "occupation")
