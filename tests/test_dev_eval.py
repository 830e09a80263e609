"""Answer quality: the thresholds the knowledge base and matcher must keep.

``dev.jsonl`` is the shared dev set (issue targets). ``paraphrases.jsonl`` was written
independently of both the entries and the dev set; its floors guard against tuning that only
helps the dev questions.
"""

from __future__ import annotations

from functools import cache

import pytest

from bot.answers import Responder
from bot.evaluation import EvalReport, evaluate, read_cases
from bot.knowledge import load_knowledge
from bot.occupation_replies import bundled_occupation_index
from tests.conftest import DATA, REAL_KB

FLOORS = {
    "dev": {"topic": 0.95, "none": 0.95, "safeguarding": 1.0, "occupation": 0.90},
    "paraphrases": {"topic": 0.89, "none": 0.90, "safeguarding": 1.0, "occupation": 0.90},
}


@cache
def report(name: str) -> EvalReport:
    responder = Responder(load_knowledge(REAL_KB), occupations=bundled_occupation_index())
    return evaluate(responder, read_cases(DATA / f"{name}.jsonl"))


def _misses(result: EvalReport, group: str) -> str:
    return "\n".join(f"{c.question!r} → {r.kind} {r.id} {r.candidates}" for c, r in result.result(group).misses)


@pytest.mark.parametrize("name", FLOORS)
@pytest.mark.parametrize("group", ["topic", "none", "safeguarding", "occupation"])
def test_answer_quality_meets_its_floor(name: str, group: str) -> None:
    result = report(name)
    assert result.result(group).rate >= FLOORS[name][group], _misses(result, group)


@pytest.mark.parametrize("name", FLOORS)
def test_no_careers_question_is_sent_to_safeguarding(name: str) -> None:
    assert report(name).false_safeguarding == 0


@pytest.mark.parametrize("name", FLOORS)
def test_wrong_answers_are_rarer_than_did_you_mean(name: str) -> None:
    replies = [r for _, r in report(name).result("topic").misses]
    wrong = sum(1 for r in replies if r.kind == "answer")
    asked = sum(1 for r in replies if r.kind == "clarify")
    assert wrong < max(asked, 1)
