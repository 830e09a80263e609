"""Safeguarding comes before any matching, recognises how young people write, gives the right
help for each kind of risk, and leaves careers questions with alarming words alone."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from telegram.ext import Application

from app.local_api import LocalBotApi
from bot.answering.evaluation import EvalReport, evaluate, read_cases
from bot.answering.query import QueryReader
from bot.answering.responder import Responder
from bot.answering.safeguarding import SafeguardingDetector
from bot.encoder import embedding_cache
from bot.text import Normaliser
from tests.conftest import DATA, REAL_KB, real_responder

MAX_FALSE_POSITIVES = 0.02


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@cache
def measured() -> EvalReport:
    """``safeguarding.jsonl``: 209 disclosures in eight categories and 152 careers questions
    with alarming words, written independently of the phrase and exemplar files."""
    return evaluate(real_responder(), read_cases(DATA / "safeguarding.jsonl"))


def test_every_disclosure_in_the_test_file_gets_the_safeguarding_reply() -> None:
    missed = [case.question for case, reply in measured().result("safeguarding").misses
              if reply.kind != "safeguarding"]
    assert missed == []


def test_careers_questions_with_alarming_words_rarely_trigger_it() -> None:
    assert measured().result("not-safeguarding").rate >= 1 - MAX_FALSE_POSITIVES


@pytest.mark.parametrize("category", ["suicide-self-harm", "abuse-neglect", "online-grooming-images",
                                      "sexual-violence", "exploitation", "forced-marriage",
                                      "homelessness", "bullying"])
def test_each_category_mostly_gets_its_own_help(category: str) -> None:
    result = measured().by_category[category]
    assert result.total >= 15
    assert result.right_help / result.total >= 0.85


@pytest.mark.parametrize(("message", "category"), [
    ("i was raped", "sexual-violence"),
    ("im going to jump off the bridge", "suicide-self-harm"),
    ("nobody would care if i was gone", "suicide-self-harm"),
    ("i cut my arms again", "suicide-self-harm"),
    ("whats the point of anything i should just disappear", "suicide-self-harm"),
    ("theres this older guy who wants to meet me and says not to tell anyone", "online-grooming-images"),
    ("i havent eaten in days cos theres no food at home", "abuse-neglect"),
    ("im homeless and sleeping on a mates sofa", "homelessness"),
])
def test_the_disclosures_the_phrase_list_missed_get_the_right_help(
        responder: Responder, message: str, category: str) -> None:
    reply = responder.reply(message)
    assert (reply.kind, reply.id) == ("safeguarding", category)


def test_a_disclosure_mixed_with_a_careers_question_gets_help_first(responder: Responder) -> None:
    reply = responder.reply("i want to die i failed my gcses what can i do now")
    assert (reply.kind, reply.id) == ("safeguarding", "suicide-self-harm")


@pytest.mark.parametrize(("category", "numbers"), [
    ("suicide-self-harm", ("999", "116 123", "85258", "0800 1111")),
    ("abuse-neglect", ("999", "0800 1111", "0808 800 5000")),
    ("online-grooming-images", ("ceop.police.uk", "0800 1111")),
    ("sexual-violence", ("999", "0808 500 2222", "0800 1111")),
    ("exploitation", ("999", "0800 1111", "fearless.org")),
    ("forced-marriage", ("999", "020 7008 0151")),
    ("homelessness", ("0808 800 4444", "0808 800 0661")),
    ("bullying", ("0800 1111",)),
])
def test_each_category_points_to_its_own_services(responder: Responder, category: str,
                                                  numbers: tuple[str, ...]) -> None:
    reply = responder.safeguarding.reply(category)
    assert all(number in reply for number in numbers)
    assert "careers bot" in reply


def test_where_there_is_danger_now_999_comes_first(responder: Responder) -> None:
    for category in ("suicide-self-harm", "abuse-neglect", "sexual-violence", "exploitation",
                     "forced-marriage"):
        reply = responder.safeguarding.reply(category)
        first_number = min(reply.find(n) for n in ("999", "0800", "0808", "116", "020", "85258")
                           if n in reply)
        assert reply.find("999") == first_number, category


@pytest.mark.parametrize("message", [
    "i want to do an apprenticeship", "dog grooming as a job", "substance misuse worker jobs",
    "how do i end my apprenticeship early", "what is end point assessment",
    "is a butcher apprenticeship a dead end job", "i would die for a software apprenticeship",
    "jobs in drug and alcohol support work", "social worker for children at risk",
    "suicide prevention charity jobs",
])
def test_careers_questions_are_not_safeguarding(responder: Responder, message: str) -> None:
    assert responder.reply(message).kind != "safeguarding"


def test_short_follow_ups_are_not_read_as_disclosures(responder: Responder) -> None:
    # Vague follow-ups sit close to everything; "r they paid" once got the exploitation help.
    follow_ups = [row["q"] for row in read_jsonl(DATA / "followups.jsonl")]
    flagged = [q for q in follow_ups if responder.reply(q).kind == "safeguarding"]
    assert flagged == []


def test_no_small_talk_example_gets_the_safeguarding_reply(responder: Responder) -> None:
    # "bye" sits close to the exemplar "my best mate said bye to everyone".
    examples = list(responder.kb.smalltalk["kinds"]["bye"]["examples"]) + [
        "you are useless", "are you alive"]
    flagged = [q for q in examples if responder.reply(q).kind == "safeguarding"]
    assert flagged == []


@pytest.mark.parametrize("message", [
    "goodbye forever", "this is goodbye", "saying goodbye to everyone",
    "i dont want to be alive anymore",
])
def test_a_goodbye_that_is_a_disclosure_still_gets_help(responder: Responder,
                                                         message: str) -> None:
    assert responder.reply(message).kind == "safeguarding"


def test_a_word_the_phrases_use_is_not_read_as_a_typo_of_another() -> None:
    detector = _detector(["unalive", "not want to be alive"])
    assert detector.phrase_category("are you alive") is None
    assert detector.phrase_category("i want to unalive") == "test"


def test_no_maintained_question_triggers_safeguarding(responder: Responder) -> None:
    questions = [q for e in responder.kb.entries.values() for q in (e.title, *e.questions)]
    flagged = [q for q in questions if responder.safeguarding.check(responder.reader.read(q))]
    assert flagged == []


def _detector(phrases: list[str], ordinary: set[str] | None = None) -> SafeguardingDetector:
    data = {"categories": {"test": {"reply": "help", "phrases": phrases}}}
    cache = embedding_cache()
    return SafeguardingDetector(data, {}, Normaliser({}), cache, ordinary=ordinary or set())


def test_short_words_must_match_exactly() -> None:
    detector = _detector(["want to die"])
    assert detector.phrase_category("i want to die") == "test"
    assert detector.phrase_category("i want to do") is None


def test_a_typo_of_an_unfamiliar_word_still_matches() -> None:
    assert _detector(["thinking about suicide"]).phrase_category("thinking about suicdie") == "test"


def test_a_word_the_bot_uses_is_never_read_as_a_typo() -> None:
    detector = _detector(["scared of my mum"], ordinary={"care"})
    assert detector.phrase_category("i take care of my mum") is None


def test_a_one_word_phrase_matches_as_written_not_its_other_forms() -> None:
    detector = _detector(["suicidal", "overdosed"])
    assert detector.phrase_category("i feel suicidal") == "test"
    assert detector.phrase_category("suicide prevention jobs") is None
    assert detector.phrase_category("do they teach about overdoses") is None


def test_the_meaning_check_catches_a_disclosure_no_phrase_names() -> None:
    kb = real_responder().kb
    detector = SafeguardingDetector({"categories": {"suicide-self-harm": {
        "reply": "help", "phrases": ["kill myself"]}}}, kb.safeguarding_exemplars,
        Normaliser(kb.matching), embedding_cache())
    reader = QueryReader(Normaliser(kb.matching), embedding_cache().encoder)
    concern = detector.check(reader.read("everyone would be happier if i just wasnt around"))
    assert concern is not None and concern.found_by == "meaning"


def test_the_safeguarding_files_say_who_reviews_them_and_when() -> None:
    for name in ("safeguarding.yaml", "safeguarding_exemplars.yaml"):
        header = (REAL_KB / name).read_text(encoding="utf-8")[:3000]
        assert "Reviewed by" in header and "2026-11-25" in header, name
    data = yaml.safe_load((REAL_KB / "safeguarding.yaml").read_text(encoding="utf-8"))
    assert data["reviewed_by"] and data["last_checked"]


async def test_a_disclosure_is_counted_by_category_but_its_text_never_stored(
        bot: Application, local_api: LocalBotApi) -> None:
    import datetime as dt

    from bot.usage import safeguarding_counts

    local_api.push_text(4242, "i want to die")
    [reply] = await local_api.wait_for_messages(4242, 1)
    assert "116 123" in reply.text
    bot.bot_data.services.usage.flush()  # written with the other bookkeeping, once a second
    db = bot.bot_data.services.db
    assert safeguarding_counts(db, dt.datetime.now(dt.UTC).date()) == {"suicide-self-harm": 1}
    dumped = "\n".join(str(row) for table in db.tables for row in table.rows)
    assert "want to die" not in dumped


async def test_the_safeguarding_contact_gets_counts_by_category_and_no_text(
        bot: Application, local_api: LocalBotApi) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from bot.usage import record_safeguarding_reply
    from jobs.safeguarding_report import send_safeguarding_count

    services = bot.bot_data.services
    services.settings = services.settings.model_copy(update={"safeguarding_contact_id": 31337})
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    record_safeguarding_reply(services.db, "bullying", yesterday)
    record_safeguarding_reply(services.db, "bullying", yesterday)
    record_safeguarding_reply(services.db, "homelessness", yesterday)
    await send_safeguarding_count(SimpleNamespace(bot_data=bot.bot_data, bot=bot.bot))
    [summary] = local_api.sent_to(31337)
    assert "shown 3 time(s) (bullying 2, homelessness 1)" in summary.text
