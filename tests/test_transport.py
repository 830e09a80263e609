"""How replies go over the wire: JSON for plain calls, multipart for files, keyboards built once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import test_utils, web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.reply import Button
from telegram_io.send import markup
from telegram_io.transport import AiohttpRequest

TOKEN = "123456:TRANSPORT-TEST-NOT-REAL"
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}


class Recorder:
    """A stand-in Bot API endpoint that keeps each request's content type and body."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.content_type, await request.read()))
        return web.json_response({"ok": True, "result": MESSAGE})


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[Recorder, Bot]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", recorder.handle)
    request = AiohttpRequest()
    async with test_utils.TestServer(app, host="127.0.0.1") as server:
        await request.initialize()
        try:
            yield recorder, Bot(TOKEN, base_url=str(server.make_url("/bot")), request=request)
        finally:
            await request.shutdown()


async def test_a_message_is_sent_as_json_with_its_buttons(recorded: tuple[Recorder, Bot]) -> None:
    recorder, bot = recorded
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="ans:t-levels")]])
    await bot.send_message(5, "<b>T Levels</b> & more", parse_mode="HTML", reply_markup=keyboard)
    content_type, body = recorder.requests[-1]
    sent: dict[str, Any] = json.loads(body)
    assert content_type == "application/json"
    assert sent["text"] == "<b>T Levels</b> & more"
    assert json.loads(sent["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "ans:t-levels"


async def test_a_document_is_sent_as_multipart(recorded: tuple[Recorder, Bot]) -> None:
    recorder, bot = recorded
    await bot.send_document(5, b"route,added\n", filename="changes.csv", caption="Changes")
    content_type, body = recorder.requests[-1]
    assert content_type == "multipart/form-data"
    assert b"changes.csv" in body and b"route,added" in body


def test_the_same_buttons_share_one_keyboard() -> None:
    rows = ((Button("Useful", "fb:up:t-levels"), Button("Not helpful", "fb:down:t-levels")),)
    first = markup(rows)
    assert first is markup([list(row) for row in rows])
    assert first is not None and first.inline_keyboard[0][1].callback_data == "fb:down:t-levels"
    assert markup(()) is None
