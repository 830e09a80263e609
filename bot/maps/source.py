"""Getting a fresh occupational map: the Skills England API or a JSONL snapshot file/URL.

The HTTP client is injected (tests point it at a local fake API). Every request is bounded: a
per-request timeout, a response size cap, at most :attr:`FetchPolicy.attempts` tries with backoff
on 429, 5xx and transport errors (``Retry-After`` honoured up to a ceiling), and a pause between
route calls so a quarterly pull is gentle on a public service. Client errors such as 401 are not
retried: they need a person, and the message says what to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.maps.model import (
    EmptyMapError,
    MapsDataError,
    MapsSourceError,
    MissingApiKeyError,
    OccupationMap,
)
from bot.maps.parse import map_from_api_routes, parse_snapshot_lines, route_of

ROUTE_EXPAND = (
    "occupation.overview,occupation.soc,occupation.maphierarchy,occupation.typicaljobtitles,"
    "occupation.products,occupation.links"
)
API_KEY_HELP = (
    "No Skills England Occupational Maps API key is configured, so the map was not refreshed and "
    "the bot keeps its current map. Request a free key from Skills England through the "
    "Occupational Maps API page (https://occupational-maps.skillsengland.education.gov.uk/api), "
    "then set CAREERS_BOT_MAPS_API_KEY in .env. Meanwhile you can refresh from a snapshot with "
    "`careers-bot refresh --source FILE_OR_URL`."
)
USER_AGENT = "careers-bot (occupational maps refresh; quarterly)"

Fetch = Callable[[], Awaitable[OccupationMap]]


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one pull. Tests use tiny values; the defaults suit the real API."""

    timeout_s: float = 30.0
    attempts: int = 4
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    max_bytes: int = 32 * 1024 * 1024


DEFAULT_POLICY = FetchPolicy()


class _Retryable(MapsSourceError):
    """A failure worth another try (429, 5xx, transport); ``retry_after`` from the server."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _wait(policy: FetchPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after  # at most max_backoff_s: longer waits give up at once
        return min(policy.backoff_s * 2 ** (state.attempt_number - 1), policy.max_backoff_s)

    return wait


async def _get_once(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], policy: FetchPolicy
) -> bytes:
    try:
        async with (
            asyncio.timeout(policy.timeout_s),
            client.stream("GET", url, headers=headers, timeout=policy.timeout_s) as response,
        ):
            status = response.status_code
            if status == 429 or status >= 500:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > policy.max_backoff_s:
                    # Retrying early would only be refused again: give up and say when to retry.
                    raise MapsSourceError(
                        f"{url} answered HTTP {status} and asked us to wait {wait:.0f} s, longer "
                        f"than the {policy.max_backoff_s:g} s this refresh waits; try again later")
                raise _Retryable(f"{url} answered HTTP {status}", wait)
            if status in (401, 403):
                raise MapsSourceError(
                    f"{url} answered HTTP {status}: the Skills England API key was refused; check "
                    "CAREERS_BOT_MAPS_API_KEY (keys are requested from Skills England)"
                )
            if status != 200:
                raise MapsSourceError(f"{url} answered HTTP {status}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise MapsSourceError(
                    f"{url} is {int(declared):,} bytes, over the {policy.max_bytes:,}-byte cap"
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > policy.max_bytes:
                    raise MapsSourceError(f"{url} is over the {policy.max_bytes:,}-byte cap")
            return bytes(body)
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise _Retryable(f"{url} timed out after {policy.timeout_s:g} s") from exc
    except httpx.TransportError as exc:
        raise _Retryable(f"{url} could not be reached: {exc}") from exc


async def get_bytes(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> bytes:
    """GET with the policy's timeout, size cap and bounded retries; MapsSourceError on giving up."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=_wait(policy),
        retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await _get_once(client, url, headers, policy)
    except _Retryable as exc:
        raise MapsSourceError(f"{exc} (gave up after {policy.attempts} attempts)") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MapsDataError(f"{what} is not valid JSON (truncated?): {exc}") from None


def _route_list(data: Any) -> list[Any]:
    """The route summaries, whether sent bare or wrapped as ``{"routes"|"data"|"items": [...]}``."""
    if isinstance(data, dict):
        data = next(
            (data[k] for k in ("routes", "data", "items") if isinstance(data.get(k), list)), None
        )
    if not isinstance(data, list):
        raise MapsDataError("the route list is not a list")
    if not data:
        raise EmptyMapError("the API returned an empty route list")
    return data


async def fetch_api_map(
    client: httpx.AsyncClient,
    base_url: str,
    api_key: str | None,
    pause_s: float = 1.0,
    *,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> OccupationMap:
    """Every route from the Occupational Maps API as one map (``GET /Routes``, then each route)."""
    if not api_key:
        raise MissingApiKeyError(API_KEY_HELP)
    base = base_url.rstrip("/")
    headers = {"X-API-KEY": api_key}
    summaries = _route_list(
        _json(
            await get_bytes(client, f"{base}/Routes", headers=headers, policy=policy),
            "the route list",
        )
    )
    route_jsons: list[Any] = []
    for index, summary in enumerate(summaries):
        if not isinstance(summary, dict):
            raise MapsDataError(f"route list entry {index + 1} is not an object")
        route = route_of(summary)
        if index:
            await asyncio.sleep(pause_s)
        url = f"{base}/Routes/{route.id}?expand={ROUTE_EXPAND}"
        route_jsons.append(
            _json(await get_bytes(client, url, headers=headers, policy=policy), f"route {route.id}")
        )
    fetched = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return map_from_api_routes(route_jsons, retrieved_at=fetched)


async def fetch_snapshot(
    path_or_url: str | Path,
    *,
    client: httpx.AsyncClient | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> OccupationMap:
    """A JSONL snapshot from a file or an http(s) URL, under the same size cap."""
    source = str(path_or_url)
    if source.startswith(("http://", "https://")):
        if client is None:
            async with httpx.AsyncClient(follow_redirects=True) as own:
                body = await get_bytes(own, source, policy=policy)
        else:
            body = await get_bytes(client, source, policy=policy)
    else:
        path = Path(source).expanduser()
        try:
            if path.stat().st_size > policy.max_bytes:
                raise MapsSourceError(f"{path} is over the {policy.max_bytes:,}-byte cap")
            body = path.read_bytes()
        except OSError as exc:
            raise MapsSourceError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MapsDataError(f"{source} is not UTF-8 text: {exc}") from None
    return parse_snapshot_lines(text.splitlines())


def source_label(source: str, base_url: str) -> str:
    """How a version records where it came from (never includes the key)."""
    return f"api:{base_url.rstrip('/')}" if source == "api" else source


def make_fetch(
    source: str,
    client: httpx.AsyncClient,
    *,
    base_url: str,
    api_key: str | None,
    pause_s: float,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> Fetch:
    """The zero-argument fetch :func:`bot.maps.refresh.refresh_maps` expects, for a source name.

    ``source`` is ``"api"`` or a snapshot file path / URL (``CAREERS_BOT_MAPS_SOURCE`` or
    ``careers-bot refresh --source``).
    """
    if source == "api":
        return lambda: fetch_api_map(client, base_url, api_key, pause_s, policy=policy)
    return lambda: fetch_snapshot(source, client=client, policy=policy)
