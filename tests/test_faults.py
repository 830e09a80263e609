"""The fault battery: what goes wrong around a quarterly refresh, and what must still hold.

Each case runs the real refresh (the scheduled job's own function, against the local fake
Occupational Maps API or a snapshot file, and the local Bot API for admin messages) with one
fault injected, and checks the two promises: **the stored map is unchanged** (no version is
written from a bad pull) and **an admin is told** (or, for a refresh that simply could not run,
the outcome is recorded and it is retried). Cases:

- the source: 401, 500 until retries run out, 429 with a short Retry-After (retried) and with a
  Retry-After of 120 s (given up at once, not retried early), truncated JSON, an empty route list;
- the data: one route answering 200 with no occupations (9.9% of the map: under the whole-map
  check), a route missing from the route list, a route id with two names;
- the process: two refreshes at once, a refresh killed while holding the lock (-9), a write lock
  held by another process for 10 s at the start and during the save, a version stored by
  another process while this one was pulling.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlite_utils
from telegram import Bot

from app.local_api import LocalBotApi
from bot.db import Lease, ensure_db_shape
from bot.maps.parse import load_bundled_map
from bot.maps.refresh import LEASE_NAME, refresh_maps
from bot.maps.source import FetchPolicy, fetch_api_map
from bot.maps.store import ensure_bundled_version, get_state, latest_version, save_version
from jobs.refresh import run_refresh_job
from tests.conftest import bundled_map
from tests.fake_maps_api import FakeMapsApi, plant_changes, without, write_snapshot
from tests.test_maps_refresh import api_settings, job_bot_data

TOKEN = "123456:TEST-TOKEN-NOT-REAL"
ADMIN = 999
FAST = FetchPolicy(timeout_s=0.5, attempts=3, backoff_s=0.01, max_backoff_s=0.05)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    database = sqlite_utils.Database(tmp_path / "bot.db")
    ensure_db_shape(database)
    ensure_bundled_version(database)
    return database


@pytest.fixture
async def api() -> AsyncIterator[FakeMapsApi]:
    async with FakeMapsApi(bundled_map()) as fake:
        yield fake


def version_of(db: sqlite_utils.Database) -> int:
    latest = latest_version(db)
    assert latest is not None
    return latest.version


async def job_run(db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi,
                  local_api: LocalBotApi, **settings: object) -> str:
    """The scheduled job once; returns what the admin was told ("" if nothing)."""
    data = job_bot_data(db, api_settings(tmp_path, api, **settings))
    async with Bot(TOKEN, base_url=local_api.base_url) as bot:
        await run_refresh_job(data, bot)
    return "\n".join(m.text or "" for m in local_api.sent_to(ADMIN))


# --- the source -------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "told"), [
    ("unauthorized", "key was refused"),
    ("server_error", "gave up after"),
    ("truncated", "not valid JSON"),
    ("empty_routes", "empty route list"),
])
async def test_a_failing_source_changes_nothing_and_tells_the_admin(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi,
        mode: str, told: str) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    api.fail(mode)  # type: ignore[arg-type]
    message = await job_run(db, tmp_path, api, local_api)
    assert version_of(db) == 1
    assert told in message and "unchanged" in message


async def test_a_short_retry_after_is_waited_and_the_refresh_succeeds(
        db: sqlite_utils.Database, api: FakeMapsApi) -> None:
    import httpx

    api.retry_after = "0"
    api.fail("rate_limited", failures=1)
    async with httpx.AsyncClient() as client:
        report = await refresh_maps(db, lambda: fetch_api_map(client, api.base_url, "test-key", 0,
                                                              policy=FAST))
    assert report.status in ("accepted", "unchanged")


async def test_a_retry_after_longer_than_we_wait_gives_up_at_once_and_says_so(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    api.retry_after = "120"
    api.fail("rate_limited")
    started = time.monotonic()
    message = await job_run(db, tmp_path, api, local_api)
    assert time.monotonic() - started < 10
    assert api.route_calls == {} and len(api.requests) == 1  # not retried early
    assert "wait 120 s" in message and version_of(db) == 1


async def test_failure_messages_end_one_sentence_before_the_next(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    api.fail("server_error")
    message = await job_run(db, tmp_path, api, local_api)
    assert "attempts). The current map" in message


# --- the data ---------------------------------------------------------------------------------


async def test_a_route_that_comes_back_empty_is_held_not_deleted(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    # Construction: about a tenth of the map, under the whole-map 80% check.
    api.fail("empty_route", route="5")
    message = await job_run(db, tmp_path, api, local_api)
    assert version_of(db) == 1
    assert "held" in message and "has 0 occupations" in message and "--force" in message


async def test_a_route_missing_from_the_route_list_is_held(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    api.fail("missing_route", route="7")
    message = await job_run(db, tmp_path, api, local_api)
    assert version_of(db) == 1
    assert "missing from the route list" in message


async def test_an_admin_can_still_accept_a_shrunken_route_with_force(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    api.fail("empty_route", route="5")
    async with Bot(TOKEN, base_url=local_api.base_url) as bot:
        report = await run_refresh_job(job_bot_data(db, api_settings(tmp_path, api)), bot, force=True)
    assert report.status == "accepted"


async def test_a_snapshot_whose_route_id_has_two_names_is_refused(
        db: sqlite_utils.Database, tmp_path: Path) -> None:
    from dataclasses import replace

    base = load_bundled_map()
    first = next(iter(base.values()))
    renamed = replace(first, route_name="Something else")
    path = write_snapshot(type(base).of([renamed, *list(base.values())[1:]], base.routes), tmp_path / "s.jsonl")
    from bot.maps.source import fetch_snapshot

    report = await refresh_maps(db, lambda: fetch_snapshot(path))
    assert report.status == "refused" and "route 11 is called" in report.reason
    assert version_of(db) == 1


# --- the process ------------------------------------------------------------------------------


async def test_two_refreshes_at_once_one_runs_one_is_busy(
        db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write_snapshot(plant_changes(bundled_map()).modified, tmp_path / "new.jsonl")
    from bot.maps.source import fetch_snapshot

    async def slow_fetch():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        return await fetch_snapshot(path)

    first, second = await asyncio.gather(refresh_maps(db, slow_fetch), refresh_maps(db, slow_fetch))
    assert sorted([first.status, second.status]) == ["accepted", "busy"]
    assert version_of(db) == 2


async def test_a_busy_refresh_tells_the_admins_it_will_try_again(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    assert Lease(LEASE_NAME, 3600).acquire(db)  # a live refresh elsewhere in this process
    message = await job_run(db, tmp_path, api, local_api)
    assert "busy" in message and "try again in 10 minutes" in message


async def test_a_refresh_killed_while_holding_the_lock_is_taken_over_at_once(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, sqlite_utils; sys.path.insert(0, '.');"
         "from bot.db import Lease;"
         f"Lease('{LEASE_NAME}', 1800).acquire(sqlite_utils.Database(r'{tmp_path / 'bot.db'}'));"
         "print('held', flush=True); time.sleep(60)"],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()  # -9: no clean-up, the lock stays behind
    holder.wait()
    holder.stdout.close()
    api.serve(plant_changes(bundled_map()).modified)
    async with Bot(TOKEN, base_url=local_api.base_url) as bot:
        report = await run_refresh_job(job_bot_data(db, api_settings(tmp_path, api)), bot)
    assert report.status == "accepted"


def hold_write_lock(path: Path, seconds: float, started: threading.Event) -> threading.Thread:
    def hold() -> None:
        conn = sqlite3.connect(str(path), timeout=0)
        conn.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


async def test_a_database_locked_for_ten_seconds_fails_cleanly_and_releases_the_lease(
        db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi) -> None:
    started = threading.Event()
    holder = hold_write_lock(tmp_path / "bot.db", 10.0, started)
    started.wait(5)
    message = await job_run(db, tmp_path, api, local_api)
    holder.join()
    assert "locked by another process" in message and "Nothing was stored" in message
    assert version_of(db) == 1
    assert Lease(LEASE_NAME, 60).acquire(db)  # nothing left behind


async def test_a_database_locked_during_the_save_fails_cleanly_and_records_it(
        db: sqlite_utils.Database, tmp_path: Path, local_api: LocalBotApi) -> None:
    path = write_snapshot(plant_changes(bundled_map()).modified, tmp_path / "new.jsonl")
    from bot.maps.source import fetch_snapshot

    holder: list[threading.Thread] = []

    async def fetch_then_lock():  # type: ignore[no-untyped-def]
        pulled = await fetch_snapshot(path)
        started = threading.Event()
        holder.append(hold_write_lock(tmp_path / "bot.db", 7.0, started))
        started.wait(5)
        return pulled

    report = await refresh_maps(db, fetch_then_lock)
    holder[0].join()
    assert report.status == "failed" and "locked by another process" in report.reason
    assert version_of(db) == 1
    assert get_state(db, "last_status") == "failed"
    assert Lease(LEASE_NAME, 60).acquire(db)


async def test_a_version_stored_meanwhile_is_not_overwritten_with_a_stale_diff(
        db: sqlite_utils.Database, tmp_path: Path) -> None:
    planted = plant_changes(bundled_map())
    path = write_snapshot(planted.modified, tmp_path / "new.jsonl")
    from bot.maps.source import fetch_snapshot

    async def fetch_while_the_cli_stores():  # type: ignore[no-untyped-def]
        other = without(bundled_map(), ["OCC0152"])
        save_version(db, other, "cli")  # another process finished first
        return await fetch_snapshot(path)

    report = await refresh_maps(db, fetch_while_the_cli_stores)
    assert report.status == "failed" and "was stored while this refresh" in report.reason
    assert version_of(db) == 2  # the other process's version only


def test_the_refresh_state_says_when_and_how_the_last_attempt_ended(db: sqlite_utils.Database) -> None:
    from bot.maps.refresh import RefreshReport, _record

    _record(db, RefreshReport("failed", "because", "api"), dt.datetime(2027, 1, 4, 6, tzinfo=dt.UTC))
    assert get_state(db, "last_status") == "failed" and get_state(db, "last_reason") == "because"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs processes")
def test_a_bot_that_cannot_reach_telegram_says_so_in_one_line_and_retries(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:abc", "PTB_TIMEDELTA": "true",
           "CAREERS_BOT_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
           "CAREERS_BOT_DATABASE_PATH": str(tmp_path / "bot.db")}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    os.set_blocking(process.stderr.fileno(), False)
    err = ""
    try:
        # Start-up takes a few seconds, more on a busy machine: wait for the retry line.
        deadline = time.monotonic() + 60
        while "trying again" not in err and time.monotonic() < deadline:
            err += (process.stderr.read() or b"").decode()
            time.sleep(0.2)
    finally:
        process.kill()
        err += (process.communicate()[1] or b"").decode()
    assert "cannot reach the Telegram Bot API" in err and "trying again in 5 s" in err
    assert "Traceback" not in err
