"""One routing decision per message: a knowledge entry or an occupation, never by accident."""

from __future__ import annotations

import pytest

from bot.answering.responder import Responder
from bot.answering.routing import job_words


@pytest.mark.parametrize(("question", "entry"), [
    ("what is a t level", "t-level-basics"),
    ("degree apprenticeship", "degree-apprenticeships"),
    ("work experience", "work-experience"),
    ("apprentice pay", "apprenticeship-pay"),
    ("bursary for college", "financial-support-16-19"),
    ("How are T Levels developed?", "t-level-basics"),
])
def test_topic_questions_stay_with_the_knowledge_base(responder: Responder, question: str, entry: str) -> None:
    reply = responder.reply(question)
    assert (reply.kind, reply.id) == ("answer", entry)


@pytest.mark.parametrize("question", [
    "What does a T Level include?",
    "What is a Science T Level?",
    "What are the benefits of an apprenticeship",
    "whats the best football team",
    "what time does college start",
    "apprenticeships in leeds",
    "Why I need to make a decision?",
    "my teacher said i should do a t level",
    "Can I be an apprentice and still go to university?",
])
def test_ordinary_words_that_appear_in_job_titles_never_trigger_job_search(
        responder: Responder, question: str) -> None:
    assert responder.reply(question).kind != "occupation"


@pytest.mark.parametrize(("question", "title_word"), [
    ("how do i become an electrician", "electrician"),
    ("software developer apprenticeship", "software"),
    ("i wanna be a plumber", "plumb"),
    ("robotics engineer", "robotics"),
    ("how to become a farrier", "farrier"),
    ("bricklaying apprenticeship", "bricklayer"),
])
def test_job_questions_go_to_the_occupational_maps(responder: Responder, question: str, title_word: str) -> None:
    reply = responder.reply(question)
    assert reply.kind == "occupation"
    occupation = responder.occupations.get(reply.id)
    assert title_word in occupation.title.lower()


@pytest.mark.parametrize(("word", "first"), [
    ("nurse", "OCC0781"),
    ("police", "OCC0304"),
    ("soldier", "OCC0222"),
    ("carpenter", "OCC0264B"),
    ("vet", "OCC1281"),
    ("coder", "OCC0116"),
])
def test_a_single_job_word_finds_the_usual_occupation_first(responder: Responder, word: str, first: str) -> None:
    reply = responder.reply(word)
    assert (reply.kind, reply.id) == ("occupation", first)


def test_nurse_offers_registered_nurse_and_nursing_associate(responder: Responder) -> None:
    reply = responder.reply("nurse")
    offered = [b.data for row in reply.buttons for b in row]
    assert offered[:2] == ["occ:OCC0781", "occ:OCC0827"]


def test_jobs_with_animals_finds_animal_occupations(responder: Responder) -> None:
    reply = responder.reply("jobs with animals")
    assert reply.kind == "occupation"
    assert any("animal" in responder.occupations.get(i).title.lower() for i in reply.candidates)


def test_several_close_jobs_are_offered_as_buttons(responder: Responder) -> None:
    reply = responder.reply("i want to be an electrician")
    assert reply.kind == "occupation"
    if len(reply.buttons) > 1:
        jobs, last = reply.buttons[:-1], reply.buttons[-1]
        assert all(b.data.startswith("occ:") for row in jobs for b in row)
        assert [b.data for b in last] == ["none"]


@pytest.mark.parametrize(("message", "words"), [
    ("i love fixin cars wanna be a mechanic wat do i do", "mechanic"),
    ("i want to be a sparky, wiring peoples houses n that", "sparky"),
    ("how do i become an architect but uni is long", "architect"),
    ("what is a t level", None),
])
def test_job_words_are_the_words_after_job_seeking_wording(responder: Responder, message: str,
                                                          words: str | None) -> None:
    assert job_words(responder.occupations, message) == words


def test_an_occupation_card_shows_level_route_ways_in_and_the_official_page(responder: Responder) -> None:
    reply = responder.reply("how to become a farrier")
    assert "Level 3 – like A levels" in reply.text
    assert "Agriculture, environmental and animal care route" in reply.text
    assert "Apprenticeship (level 3)" in reply.text
    assert "(ST0" not in reply.text, "codes live behind the Courses and codes button"
    assert "maps/occupation/OCC0172" in reply.text
    assert [b.data for row in reply.buttons for b in row] == ["occdet:OCC0172", "occrel:OCC0172"]
