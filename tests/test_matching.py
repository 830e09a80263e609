"""The matcher: normalisation, typo tolerance, thresholds and "did you mean"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import load_knowledge
from bot.matching import LEAD_ALLOWANCE, Matcher
from bot.text import Normaliser, normalise
from tests.conftest import write_entry


@pytest.fixture
def matcher(kb_dir: Path) -> Matcher:
    kb = load_knowledge(kb_dir)
    phrasings = {e.id: (e.title, *e.questions) for e in kb.entries.values()}
    return Matcher(phrasings, Normaliser(kb.matching), threshold=55, margin=6)


def test_normalise_folds_case_accents_apostrophes_and_punctuation() -> None:
    assert normalise("What's a  T-Level?!  Café") == "whats a t level cafe"


def test_student_spellings_become_canonical(kb_dir: Path) -> None:
    normaliser = Normaliser(load_knowledge(kb_dir).matching)
    assert normaliser.canonical("wot is a tlevel") == "what is a tlevel"
    assert normaliser.canonical("T-Levels or uni?") == "tlevel versus university"
    assert normaliser.canonical("apprentiship") == "apprenticeship"


def test_typos_still_find_the_entry(matcher: Matcher) -> None:
    match = matcher.match("wot is a tlevel")
    assert (match.kind, match.best and match.best.entry_id) == ("answer", "t-level-basics")


def test_misspelt_words_are_corrected_against_the_vocabulary(matcher: Matcher) -> None:
    assert matcher.match("how much do aprentises earnn").best.entry_id == "apprenticeship-pay"


def test_an_unrelated_question_falls_back(matcher: Matcher) -> None:
    assert matcher.match("where is the nearest pizza place").kind == "fallback"


def test_gibberish_falls_back(matcher: Matcher) -> None:
    assert matcher.match("qwertyuiop").kind == "fallback"


def test_a_bare_greeting_is_small_talk(matcher: Matcher) -> None:
    assert matcher.match("hiya!!").kind == "greeting"


def test_a_greeting_with_a_question_answers_the_question(matcher: Matcher) -> None:
    assert matcher.match("hi, what is a t level?").best.entry_id == "t-level-basics"


def test_a_close_call_asks_did_you_mean(kb_dir: Path) -> None:
    write_entry(kb_dir, "bursary-amount", "Bursary amount", ["bursary amount per year"])
    write_entry(kb_dir, "bursary-travel", "Bursary travel", ["bursary travel per year"])
    kb = load_knowledge(kb_dir)
    matcher = Matcher({e.id: (e.title, *e.questions) for e in kb.entries.values()},
                      Normaliser(kb.matching))
    match = matcher.match("bursary")
    assert match.kind == "clarify"
    assert {c.entry_id for c in match.candidates} == {"bursary-amount", "bursary-travel"}


def test_the_threshold_is_configurable(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    phrasings = {e.id: (e.title, *e.questions) for e in kb.entries.values()}
    question = "how long do t levels take"
    score = Matcher(phrasings, Normaliser(kb.matching)).rank(question)[0].score
    lenient = Matcher(phrasings, Normaliser(kb.matching), threshold=score - 1)
    strict = Matcher(phrasings, Normaliser(kb.matching), threshold=score + LEAD_ALLOWANCE + 1)
    assert lenient.match(question).kind == "answer"
    assert strict.match(question).kind == "fallback"


def test_scores_are_between_0_and_100(matcher: Matcher) -> None:
    for question in ("what is a t level", "apprentice pay", "t level apprenticeship pay length"):
        assert all(0 <= c.score <= 100 for c in matcher.rank(question))
