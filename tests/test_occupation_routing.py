"""The boundary between knowledge entries and occupations: wording and scores decide."""

from __future__ import annotations

import pytest

from bot.answers import Responder
from bot.knowledge import load_knowledge
from bot.occupation_replies import bundled_occupation_index, job_words
from tests.conftest import REAL_KB


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(load_knowledge(REAL_KB), occupations=bundled_occupation_index())


@pytest.mark.parametrize(("question", "entry"), [
    ("what is a t level", "t-level-basics"),
    ("degree apprenticeship", "degree-apprenticeships"),
    ("work experience", "work-experience"),
    ("apprentice pay", "apprenticeship-pay"),
    ("bursary for college", "financial-support-16-19"),
])
def test_topic_questions_stay_with_the_knowledge_base(responder: Responder, question: str, entry: str) -> None:
    reply = responder.reply(question)
    assert (reply.kind, reply.id) == ("answer", entry)


@pytest.mark.parametrize(("question", "title_word"), [
    ("how do i become an electrician", "electrician"),
    ("software developer apprenticeship", "software"),
    ("i wanna be a plumber", "plumb"),
    ("robotics engineer", "robotics"),
    ("how to become a farrier", "farrier"),
])
def test_job_questions_go_to_the_occupational_maps(responder: Responder, question: str, title_word: str) -> None:
    reply = responder.reply(question)
    assert reply.kind == "occupation"
    occupation = responder.occupations.get(reply.id)
    assert title_word in occupation.title.lower()


def test_jobs_with_animals_finds_animal_occupations(responder: Responder) -> None:
    reply = responder.reply("jobs with animals")
    assert reply.kind == "occupation"
    assert any("animal" in responder.occupations.get(i).title.lower() for i in reply.candidates)


def test_several_close_jobs_are_offered_as_buttons(responder: Responder) -> None:
    reply = responder.reply("i want to be an electrician")
    assert reply.kind == "occupation"
    if len(reply.buttons) > 1:
        assert all(b.data.startswith("occ:") for row in reply.buttons for b in row)


@pytest.mark.parametrize(("message", "words"), [
    ("i love fixin cars wanna be a mechanic wat do i do", "mechanic"),
    ("i want to be a sparky, wiring peoples houses n that", "sparky"),
    ("how do i become an architect but uni is long", "architect"),
    ("what is a t level", None),
])
def test_job_words_are_the_words_after_job_seeking_wording(message: str, words: str | None) -> None:
    assert job_words(message) == words


def test_an_occupation_card_shows_level_route_ways_in_and_the_official_page(responder: Responder) -> None:
    reply = responder.reply("how to become a farrier")
    assert "Level 3 – like A levels" in reply.text
    assert "Agriculture, environmental and animal care route" in reply.text
    assert "(ST0" in reply.text
    assert "maps/occupation/OCC0172" in reply.text
    assert [b.data for row in reply.buttons for b in row] == ["occrel:OCC0172"]
