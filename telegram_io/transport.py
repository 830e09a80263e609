"""An aiohttp transport for python-telegram-bot: the same Bot API calls for less CPU than httpx.

PTB sends every request through a :class:`telegram.request.BaseRequest`; its default,
``HTTPXRequest``, spends most of a reply's CPU in httpx/httpcore/anyio bookkeeping (see README
"Scale"). :class:`AiohttpRequest` does the same job with aiohttp's connection pool, which the
bot already depends on for its local Bot API. ``bench/throughput.py`` measures both side by
side; ``CAREERS_BOT_HTTP_TRANSPORT`` chooses (``httpx`` stays available).

Behaviour kept from ``HTTPXRequest``: the User-Agent is PTB's, a full pool waits at most
``pool_timeout`` and raises :class:`telegram.error.TimedOut`, other transport failures raise
:class:`telegram.error.NetworkError`, and the status code and body go back to PTB, which turns
Bot API errors into its own exceptions.

One difference: a call without files is sent as JSON (``RequestData.json_payload``, which the
Bot API accepts for every such call) rather than form-encoded. aiohttp builds a form with a
multipart writer and URL-quotes every character of a long HTML answer: about 50 µs a reply,
against 4 µs for the JSON. Files still go as multipart.
"""

from __future__ import annotations

import json
from typing import Literal, cast

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

_JSON = {"Content-Type": "application/json"}


def http_request(transport: Literal["aiohttp", "httpx"], *, connection_pool_size: int,
                 pool_timeout: float = 1.0, read_timeout: float = 5.0,
                 write_timeout: float = 5.0, connect_timeout: float = 5.0) -> BaseRequest:
    """The HTTP client ``settings.http_transport`` names, with PTB's default timeouts unless
    given: the application's requests, its long polling and the broadcast bot all use this."""
    kind = AiohttpRequest if transport == "aiohttp" else HTTPXRequest
    return kind(connection_pool_size=connection_pool_size, pool_timeout=pool_timeout,
                read_timeout=read_timeout, write_timeout=write_timeout,
                connect_timeout=connect_timeout)


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A per-call timeout, or this request's own when PTB passes its "not given" marker."""
    return default if isinstance(value, DefaultValue) else cast(float | None, value)


class AiohttpRequest(BaseRequest):
    """PTB's request interface over one ``aiohttp.ClientSession`` (created in :meth:`initialize`)."""

    def __init__(self, *, connection_pool_size: int = 16, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0
                 ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # aiohttp's `connect` covers waiting for a pooled connection and opening one; its
        # `sock_read` bounds each read. Sending a small body is bounded by the read timeout too.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None and connect is None else (pool or 0) + (connect or 0),
            sock_connect=connect,
            sock_read=None if read is None and write is None else max(read or 0, write or 0))
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        elif fields:
            # What ``RequestData.json_payload`` gives, without encoding every field twice.
            body, headers = json.dumps(fields).encode(), _JSON
        try:
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
