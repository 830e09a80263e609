"""/role: student, parent or adviser, used only to word the welcome."""

from __future__ import annotations

from telegram.ext import Application

from app.local_api import LocalBotApi
from bot.usage import role_of

CHAT = 7301


async def test_role_buttons_set_the_role_and_tailor_the_welcome(
        bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/role")
    [prompt] = await local_api.wait_for_messages(CHAT, 1)
    assert [data for _, data in prompt.buttons] == ["role:student", "role:parent", "role:adviser"]
    local_api.push_callback(CHAT, "role:parent")
    messages = await local_api.wait_for_messages(CHAT, 3)
    assert "you're a parent or carer" in (messages[-2].text or "")
    assert "parents and carers" in (messages[-1].text or "")
    assert role_of(bot.bot_data.services.db, CHAT) == "parent"
    local_api.push_text(CHAT, "/start")
    messages = await local_api.wait_for_messages(CHAT, 4)
    assert "parents and carers" in (messages[-1].text or "")
    assert messages[-1].buttons == messages[-2].buttons  # the same menu for everyone


async def test_role_in_words_sets_it_at_once(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/role Teacher")
    messages = await local_api.wait_for_messages(CHAT, 2)
    assert "an adviser or teacher" in (messages[0].text or "")
    assert "/subscribe" in (messages[1].text or "")
    assert role_of(bot.bot_data.services.db, CHAT) == "adviser"


async def test_an_unknown_role_asks_with_buttons(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/role astronaut")
    [reply] = await local_api.wait_for_messages(CHAT, 1)
    assert "didn't recognise" in (reply.text or "") and len(reply.buttons) == 3
    assert role_of(bot.bot_data.services.db, CHAT) is None


async def test_forget_deletes_the_role(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(CHAT, "/role parent")
    await local_api.wait_for_messages(CHAT, 2)
    local_api.push_callback(CHAT, "forget:yes")
    await local_api.wait_for_messages(CHAT, 3)
    assert role_of(bot.bot_data.services.db, CHAT) is None
    local_api.push_text(CHAT, "/start")
    messages = await local_api.wait_for_messages(CHAT, 4)
    assert "parents and carers" not in (messages[-1].text or "")
