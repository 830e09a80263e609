"""End to end: the real Application and PTB's HTTP client against the local Bot API on 127.0.0.1."""

from __future__ import annotations

from telegram.ext import Application

from app.local_api import LocalBotApi
from bot.config import Settings

CHAT = 5001


async def test_start_sends_a_welcome_with_the_menu(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/start")
    [welcome] = await local_api.wait_for_messages(CHAT, 1)
    assert "careers bot" in welcome.text
    assert [label for label, _ in welcome.buttons] == [
        "Apprenticeships", "T Levels", "Cambridge Technicals", "Occupational maps", "Ask a question"]
    assert welcome.params["parse_mode"] == "HTML"


async def test_the_command_menu_is_registered_at_start(bot: Application, local_api: LocalBotApi) -> None:
    names = {c["command"] for c in local_api.commands}
    assert {"start", "help", "occupation", "routes", "subscribe", "privacy"} <= names


async def test_a_question_gets_the_answer_sources_and_related_buttons(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "wot is a tlevel")
    [answer] = await local_api.wait_for_messages(CHAT, 1)
    assert "three A levels" in answer.text
    assert '<a href="https://' in answer.text and "Last reviewed: 25 November 2026" in answer.text
    related = [data for _, data in answer.buttons if data.startswith("ans:")]
    assert 1 <= len(related) <= 3
    assert [data for _, data in answer.buttons][len(related):] == ["r+:t-level-basics",
                                                                    "r-:t-level-basics"]


async def test_did_you_mean_buttons_lead_to_the_chosen_answer(
    bot: Application, local_api: LocalBotApi
) -> None:
    responder = bot.bot_data.services.responder
    question = next(q for q in ("t level or apprenticeship pay", "apprenticeship", "t levels vs",
                                "cambridge", "levels", "courses", "qualifications", "is it paid")
                    if responder.reply(q).kind == "clarify")
    local_api.push_text(CHAT, question)
    [clarify] = await local_api.wait_for_messages(CHAT, 1)
    assert clarify.text.startswith("I'm not quite sure")
    assert clarify.buttons[-1] == ("None of these", "none")
    _, data = clarify.buttons[0]
    local_api.push_callback(CHAT, data)
    messages = await local_api.wait_for_messages(CHAT, 2)
    assert "Last reviewed" in messages[1].text
    assert data.removeprefix("ans:") == responder.reply(question).candidates[0]


async def test_none_of_these_points_to_a_person(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_callback(CHAT, "none")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "0800 100 900" in reply.text


async def test_an_unknown_question_gets_an_honest_fallback(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "where is the nearest pizza place")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "I don't know that one" in reply.text
    assert "0800 100 900" in reply.text and "careers adviser" in reply.text
    bot.bot_data.services.usage.flush()  # written with the other bookkeeping, once a second
    rows = list(bot.bot_data.services.db["unanswered"].rows)
    assert [r["text"] for r in rows] == ["where is the nearest pizza place"]
    assert "chat_id" not in rows[0]


async def test_a_sticker_gets_a_text_only_notice(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_message(CHAT, {"sticker": {
        "file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512, "height": 512,
        "is_animated": False, "is_video": False}})
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert reply.text.startswith("I can only read text messages for now")


async def test_a_forged_button_has_expired(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_callback(CHAT, "ans:no-such-entry")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "That button has expired" in reply.text


async def test_users_are_remembered_with_first_and_last_seen(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "/help")
    await local_api.wait_for_messages(CHAT, 1)
    bot.bot_data.services.usage.flush()  # as the bot does every second
    user = bot.bot_data.services.db["users"].get(CHAT)
    assert user["first_seen"] and user["last_seen"] and user["role"] == "student"


async def test_admin_commands_are_refused_to_students(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/reload")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert reply.text == "Sorry, that command is for admins."


async def test_an_admin_can_reload_knowledge(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(999, "/reload")
    [reply] = await local_api.wait_for_messages(999, 1)
    kb = bot.bot_data.services.kb
    assert reply.text.startswith(f"Knowledge reloaded: {len(kb)} entries")


async def test_occupation_search_shows_a_card_with_the_official_link(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "/occupation electrician")
    [choices] = await local_api.wait_for_messages(CHAT, 1)
    jobs = [data for _, data in choices.buttons if data.startswith("occ:")]
    assert jobs and all(data.startswith("occ:OCC") for data in jobs)
    assert choices.buttons[-1][1] == "none"
    local_api.push_callback(CHAT, choices.buttons[0][1])
    card = (await local_api.wait_for_messages(CHAT, 2))[1]
    assert "electrician" in card.text.lower()
    assert "occupational-maps.skillsengland.education.gov.uk/maps/occupation/OCC" in card.text
    assert "Open Government Licence" in card.text


async def test_routes_browse_to_a_page_of_occupations(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/routes")
    [routes] = await local_api.wait_for_messages(CHAT, 1)
    route_labels = [label for label, data in routes.buttons if data.startswith("route:")]
    assert len(route_labels) == 15
    assert route_labels == sorted(route_labels, key=str.casefold)
    digital = next(data for label, data in routes.buttons if label == "Digital")
    local_api.push_callback(CHAT, digital)
    levels = (await local_api.wait_for_messages(CHAT, 2))[1]
    local_api.push_callback(CHAT, levels.buttons[0][1])
    page = (await local_api.wait_for_messages(CHAT, 3))[2]
    assert page.buttons and all(data.startswith(("occ:", "route:", "home")) for _, data in page.buttons)


async def test_a_flood_gets_one_notice_then_silence(bot: Application, local_api: LocalBotApi,
                                                    real_settings: Settings) -> None:
    limit = real_settings.flood_limit_per_minute
    for _ in range(limit + 3):
        local_api.push_text(CHAT, "apprentice pay")
    await local_api.wait_for_messages(CHAT, limit + 1)
    await __import__("asyncio").sleep(0.5)
    texts = [m.text for m in local_api.sent_to(CHAT)]
    assert len(texts) == limit + 1
    assert texts.count(bot.bot_data.services.kb.message("flood_notice")) == 1


async def test_admin_refresh_without_an_api_key_explains_and_keeps_the_map(
    bot: Application, local_api: LocalBotApi
) -> None:
    services = bot.bot_data.services
    before = len(services.responder.occupations)
    local_api.push_text(999, "/refresh")
    [reply] = await local_api.wait_for_messages(999, 1, timeout=20)
    assert "key" in reply.text.lower()
    assert len(services.responder.occupations) == before


async def test_privacy_explains_what_is_stored(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/privacy")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "90 days" in reply.text and "/forget" in reply.text


async def test_forget_deletes_the_chat_after_one_confirm_tap(bot: Application, local_api: LocalBotApi) -> None:
    db = bot.bot_data.services.db
    local_api.push_text(CHAT, "/start")
    await local_api.wait_for_messages(CHAT, 1)
    bot.bot_data.services.usage.flush()  # as the bot does every second
    local_api.push_text(CHAT, "/forget")
    confirm = (await local_api.wait_for_messages(CHAT, 2))[1]
    assert [data for _, data in confirm.buttons] == ["forget:yes", "forget:no"]
    assert db["users"].count == 1
    local_api.push_callback(CHAT, "forget:yes")
    done = (await local_api.wait_for_messages(CHAT, 3))[2]
    assert done.text.startswith("Done.")
    bot.bot_data.services.usage.flush()  # the /forget itself is not written back
    assert db["users"].count == 0


async def test_a_card_opens_its_codes_and_similar_jobs_and_goes_back(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "how to become a farrier")
    [card] = await local_api.wait_for_messages(CHAT, 1)
    assert [data for _, data in card.buttons] == ["occdet:OCC0172", "occrel:OCC0172"]
    local_api.push_callback(CHAT, "occdet:OCC0172")
    details = (await local_api.wait_for_messages(CHAT, 2))[1]
    assert "ST0" in details.text
    local_api.push_callback(CHAT, "occrel:OCC0172")
    similar = (await local_api.wait_for_messages(CHAT, 3))[2]
    assert [data for _, data in similar.buttons][-2:] == ["occ:OCC0172", "home"]


async def test_an_interest_list_pages_with_more_and_home_starts_again(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_text(CHAT, "jobs with animals")
    [first] = await local_api.wait_for_messages(CHAT, 1)
    more = next(data for _, data in first.buttons if data.startswith("more:"))
    local_api.push_callback(CHAT, more)
    second = (await local_api.wait_for_messages(CHAT, 2))[1]
    first_jobs = {data for _, data in first.buttons if data.startswith("occ:")}
    second_jobs = {data for _, data in second.buttons if data.startswith("occ:")}
    assert second_jobs and not first_jobs & second_jobs
    local_api.push_callback(CHAT, "home")
    home = (await local_api.wait_for_messages(CHAT, 3))[2]
    assert home.text


async def test_more_after_a_restart_says_the_list_has_expired(
    bot: Application, local_api: LocalBotApi
) -> None:
    local_api.push_callback(CHAT, "more:5")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert reply.text
