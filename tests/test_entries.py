"""Every maintained entry meets the content rules (one test per entry, so failures name it)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.answering.responder import Responder
from bot.knowledge import Entry, load_knowledge
from tests.conftest import REAL_KB

KB = load_knowledge(REAL_KB)
REQUIRED_IDS = {
    "apprenticeship-basics", "apprenticeship-levels", "apprenticeship-pay",
    "apprenticeship-entry-requirements", "apprenticeship-how-to-apply", "apprenticeship-duration",
    "apprenticeship-off-the-job-training", "apprenticeship-end-point-assessment",
    "degree-apprenticeships", "apprenticeship-costs", "apprenticeship-vs-university",
    "apprenticeship-standards", "foundation-apprenticeships", "t-level-basics",
    "t-level-industry-placement", "t-level-subjects", "t-level-grades-and-ucas",
    "t-level-entry-requirements", "t-level-foundation-year", "t-level-vs-apprenticeship",
    "t-level-vs-a-levels", "t-level-where-to-study", "t-level-progression",
    "cambridge-technicals-basics", "cambridge-technicals-university", "cambridge-technicals-subjects",
    "cambridge-technicals-sizes", "cambridge-advanced-nationals", "cambridge-nationals",
    "cambridge-technicals-vs-t-levels", "occupational-maps-basics", "occupational-maps-routes",
    "occupational-maps-how-to-use", "what-is-an-occupation", "knowledge-skills-behaviours",
    "industry-placement-vs-on-the-job-training", "higher-technical-qualifications",
    "qualification-levels", "careers-advice-where", "gatsby-benchmarks", "choosing-a-path",
    "work-experience", "employability-skills", "digital-and-ai-skills", "changing-careers",
    "post-16-options", "ucas-points", "financial-support-16-19", "send-support", "skills-bootcamps",
    "bot-help", "privacy", "adviser-alerts",
    # Added for students choosing in 2027 (V Levels, BTECs, benefits, rights, resits).
    "v-levels", "btecs", "child-benefit-and-apprenticeships", "young-workers-rights",
    "jobs-after-an-apprenticeship", "leaving-school-at-16", "vocational-grades",
    "level-2-courses-2027", "gcse-resits", "apprenticeship-units",
}
RESPONDER = Responder(KB)
ENTRIES = sorted(KB.entries.values(), key=lambda e: e.id)


def test_every_required_topic_has_an_entry() -> None:
    assert REQUIRED_IDS <= set(KB.entries)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_has_at_least_eight_student_phrasings(entry: Entry) -> None:
    assert len(entry.questions) >= 8


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_is_short_enough_for_a_phone(entry: Entry) -> None:
    plain = re.sub(r"\]\([^)]*\)", "]", entry.body)
    assert len(plain) <= 1300


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_cites_https_sources_and_was_reviewed(entry: Entry) -> None:
    assert all(url.startswith("https://") for url in entry.sources)
    assert entry.reviewed >= dt.date(2026, 11, 24)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_offers_related_next_questions(entry: Entry) -> None:
    assert 1 <= len(entry.related) and entry.id not in entry.related


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_renders_as_one_valid_telegram_message(entry: Entry) -> None:
    from tests.test_answer_properties import assert_valid_for_telegram

    reply = RESPONDER.entry_reply(entry.id)
    assert len(reply.messages) == 1
    assert_valid_for_telegram(reply.text)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_title_finds_the_entry(entry: Entry) -> None:
    assert RESPONDER.reply(entry.title).id == entry.id
