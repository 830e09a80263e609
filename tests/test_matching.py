"""The matcher: normalisation, typo tolerance, meaning, thresholds and "did you mean"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.answering.matching import Matcher
from bot.answering.query import QueryReader
from bot.encoder import embedding_cache
from bot.knowledge import load_knowledge
from bot.text import Normaliser, normalise
from tests.conftest import CountingEncoder, write_entry


def make_matcher(kb_dir: Path, **options: float) -> tuple[Matcher, QueryReader]:
    kb = load_knowledge(kb_dir)
    normaliser = Normaliser(kb.matching)
    cache = embedding_cache()
    phrasings = {e.id: (e.title, *e.questions) for e in kb.entries.values()}
    bodies = {e.id: e.body for e in kb.entries.values()}
    return (Matcher(phrasings, normaliser, cache, bodies=bodies, **options),
            QueryReader(normaliser, cache.encoder))


@pytest.fixture
def match(kb_dir: Path):  # type: ignore[no-untyped-def]
    matcher, reader = make_matcher(kb_dir)
    return lambda text: matcher.match(reader.read(text))


def test_normalise_folds_case_accents_apostrophes_and_punctuation() -> None:
    assert normalise("What's a  T-Level?!  Café") == "whats a t level cafe"


def test_student_spellings_become_canonical(kb_dir: Path) -> None:
    normaliser = Normaliser(load_knowledge(kb_dir).matching)
    assert normaliser.canonical("wot is a tlevel") == "what is a tlevel"
    assert normaliser.canonical("T-Levels or uni?") == "tlevel versus university"
    assert normaliser.canonical("apprentiship") == "apprenticeship"


def test_typos_still_find_the_entry(match) -> None:  # type: ignore[no-untyped-def]
    result = match("wot is a tlevel")
    assert (result.kind, result.best and result.best.entry_id) == ("answer", "t-level-basics")


def test_misspelt_words_are_corrected_against_the_vocabulary(match) -> None:  # type: ignore[no-untyped-def]
    assert match("how much do aprentises earnn").best.entry_id == "apprenticeship-pay"


def test_a_paraphrase_with_no_shared_words_finds_the_entry_by_meaning(match) -> None:  # type: ignore[no-untyped-def]
    assert match("what wage does a trainee on the job get").best.entry_id == "apprenticeship-pay"


def test_an_unrelated_question_falls_back(match) -> None:  # type: ignore[no-untyped-def]
    assert match("where is the nearest pizza place").kind == "fallback"


def test_gibberish_falls_back(match) -> None:  # type: ignore[no-untyped-def]
    assert match("qwertyuiop").kind == "fallback"


def test_a_greeting_with_a_question_answers_the_question(match) -> None:  # type: ignore[no-untyped-def]
    assert match("hi, what is a t level?").best.entry_id == "t-level-basics"


def test_a_runner_up_within_the_margin_asks_did_you_mean(kb_dir: Path) -> None:
    write_entry(kb_dir, "bursary-amount", "Bursary amount", ["bursary amount per year"])
    write_entry(kb_dir, "bursary-travel", "Bursary travel", ["bursary travel per year"])
    matcher, reader = make_matcher(kb_dir, margin=30)
    result = matcher.match(reader.read("bursary"))
    assert result.kind == "clarify"
    assert {c.entry_id for c in result.candidates} == {"bursary-amount", "bursary-travel"}


def test_a_runner_up_the_answer_offers_as_a_related_button_needs_no_question(kb_dir: Path) -> None:
    write_entry(kb_dir, "bursary-amount", "Bursary amount", ["bursary amount per year"])
    write_entry(kb_dir, "bursary-travel", "Bursary travel", ["bursary travel per year"])
    kb = load_knowledge(kb_dir)
    normaliser = Normaliser(kb.matching)
    cache = embedding_cache()
    both = {"bursary-amount": ["bursary-travel"], "bursary-travel": ["bursary-amount"]}
    matcher = Matcher({e.id: (e.title, *e.questions) for e in kb.entries.values()}, normaliser,
                      cache, margin=30, companions=both)
    result = matcher.match(QueryReader(normaliser, cache.encoder).read("bursary"))
    assert result.kind == "answer"
    assert result.best is not None and result.best.entry_id in both


def test_the_threshold_is_configurable(kb_dir: Path) -> None:
    question = "how long do t levels take"
    matcher, reader = make_matcher(kb_dir)
    score = matcher.rank(reader.read(question))[0].score
    lenient, _ = make_matcher(kb_dir, threshold=score - 5, clarify_floor=score - 5)
    strict, _ = make_matcher(kb_dir, threshold=score + 10, clarify_floor=score + 10)
    assert lenient.match(reader.read(question)).kind == "answer"
    assert strict.match(reader.read(question)).kind == "fallback"


def test_scores_are_between_0_and_100(kb_dir: Path) -> None:
    matcher, reader = make_matcher(kb_dir)
    for question in ("what is a t level", "apprentice pay", "t level apprenticeship pay length"):
        assert all(0 <= c.score <= 100 for c in matcher.rank(reader.read(question)))


def test_a_message_read_again_is_not_encoded_again(kb_dir: Path) -> None:
    counting = CountingEncoder()
    reader = QueryReader(Normaliser(load_knowledge(kb_dir).matching), counting)  # type: ignore[arg-type]
    first, again = reader.read("what is a t level"), reader.read("what is a t level")
    assert counting.encoded == ["what is a t level"]
    assert np.array_equal(first.vector, again.vector) and not again.vector.flags.writeable


def test_a_message_read_after_forgetting_is_encoded_again(kb_dir: Path) -> None:
    counting = CountingEncoder()
    reader = QueryReader(Normaliser(load_knowledge(kb_dir).matching), counting)  # type: ignore[arg-type]
    reader.read("what is a t level")
    reader.forget_recent()
    reader.read("what is a t level")
    assert counting.encoded == ["what is a t level", "what is a t level"]
