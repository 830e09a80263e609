"""Finding occupations from what students type: intent wording, typos, slang, ties, speed."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.maps.model import Occupation, OccupationMap, Product
from bot.maps.parse import load_bundled_map
from bot.maps.search import (
    OccupationIndex,
    PhraseRules,
    level_in_words,
    load_phrases,
    route_occupations,
    technical_level,
)

THRESHOLD = 60.0  # the bot's default occupation_threshold


@cache
def index() -> OccupationIndex:
    return OccupationIndex.build(load_bundled_map())


def best(query: str) -> tuple[Occupation, float]:
    results = index().search(query, 1)
    assert results, f"nothing found for {query!r}"
    return results[0]


def test_how_do_i_become_an_electrician_finds_an_electrician() -> None:
    occupation, score = best("How do I become an electrician?")
    assert "electrician" in occupation.title.lower() and score >= THRESHOLD


def test_software_developer_apprenticeship_finds_software_developer() -> None:
    assert best("software developer apprenticeship")[0].id == "OCC0116"


def test_jobs_with_animals_surfaces_animal_occupations() -> None:
    results = index().search("jobs with animals", 5)
    assert len(results) == 5 and all(score >= THRESHOLD for _, score in results)
    for occupation, _ in results:
        text = " ".join(
            (occupation.title, occupation.overview, *occupation.typical_job_titles)
        ).lower()
        assert "animal" in text


def test_wanna_be_a_plumber_finds_plumbing() -> None:
    occupation, score = best("wanna be a plumber")
    assert "plumbing" in occupation.title.lower() and score >= THRESHOLD


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("what does a quantity surveyor do", "quantity surveyor"),
        ("i'd like to be a paramedic", "paramedic"),
        ("career as a dietitian", "dietitian"),
        ("tell me about being a train driver", "train driver"),
        ("i want to be a graphic designer!!", "graphic designer"),
    ],
)
def test_intent_wording_around_the_job_is_ignored(query: str, expected: str) -> None:
    occupation, score = best(query)
    assert expected in occupation.title.lower() and score >= THRESHOLD


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("how do i become an electrican", "electrician"),
        ("hairdreser", "hairdressing"),
        ("paramedik", "paramedic"),
        ("vetinary nurse", "veterinary nurse"),
        ("i wanna be a acountant", "accounting"),
        ("how do i becum a plumer", "plumbing"),
    ],
)
def test_typos_still_find_the_occupation(typo: str, expected: str) -> None:
    occupation, score = best(typo)
    assert expected in occupation.title.lower() and score >= THRESHOLD


@pytest.mark.parametrize(
    ("slang", "expected"),
    [
        ("i want to be a sparky", "electrician"),
        ("coder apprenticeship", "software developer"),
        ("how do i become a vet", "veterinary"),
    ],
)
def test_everyday_words_map_onto_the_maps_words(slang: str, expected: str) -> None:
    assert expected in best(slang)[0].title.lower()


def test_words_the_titles_write_as_one_are_joined() -> None:
    assert best("brick layer")[0].title == "Bricklayer"


@pytest.mark.parametrize(
    "question",
    [
        "what is an apprenticeship",
        "what is a t level",
        "how do i become a",
        "can i do an apprenticeship at 16",
        "hello",
    ],
)
def test_wording_with_no_job_in_it_finds_nothing(question: str) -> None:
    assert index().search(question) == []


@pytest.mark.parametrize(
    "question",
    [
        "where is the nearest pizza place",
        "how much do apprentices get paid",
        "do i need a degree",
        "what are the entry requirements",
    ],
)
def test_questions_that_are_not_about_a_job_score_below_the_threshold(question: str) -> None:
    assert all(score < THRESHOLD for _, score in index().search(question))


def test_results_are_best_first_and_limited() -> None:
    results = index().search("engineer", 7)
    scores = [score for _, score in results]
    assert len(results) == 7 and scores == sorted(scores, reverse=True)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_any_text_gets_scores_between_0_and_100(text: str) -> None:
    assert all(0 <= score <= 100 for _, score in index().search(text))


# --- ties and what is searchable ---


def occupation(occupation_id: str, **fields: object) -> Occupation:
    base = Occupation(
        id=occupation_id,
        title="Dog groomer",
        overview="Groom dogs.",
        level=2,
        route_id="1",
        route_name="Agriculture, environmental and animal care",
        status=1,
        status_name="Approved occupation",
        products=(
            Product(
                f"ST{occupation_id[3:]}",
                "Dog groomer",
                2,
                "Apprenticeship",
                "Approved for delivery",
            ),
        ),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def tiny_index(*occupations: Occupation) -> OccupationIndex:
    return OccupationIndex.build(OccupationMap.of(occupations))


def test_title_ties_prefer_the_approved_occupation() -> None:
    found = tiny_index(
        occupation("OCC0001", status=3, status_name="Potential occupational standard"),
        occupation("OCC0002"),
    ).search("dog groomer")
    assert [o.id for o, _ in found] == ["OCC0002", "OCC0001"]
    assert found[0][1] == found[1][1]


def test_title_ties_prefer_an_option_with_an_apprenticeship() -> None:
    found = tiny_index(occupation("OCC0001", products=()), occupation("OCC0002")).search(
        "dog groomer"
    )
    assert found[0][0].id == "OCC0002"


def test_title_ties_prefer_the_lower_level() -> None:
    found = tiny_index(occupation("OCC0001", level=5), occupation("OCC0002", level=2)).search(
        "dog groomer"
    )
    assert found[0][0].id == "OCC0002"


def test_retired_occupations_are_not_searchable() -> None:
    found = tiny_index(
        occupation("OCC0001", status_name="Retired"), occupation("OCC0002", title="Cat groomer")
    )
    assert [o.id for o, _ in found.search("dog groomer")] == ["OCC0002"]


def test_phrase_lists_are_data() -> None:
    rules = PhraseRules.from_data(
        {
            "intent_phrases": ["i fancy being a"],
            "filler_words": ["please"],
            "synonyms": {"pooch": "dog"},
        }
    )
    found = OccupationIndex.build(OccupationMap.of([occupation("OCC0001")]), rules).search(
        "I fancy being a pooch groomer please"
    )
    assert found[0][1] == 100.0


def test_phrase_file_refuses_words_yaml_reads_as_booleans() -> None:
    with pytest.raises(ValueError, match="quote"):
        PhraseRules.from_data({"filler_words": ["a", True]})


def test_bundled_phrase_file_loads() -> None:
    rules = load_phrases()
    assert rules.clean("How do I become an electrician?") == ["electrician"]


# --- browsing helpers ---


@pytest.mark.parametrize(
    ("level", "words"),
    [
        (2, "Level 2 – like GCSEs at grades 9 to 4"),
        (3, "Level 3 – like A levels"),
        (4, "Level 4 – like a Higher National Certificate (HNC) or the first year of a degree"),
        (5, "Level 5 – like a foundation degree or a Higher National Diploma (HND)"),
        (6, "Level 6 – like a bachelor's degree"),
        (7, "Level 7 – like a master's degree"),
    ],
)
def test_levels_in_words(level: int, words: str) -> None:
    assert level_in_words(level) == words


def test_technical_levels_match_the_map_columns() -> None:
    assert [technical_level(n) for n in range(2, 8)] == [
        "Technical",
        "Technical",
        "Higher technical",
        "Higher technical",
        "Professional",
        "Professional",
    ]


def test_route_occupations_are_grouped_by_level_lowest_first() -> None:
    grouped = index().route_occupations("9")  # Hair and beauty
    assert list(grouped) == sorted(grouped)
    assert sum(len(v) for v in grouped.values()) == 15
    assert all(
        o.route_id == "9" and o.level == level for level, group in grouped.items() for o in group
    )
    assert [o.title for o in grouped[2]] == sorted((o.title for o in grouped[2]), key=str.casefold)


def test_route_occupations_leave_out_retired_ones() -> None:
    occupation_map = OccupationMap.of(
        [occupation("OCC0001", status_name="Withdrawn"), occupation("OCC0002")]
    )
    assert [o.id for group in route_occupations(occupation_map, "1").values() for o in group] == [
        "OCC0002"
    ]


# --- speed ---


def test_search_is_fast_enough_for_chat() -> None:
    """A loose guard against full rescans (the bench measures the real p99 ≤ 1 ms)."""
    queries = [
        "how do i become an electrician",
        "jobs with animals",
        "wanna be a plumbr",
        "engineer",
        "hairdreser",
    ]
    index().search("warm up")
    timings = []
    for query in queries * 20:
        started = time.perf_counter()
        index().search(query)
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[int(len(timings) * 0.95)] < 0.005
