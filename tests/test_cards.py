"""What a student sees once a job is found: a short card with every way in, links to pay and
vacancies, similar jobs that widen the view, and lists they can page through."""

from __future__ import annotations

import json
import re

import pytest

from bot.answering.responder import Responder
from bot.maps.cards import LABEL_LIMIT, button_label, details_reply, listing_reply, occupation_card
from bot.maps.search import OccupationIndex
from tests.conftest import DATA

CODE = re.compile(r"\bST\d{4}|\bHTQ[A-Z]{2}\d|\bTQL\d|\bAU\d{3}")
LINKS = re.compile(r"\n\n(💷|🔎|🗺)")


def _card_text(responder: Responder, occupation_id: str) -> str:
    occupation = responder.occupations.get(occupation_id)
    assert occupation is not None
    return occupation_card(responder.kb, occupation).text


@pytest.mark.parametrize(("occupation_id", "degree"), [
    ("OCC1281", "veterinary"),  # Veterinary surgeon
    ("OCC0995", "medical"),     # Doctor
    ("OCC0781", "nursing"),     # Registered nurse
])
def test_jobs_entered_through_a_degree_name_university_with_a_source(
        responder: Responder, occupation_id: str, degree: str) -> None:
    text = _card_text(responder, occupation_id)
    university = next(line for line in text.splitlines() if "University" in line)
    assert degree in university.casefold()
    assert "href=" in university


def test_no_card_shows_product_codes_they_live_behind_the_details_button(responder: Responder) -> None:
    with_codes = [o.id for o in responder.occupations.occupations
                  if CODE.search(occupation_card(responder.kb, o).text)]
    assert with_codes == []


def test_every_card_is_short_enough_for_a_phone_before_its_links(responder: Responder) -> None:
    long_cards = {o.id: len(LINKS.split(occupation_card(responder.kb, o).text)[0])
                  for o in responder.occupations.occupations}
    assert {i: n for i, n in long_cards.items() if n > 1200} == {}


def test_a_card_without_an_overview_has_no_empty_lines_where_it_would_be(responder: Responder) -> None:
    empty = [o for o in responder.occupations.occupations if not o.overview.strip()]
    assert empty, "the snapshot has occupations without an overview"
    for occupation in empty[:20]:
        assert "\n\n\n" not in occupation_card(responder.kb, occupation).text


def test_a_card_links_to_pay_vacancies_and_the_official_page(responder: Responder) -> None:
    text = _card_text(responder, "OCC0172")  # Farrier
    assert "nationalcareers.service.gov.uk/job-profiles/farrier" in text
    assert "findapprenticeship.service.gov.uk" in text and "searchTerm=Farrier" in text
    assert "maps/occupation/OCC0172" in text


def test_the_details_button_lists_every_product_with_its_code(responder: Responder) -> None:
    occupation = responder.occupations.get("OCC0172")
    assert occupation is not None
    reply = details_reply(responder.kb, occupation)
    assert all(product.code in reply.text for product in occupation.products if product.code)
    assert [b.data for row in reply.buttons for b in row] == ["occ:OCC0172"]


def test_button_labels_fit_and_keep_the_level(responder: Responder) -> None:
    for occupation in responder.occupations.occupations:
        label = button_label(occupation)
        assert len(label) <= LABEL_LIMIT
        assert label.endswith(f"(level {occupation.level})")


def test_sibling_options_get_labels_that_tell_them_apart(responder: Responder) -> None:
    plumbing = [o for o in responder.occupations.occupations
                if o.title.startswith("Plumbing and domestic heating technician - ")]
    assert len(plumbing) >= 3
    assert len({button_label(o) for o in plumbing}) == len(plumbing)


def test_routes_are_listed_alphabetically(responder: Responder) -> None:
    names = [r.name for r in sorted(responder.occupations.routes, key=lambda r: r.name.casefold())]
    assert names[0].startswith("Agriculture") and names[-1].startswith("Transport")


def _related_samples() -> list[dict[str, object]]:
    return [json.loads(line) for line in (DATA / "related_occupations.jsonl").read_text().splitlines()
            if line.strip()]


@pytest.mark.parametrize("sample", _related_samples(), ids=lambda s: str(s["title"])[:40])
def test_similar_jobs_include_one_an_adviser_would_name(responder: Responder,
                                                       sample: dict[str, object]) -> None:
    assert responder.explorer is not None
    occupation = responder.occupations.get(str(sample["id"]))
    assert occupation is not None
    related = {o.id for o in responder.explorer.related(occupation)}
    assert related & set(sample["expect_any"])  # type: ignore[arg-type]


def test_similar_jobs_reach_beyond_the_route_when_a_close_job_is_there(responder: Responder) -> None:
    assert responder.explorer is not None
    electrician = responder.occupations.get("OCC0152")
    assert electrician is not None
    routes = {o.route_id for o in responder.explorer.related(electrician)}
    assert routes - {electrician.route_id}


@pytest.mark.parametrize("question", [
    "jobs with animals",
    "i like computers what can i do",
    "i like cars and fixing stuff",
    "jobs working with children",
    "careers in construction",
])
def test_an_interest_gets_jobs_spread_over_routes_or_levels(responder: Responder, question: str) -> None:
    reply = responder.reply(question)
    assert reply.kind == "occupation"
    page = [responder.occupations.get(i) for i in reply.listing[:5]]
    assert len({(o.route_id, o.level) for o in page if o is not None}) >= 3
    assert len({o.title.split(" - ")[0] for o in page if o is not None}) == len(page)


def test_a_long_list_pages_with_more_previous_and_none_of_these(responder: Responder) -> None:
    index: OccupationIndex = responder.occupations
    listing = index.occupations[:12]
    first = listing_reply(responder.kb, listing)
    assert [b.data for b in first.buttons[-2]] == ["more:5"]
    assert [b.data for b in first.buttons[-1]] == ["none"]
    middle = listing_reply(responder.kb, listing, 5)
    assert [b.data for b in middle.buttons[-2]] == ["more:0", "more:10"]
    assert first.listing == tuple(o.id for o in listing)


def test_pay_questions_about_a_job_find_the_job(responder: Responder) -> None:
    reply = responder.reply("how much does a plumber earn")
    assert reply.kind == "occupation"
    assert any("plumbing" in responder.occupations.get(i).title.casefold()  # type: ignore[union-attr]
               for i in reply.candidates)


def test_a_named_level_picks_jobs_at_that_level(responder: Responder) -> None:
    reply = responder.reply("electrician level 2")
    assert reply.kind == "occupation"
    assert responder.occupations.get(reply.candidates[0]).level == 2  # type: ignore[union-attr]


def test_profile_and_degree_data_name_occupations_on_the_map(responder: Responder) -> None:
    ids = {o.id for o in responder.occupations.occupations}
    assert set(responder.kb.job_profiles) <= ids
    assert set(responder.kb.degree_routes) <= ids
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) for slug in responder.kb.job_profiles.values())



@pytest.mark.parametrize("question", ["motor vehicle mechanic", "i want to be a motor vehicle mechanic"])
def test_a_job_named_in_full_is_not_rewritten_by_its_everyday_synonym(responder: Responder,
                                                                      question: str) -> None:
    assert responder.reply(question).kind == "occupation"


def test_a_short_option_keeps_the_job_name_in_its_label(responder: Responder) -> None:
    light = responder.occupations.get("OCC0033")  # "Motor vehicle … technician - light vehicle"
    assert light is not None
    label = button_label(light)
    assert label.startswith("Motor vehicle") and "light vehicle" in label


def test_warming_the_explorer_encodes_every_searchable_occupation(responder: Responder) -> None:
    assert responder.explorer is not None
    assert responder.explorer.warm() == len(responder.occupations.occupations)
