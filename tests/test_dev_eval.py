"""Answer quality: the floors the knowledge base and matcher must keep, on every labelled set.

- ``dev.jsonl``: the shared dev set (student wording).
- ``paraphrases.jsonl``: written independently of both the entries and the dev set.
- ``real-dev.jsonl``: questions real people wrote on public pages (shared).
- ``real-pages.jsonl``: more real questions, harvested from 149 other public pages.

The matcher's parameters were chosen by cross-validation over all four (``tools/tune_matching.py``).
"""

from __future__ import annotations

from functools import cache

import pytest

from bot.answering.evaluation import EvalReport, evaluate, read_cases
from tests.conftest import DATA, real_responder

# dev, paraphrases and real-dev: the floors the answers issue set. real-pages: below what the
# bot scores (topic 89%, none 79%, occupations 97% in November 2026), to catch a slide; its
# abstention was traded for topic answers (none 82% → 79%, topic 79% → 89%) by calibration.
FLOORS = {
    "dev": {"topic": 0.95, "none": 0.95, "safeguarding": 1.0, "occupation": 0.95},
    "paraphrases": {"topic": 0.93, "none": 0.92, "safeguarding": 1.0, "occupation": 0.90},
    "real-dev": {"topic": 0.85, "none": 0.85, "occupation": 0.60},
    "real-pages": {"topic": 0.80, "none": 0.75, "occupation": 0.90},
}
MAX_CONFIDENT_WRONG = 0.05
MAX_FALSE_SAFEGUARDING = 0.02


@cache
def report(name: str) -> EvalReport:
    return evaluate(real_responder(), read_cases(DATA / f"{name}.jsonl"))


def _misses(result: EvalReport, group: str) -> str:
    return "\n".join(f"{c.question!r} → {r.kind} {r.id} {r.candidates}"
                     for c, r in result.result(group).misses)


@pytest.mark.parametrize(("name", "group"), [
    (name, group) for name, floors in FLOORS.items() for group in floors])
def test_answer_quality_meets_its_floor(name: str, group: str) -> None:
    result = report(name)
    assert result.result(group).rate >= FLOORS[name][group], _misses(result, group)


@pytest.mark.parametrize("name", FLOORS)
def test_confident_wrong_answers_are_rare(name: str) -> None:
    assert report(name).confident_wrong_rate <= MAX_CONFIDENT_WRONG


@pytest.mark.parametrize("name", FLOORS)
def test_careers_questions_rarely_get_the_safeguarding_reply(name: str) -> None:
    # The semantic check is set for recall (tests/test_safeguarding.py): a careers question
    # shown help lines now and then is the price of never missing a disclosure.
    assert report(name).false_safeguarding <= MAX_FALSE_SAFEGUARDING * report(name).total


@pytest.mark.parametrize("name", FLOORS)
def test_wrong_answers_are_rarer_than_did_you_mean(name: str) -> None:
    replies = [r for group in report(name).groups.values() for _, r in group.misses]
    asked = sum(1 for r in replies if r.kind == "clarify")
    assert report(name).confident_wrong < max(asked, 1)


def test_every_expected_entry_exists() -> None:
    for name in FLOORS:
        assert report(name).unknown_ids == (), name
