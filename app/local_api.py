"""A local Telegram Bot API server on 127.0.0.1, for the terminal chat, the tests and the benchmarks.

It speaks enough of the real HTTP API (``/bot<token>/<method>``) for python-telegram-bot's own
HTTP client: getMe, getUpdates (long polling), sendMessage, sendDocument, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, set/get/deleteMyCommands, deleteWebhook,
sendChatAction, deleteMessage. Incoming user messages are queued with :meth:`push_text` and
:meth:`push_callback`; everything the bot sends is recorded in :attr:`sent`.

It can also misbehave on purpose, like the real service under load: a global rate limit answered
with 429 and ``retry_after``, a one-message-a-second limit per chat, chats that blocked the bot
(403), a number of 500s, garbage bodies or slow answers, and dropped connections. Nothing here
talks to Telegram.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from aiohttp import web

Fault = Literal["500", "garbage", "slow", "drop"]
BOT_USER = {"id": 1000001, "is_bot": True, "first_name": "Careers Bot", "username": "careers_test_bot"}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "retry_after"}
_JSON_FIELDS = {"reply_markup", "entities", "allowed_updates", "commands", "scope",
                "link_preview_options", "reply_parameters", "results", "button"}


def _typed(key: str, value: Any) -> Any:
    """A field sent as a string, read as the number or JSON it holds where the field has one."""
    if not isinstance(value, str):
        return value
    try:
        if key in _INT_FIELDS:
            return int(value)
        if key in _JSON_FIELDS:
            return json.loads(value)
    except ValueError:
        pass
    return value


@dataclass
class SentMessage:
    """One call the bot made that changes what a user sees."""

    method: str
    chat_id: int | None
    text: str | None
    params: dict[str, Any]
    at: float

    @property
    def document(self) -> tuple[str, bytes] | None:
        """(file name, content) of a sent document; None for a text message."""
        upload = self.params.get("document")
        if not isinstance(upload, dict):
            return None
        return str(upload.get("filename") or "document"), bytes(upload.get("content") or b"")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) for every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [
            (b.get("text", ""), b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class _Limits:
    global_per_s: float | None = None
    per_chat_per_s: float | None = None
    window: deque[float] = field(default_factory=deque)
    last_by_chat: dict[int, float] = field(default_factory=dict)


class LocalBotApi:
    """The server. Use as ``async with LocalBotApi() as api:`` and point PTB at ``api.base_url``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.sent: list[SentMessage] = []
        self.calls: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.rate_limited = 0
        self.slow_s = 30.0  # how long a "slow" fault stalls before answering
        self.blocked_chats: set[int] = set()
        self.bad_request_chats: set[int] = set()
        self._faults: deque[Fault] = deque()
        self._polling_faults: deque[Fault] = deque()
        self._limits = _Limits()
        self._updates: list[dict[str, Any]] = []
        self._update_id = 0
        self._message_id = 0
        # Every message seen or sent, by id, so a button press carries its message (and the
        # question it quotes) as Telegram does.
        self._messages: dict[int, dict[str, Any]] = {}
        self._new_update = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._listeners: list[Callable[[SentMessage], None]] = []
        self._runner: web.AppRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = cast(asyncio.Server, site._server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"http://{self.host}:{self.port}/bot"

    # --- driving it -----------------------------------------------------------------------

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Student", "language_code": "en"}

    def _chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": "Student"}
        return {"id": chat_id, "type": chat_type, "title": "Class group"}

    def _queue(self, update: dict[str, Any]) -> int:
        self._update_id += 1
        update["update_id"] = self._update_id
        self._updates.append(update)
        self._new_update.set()
        return self._update_id

    def push_message(self, chat_id: int, message: dict[str, Any], *,
                     chat_type: str = "private", user_id: int | None = None) -> int:
        """Queue an arbitrary message (text, sticker, photo…) from a user."""
        self._message_id += 1
        body = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type),
            "from": self._user(user_id or chat_id),
            **message,
        }
        self._messages[self._message_id] = body
        return self._queue({"message": body})

    def push_text(self, chat_id: int, text: str, **kwargs: Any) -> int:
        """Queue a text message; commands get their ``bot_command`` entity like Telegram adds."""
        message: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.push_message(chat_id, message, **kwargs)

    def push_callback(self, chat_id: int, data: str, message_id: int | None = None) -> int:
        """Queue a button press on one of the bot's messages."""
        if message_id is None:
            # The bot's latest message in this chat, as a tap on it would carry.
            message_id = next((i for i in reversed(self._messages)
                               if self._messages[i]["chat"]["id"] == chat_id
                               and self._messages[i]["from"].get("is_bot")), None)
        message = self._messages.get(message_id or -1) or {
            "message_id": message_id or self._message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": BOT_USER,
            "text": "…",
        }
        return self._queue({
            "callback_query": {
                "id": str(self._update_id + 1),
                "from": self._user(chat_id),
                "chat_instance": str(chat_id),
                "data": data,
                "message": message,
            }
        })

    def inject(self, *faults: Fault, polling: bool = False) -> None:
        """Answer the next calls with these faults, one each, in order (``polling``: the next
        getUpdates calls instead of the next sends)."""
        (self._polling_faults if polling else self._faults).extend(faults)

    def set_rate_limits(self, global_per_s: float | None = None,
                        per_chat_per_s: float | None = None) -> None:
        """Enforce Telegram-like flood limits with 429 and retry_after."""
        self._limits = _Limits(global_per_s, per_chat_per_s)

    def on_sent(self, listener: Callable[[SentMessage], None]) -> None:
        """Call ``listener`` for every recorded send (the terminal chat prints from here)."""
        self._listeners.append(listener)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checking after every send."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the bot did not send what was expected in time")
            self._sent_event.clear()
            try:
                await asyncio.wait_for(self._sent_event.wait(), min(remaining, 0.2))
            except TimeoutError:
                pass

    async def wait_for_messages(self, chat_id: int, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """Wait until ``chat_id`` has received at least ``count`` messages; return them all."""
        await self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, timeout)
        return self.sent_to(chat_id)

    # --- the HTTP side --------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        """A call's parameters from the query string and a JSON, form or multipart body. As the
        real Bot API does, a string value of a numeric or JSON-valued field is read as one
        (python-telegram-bot sends ``reply_markup`` as a JSON string inside either body)."""
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            raw.update(body if isinstance(body, dict) else {})
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):  # an upload (sendDocument)
                    raw[key] = {"filename": value.filename, "content": value.file.read()}
                elif isinstance(value, str):
                    raw[key] = value
        return {key: _typed(key, value) for key, value in raw.items()}

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=code)

    def _rate_limit(self, chat_id: int | None) -> web.Response | None:
        now = time.monotonic()
        limits = self._limits
        if limits.global_per_s:
            while limits.window and now - limits.window[0] >= 1.0:
                limits.window.popleft()
            if len(limits.window) >= limits.global_per_s:
                self.rate_limited += 1
                return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
        if limits.per_chat_per_s and chat_id is not None:
            last = limits.last_by_chat.get(chat_id)
            if last is not None and now - last < 1.0 / limits.per_chat_per_s:
                self.rate_limited += 1
                return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
            limits.last_by_chat[chat_id] = now
        if limits.global_per_s:
            limits.window.append(now)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.calls.append(method)
        queue = self._polling_faults if method == "getUpdates" else self._faults
        if queue:
            fault = queue.popleft()
            if fault == "500":
                return self._error(500, "Internal Server Error")
            if fault == "garbage":
                return web.Response(text="<html>502 Bad Gateway</html>", status=502)
            if fault == "slow":
                await asyncio.sleep(self.slow_s)
            if fault == "drop":
                assert request.transport is not None
                request.transport.close()
                raise ConnectionResetError("dropped on purpose")
        params = await self._params(request)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        return await handler(params)

    def _record(self, method: str, params: dict[str, Any]) -> SentMessage:
        chat_id = params.get("chat_id")
        text = params.get("caption") if method == "sendDocument" else params.get("text")
        sent = SentMessage(method, chat_id if isinstance(chat_id, int) else None,
                           text, params, time.monotonic())
        self.sent.append(sent)
        self._sent_event.set()
        for listener in self._listeners:
            listener(sent)
        return sent

    def _message_result(self, chat_id: int, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        if message_id is None:
            self._message_id += 1
            message_id = self._message_id
        result: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        upload = params.get("document")
        if isinstance(upload, dict):
            result["document"] = {"file_id": f"doc{message_id}", "file_unique_id": f"doc{message_id}",
                                  "file_name": upload.get("filename"),
                                  "file_size": len(upload.get("content") or b"")}
            result["caption"] = params.get("caption", "")
        quoted = (params.get("reply_parameters") or {}).get("message_id")
        if quoted in self._messages:
            result["reply_to_message"] = self._messages[quoted]
        self._messages[message_id] = result
        return result

    def push_inline_query(self, user_id: int, query: str) -> int:
        """Queue an inline query ("@bot t level pay" typed in any chat)."""
        return self._queue({"inline_query": {"id": str(self._update_id + 1),
                                             "from": self._user(user_id), "query": query,
                                             "offset": ""}})

    async def _m_answerinlinequery(self, params: dict[str, Any]) -> web.Response:
        self._record("answerInlineQuery", params)
        return self._ok(True)

    async def _m_getme(self, params: dict[str, Any]) -> web.Response:
        return self._ok({**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": True})

    async def _m_getupdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                pass
        return self._ok(self._updates[:limit])

    async def _send(self, params: dict[str, Any], method: str) -> web.Response:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return self._error(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.bad_request_chats:
            return self._error(400, "Bad Request: message is too long")
        limited = self._rate_limit(chat_id)
        if limited is not None:
            return limited
        text = params.get("text")
        if method == "sendMessage" and (not isinstance(text, str) or not text.strip()):
            return self._error(400, "Bad Request: message text is empty")
        if isinstance(text, str) and len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        if method == "sendDocument" and not isinstance(params.get("document"), dict):
            return self._error(400, "Bad Request: there is no document in the request")
        if len(str(params.get("caption") or "")) > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        self._record(method, params)
        message_id = params.get("message_id") if method.startswith("edit") else None
        return self._ok(self._message_result(chat_id, params, message_id))

    async def _m_sendmessage(self, params: dict[str, Any]) -> web.Response:
        return await self._send(params, "sendMessage")

    async def _m_senddocument(self, params: dict[str, Any]) -> web.Response:
        return await self._send(params, "sendDocument")

    async def _m_editmessagetext(self, params: dict[str, Any]) -> web.Response:
        return await self._send(params, "editMessageText")

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> web.Response:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return self._error(400, "Bad Request: chat not found")
        self._record("editMessageReplyMarkup", params)
        return self._ok(self._message_result(chat_id, params, params.get("message_id")))

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> web.Response:
        self.calls.append(f"answerCallbackQuery:{params.get('text', '')}")
        return self._ok(True)

    async def _m_setmycommands(self, params: dict[str, Any]) -> web.Response:
        self.commands = list(params.get("commands") or [])
        return self._ok(True)

    async def _m_getmycommands(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self.commands)

    async def _m_deletemycommands(self, params: dict[str, Any]) -> web.Response:
        self.commands = []
        return self._ok(True)

    async def _m_deletewebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = None
        return self._ok(True)

    async def _m_setwebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = params.get("url")
        self.webhook_secret = params.get("secret_token")
        return self._ok(True)

    async def _m_sendchataction(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_deletemessage(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_close(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)
