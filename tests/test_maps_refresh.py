"""Refreshing the occupational maps against a local fake of the Skills England API.

Guard rails, failure modes, the absence rule, the CLI command and the scheduled job.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from apscheduler.triggers.cron import CronTrigger
from telegram import Bot
from telegram.ext import Application

from app.cli import refresh_command
from app.local_api import LocalBotApi
from bot.alerts.outbox import catch_up_digests, outbox_counts
from bot.alerts.subscriptions import subscribe
from bot.answering.responder import Responder
from bot.config import Settings
from bot.db import ensure_db_shape
from bot.knowledge import load_knowledge
from bot.maps.model import ATTRIBUTION, OccupationMap
from bot.maps.refresh import RefreshReport, refresh_maps, summary_text
from bot.maps.search import OccupationIndex
from bot.maps.source import Fetch, FetchPolicy, fetch_api_map, fetch_snapshot
from bot.maps.store import (
    ensure_bundled_version,
    get_state,
    latest_version,
    list_versions,
    load_version,
    set_state,
)
from bot.services import Services
from jobs.refresh import (
    CATCH_UP_JOB_ID,
    JOB_ID,
    needs_catch_up,
    previous_fire_time,
    refresh_trigger,
    register_refresh_job,
    run_refresh_job,
)
from telegram_io.context import BotData
from tests.conftest import REAL_KB, bundled_map
from tests.fake_maps_api import FakeMapsApi, plant_changes, without, write_snapshot

FAST = FetchPolicy(timeout_s=0.2, attempts=3, backoff_s=0.01, max_backoff_s=0.05)
TOKEN = "123456:TEST-TOKEN-NOT-REAL"
LONDON_CRON = "0 6 * jan,apr,jul,oct mon#1"


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    """A database holding the bundled snapshot as version 1."""
    database = sqlite_utils.Database(tmp_path / "t.db")
    ensure_db_shape(database)
    ensure_bundled_version(database)
    return database


@pytest.fixture
async def api() -> AsyncIterator[FakeMapsApi]:
    async with FakeMapsApi(bundled_map()) as fake:
        yield fake


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


def from_api(
    client: httpx.AsyncClient,
    api: FakeMapsApi,
    *,
    key: str | None = "test-key",
    pause_s: float = 0.0,
    policy: FetchPolicy = FAST,
) -> Fetch:
    return lambda: fetch_api_map(client, api.base_url, key, pause_s, policy=policy)


def api_settings(tmp_path: Path, api: FakeMapsApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_path": tmp_path / "bot.db",
        "maps_api_base_url": api.base_url,
        "maps_api_key": "test-key",
        "maps_request_pause_s": 0.0,
        "admin_ids": frozenset({999}),
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def planted_json(report: RefreshReport) -> dict[str, Any]:
    data = report.to_json()
    return {
        "added": data["added"],
        "removed": data["removed"],
        "changed": {c["id"]: c["fields"] for c in data["changed"]},
    }


def version_numbers(db: sqlite_utils.Database) -> list[int]:
    return [v.version for v in list_versions(db)]


# --- the happy paths ---


async def test_modified_api_copy_is_stored_with_exactly_the_planted_changes(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    planted = plant_changes(bundled_map())
    api.serve(planted.modified)
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert (report.status, report.from_version, report.to_version) == ("accepted", 1, 2)
    assert planted_json(report) == {
        "added": planted.added,
        "removed": planted.removed,
        "changed": planted.changed,
    }
    assert report.titles["OCC0156"] == "Power network craftsperson"
    assert load_version(db, 2).content_hash() != load_version(db, 1).content_hash()


async def test_first_api_pull_adds_the_hierarchy_without_reporting_changes(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert (report.status, len(report.changes)) == ("accepted", 0)
    assert (
        load_version(db, 2)["OCC0152"].pathway == "Construction and the built environment pathway"
    )


async def test_unchanged_pull_stores_nothing(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    await refresh_maps(db, from_api(client, api), source="api")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert (report.status, report.to_version, len(report.changes)) == ("unchanged", None, 0)
    assert version_numbers(db) == [1, 2]


async def test_success_is_recorded_for_the_catch_up(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    now = dt.datetime(2027, 1, 4, 6, tzinfo=dt.UTC)
    await refresh_maps(db, from_api(client, api), source="api", now=now)
    assert get_state(db, "last_success_at") == "2027-01-04T06:00:00+00:00"
    assert get_state(db, "last_status") == "accepted"


async def test_dry_run_reports_the_changes_and_stores_nothing(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    planted = plant_changes(bundled_map())
    api.serve(planted.modified)
    report = await refresh_maps(db, from_api(client, api), source="api", dry_run=True)
    assert (report.status, report.to_version) == ("dry_run", 2)
    assert planted_json(report)["changed"] == planted.changed
    assert version_numbers(db) == [1]
    assert get_state(db, "last_attempt_at") is None


async def test_dry_run_on_an_empty_database_compares_with_the_bundle_and_stores_nothing(
    tmp_path: Path, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    empty = sqlite_utils.Database(tmp_path / "empty.db")
    api.serve(plant_changes(bundled_map()).modified)
    report = await refresh_maps(empty, from_api(client, api), source="api", dry_run=True)
    assert (report.status, len(report.changes)) == ("dry_run", 5)
    assert (report.from_version, report.to_version) == (1, 2)
    assert latest_version(empty) is None


async def test_snapshot_file_is_a_source_too(db: sqlite_utils.Database, tmp_path: Path) -> None:
    planted = plant_changes(bundled_map())
    path = write_snapshot(planted.modified, tmp_path / "modified.jsonl")
    report = await refresh_maps(db, lambda: fetch_snapshot(path), source=str(path))
    assert report.status == "accepted"
    assert planted_json(report) == {
        "added": planted.added,
        "removed": planted.removed,
        "changed": planted.changed,
    }
    assert latest_version(db).source == str(path)  # type: ignore[union-attr]


async def test_route_calls_are_paced(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    started = time.perf_counter()
    await refresh_maps(db, from_api(client, api, pause_s=0.02), source="api")
    assert time.perf_counter() - started >= 14 * 0.02
    assert len(api.requests) == 16


# --- failures keep the current map ---


async def test_no_api_key_explains_how_to_get_one_and_keeps_the_map(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    report = await refresh_maps(db, from_api(client, api, key=None), source="api")
    assert report.status == "failed"
    assert (
        "Request a free key from Skills England" in report.reason
        and "CAREERS_BOT_MAPS_API_KEY" in report.reason
    )
    assert version_numbers(db) == [1] and api.requests == []


async def test_refused_key_fails_at_once_without_retrying(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("unauthorized")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert report.status == "failed" and "HTTP 401" in report.reason
    assert len(api.requests) == 1 and version_numbers(db) == [1]


async def test_rate_limit_is_retried_after_the_time_the_server_asks(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("rate_limited", failures=1)
    api.retry_after = "0.3"
    started = time.perf_counter()
    policy = FetchPolicy(timeout_s=1, attempts=3, backoff_s=0.01, max_backoff_s=1)
    report = await refresh_maps(db, from_api(client, api, policy=policy), source="api")
    assert report.status == "accepted"
    assert time.perf_counter() - started >= 0.3


async def test_persistent_server_errors_fail_after_bounded_retries(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("server_error")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert (
        report.status == "failed" and "HTTP 500" in report.reason and "3 attempts" in report.reason
    )
    assert len(api.requests) == FAST.attempts and version_numbers(db) == [1]


async def test_transient_server_error_is_retried(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("server_error", failures=2)
    assert (await refresh_maps(db, from_api(client, api), source="api")).status == "accepted"


async def test_slow_responses_time_out_and_fail(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("slow", route="3")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert report.status == "failed" and "timed out" in report.reason
    assert api.route_calls["3"] == FAST.attempts and version_numbers(db) == [1]


async def test_truncated_json_is_refused(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("truncated", route="8")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert report.status == "refused" and "not valid JSON" in report.reason
    assert version_numbers(db) == [1]


async def test_empty_route_list_is_refused(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.fail("empty_routes")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert report.status == "refused" and "empty route list" in report.reason


async def test_oversized_response_is_cut_off(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    policy = FetchPolicy(timeout_s=1, attempts=1, max_bytes=20_000)
    report = await refresh_maps(db, from_api(client, api, policy=policy), source="api")
    assert report.status == "failed" and "byte cap" in report.reason


async def test_failure_mid_way_through_the_routes_stores_no_partial_map(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    api.fail("server_error", route="8")
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert report.status == "failed"
    assert api.route_calls["1"] == 1 and api.route_calls["9"] == 0
    assert version_numbers(db) == [1] and db["map_occupations"].count == 1287


async def test_cancelled_refresh_stores_nothing_and_frees_the_lease(
    db: sqlite_utils.Database,
) -> None:
    async def hangs() -> OccupationMap:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    task = asyncio.create_task(refresh_maps(db, hangs, source="api"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert version_numbers(db) == [1]
    assert (await refresh_maps(db, bundled_fetch, source="bundled")).status == "unchanged"


async def bundled_fetch() -> OccupationMap:
    return bundled_map()


# --- guard rails ---


async def test_far_fewer_occupations_are_refused(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.serve(without(bundled_map(), list(bundled_map())[:400]))
    report = await refresh_maps(db, from_api(client, api), source="api", min_ratio=0.8)
    assert report.status == "refused" and "887 occupations, 69%" in report.reason
    assert version_numbers(db) == [1]


async def test_large_change_set_is_held_until_forced(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    held = await refresh_maps(db, from_api(client, api), source="api", max_changes=3)
    assert held.status == "held" and "--force" in held.reason and version_numbers(db) == [1]
    forced = await refresh_maps(db, from_api(client, api), source="api", max_changes=3, force=True)
    assert forced.status == "accepted" and version_numbers(db) == [1, 2]


async def test_two_refreshes_at_once_do_not_overlap(db: sqlite_utils.Database) -> None:
    release = asyncio.Event()

    async def slow_fetch() -> OccupationMap:
        await release.wait()
        return bundled_map()

    first = asyncio.create_task(refresh_maps(db, slow_fetch, source="a"))
    await asyncio.sleep(0.05)
    second = await refresh_maps(db, slow_fetch, source="b")
    release.set()
    assert second.status == "busy"
    assert (await first).status == "unchanged"


async def test_occupation_missing_once_is_kept_then_removed_when_missing_again(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    await refresh_maps(db, from_api(client, api), source="api")
    api.serve(without(bundled_map(), ["OCC0116"]))
    first = await refresh_maps(db, from_api(client, api), source="api")
    assert (first.status, first.changes.missing, first.changes.removed) == (
        "unchanged",
        ("OCC0116",),
        (),
    )
    assert "OCC0116" in load_version(db, latest_version(db).version)  # type: ignore[union-attr]
    second = await refresh_maps(db, from_api(client, api), source="api")
    assert (second.status, second.changes.removed) == ("accepted", ("OCC0116",))
    assert "OCC0116" not in load_version(db, second.to_version)  # type: ignore[arg-type]


async def test_occupation_back_after_one_absence_is_not_reported(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    await refresh_maps(db, from_api(client, api), source="api")
    api.serve(without(bundled_map(), ["OCC0116"]))
    await refresh_maps(db, from_api(client, api), source="api")
    api.serve(bundled_map())
    report = await refresh_maps(db, from_api(client, api), source="api")
    assert (report.status, len(report.changes)) == ("unchanged", 0)


# --- wording and the CLI ---


async def test_summary_names_each_change_and_carries_the_attribution(
    db: sqlite_utils.Database, api: FakeMapsApi, client: httpx.AsyncClient
) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    text = summary_text(await refresh_maps(db, from_api(client, api), source="api"))
    assert "OCC0469 Bookbinder: level 2 → 3" in text
    assert (
        "+ OCC0156 Power network craftsperson" in text and "- OCC0016 Packhouse line leader" in text
    )
    assert "product added TL0002f (TLevel)" in text
    assert text.endswith(ATTRIBUTION)


async def test_refresh_command_dry_run_json_lists_the_planted_changes(
    tmp_path: Path, api: FakeMapsApi
) -> None:
    planted = plant_changes(bundled_map())
    source = write_snapshot(planted.modified, tmp_path / "modified.jsonl")
    out = io.StringIO()
    code = await refresh_command(
        api_settings(tmp_path, api), str(source), dry_run=True, as_json=True, force=False, out=out
    )
    data = json.loads(out.getvalue())
    assert code == 0 and data["status"] == "dry_run"
    assert (data["added"], data["removed"]) == (planted.added, planted.removed)
    assert {c["id"]: c["fields"] for c in data["changed"]} == planted.changed
    assert latest_version(sqlite_utils.Database(tmp_path / "bot.db")) is None


async def test_refresh_command_from_the_api_prints_a_readable_summary(
    tmp_path: Path, api: FakeMapsApi
) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    out = io.StringIO()
    code = await refresh_command(
        api_settings(tmp_path, api), None, dry_run=False, as_json=False, force=False, out=out
    )
    assert code == 0
    assert out.getvalue().startswith("Occupational maps refresh from api:http://127.0.0.1")
    assert "accepted (version 1 → 2)" in out.getvalue()


async def test_refresh_command_without_a_key_exits_1_and_says_why(
    tmp_path: Path, api: FakeMapsApi
) -> None:
    out = io.StringIO()
    code = await refresh_command(
        api_settings(tmp_path, api, maps_api_key=None), None, False, False, False, out=out
    )
    assert code == 1 and "Request a free key" in out.getvalue()


async def test_refresh_command_exits_2_when_held(tmp_path: Path, api: FakeMapsApi) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    settings = api_settings(tmp_path, api, maps_max_changes=2)
    assert await refresh_command(settings, None, False, True, False, out=io.StringIO()) == 2


# --- the schedule ---


def test_first_monday_cron_fires_on_the_first_monday_of_each_quarter() -> None:
    trigger = refresh_trigger(LONDON_CRON, "Europe/London")
    fire = trigger.get_next_fire_time(None, dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    fires = []
    for _ in range(4):
        assert fire is not None
        fires.append(fire.isoformat())
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    assert fires == [
        "2027-01-04T06:00:00+00:00",
        "2027-04-05T06:00:00+01:00",
        "2027-07-05T06:00:00+01:00",
        "2027-10-04T06:00:00+01:00",
    ]


def test_apscheduler_from_crontab_would_fire_every_monday() -> None:
    """Why refresh_trigger exists: from_crontab drops the '#1'."""
    naive = CronTrigger.from_crontab(LONDON_CRON, timezone="Europe/London")
    first = naive.get_next_fire_time(None, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert first is not None
    second = naive.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    assert second is not None and (second - first).days == 7


def test_plain_crontab_is_passed_through() -> None:
    trigger = refresh_trigger("30 5 1 */3 *", "Europe/London")
    fire = trigger.get_next_fire_time(None, dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    assert fire is not None and fire.isoformat() == "2027-01-01T05:30:00+00:00"


@pytest.mark.parametrize("bad", ["0 6 * *", "0 6 1 jan mon#1", "0 6 * jan mon#9"])
def test_malformed_cron_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="maps_cron"):
        refresh_trigger(bad, "Europe/London")


def test_previous_fire_time_is_the_last_scheduled_run() -> None:
    trigger = refresh_trigger(LONDON_CRON, "Europe/London")
    previous = previous_fire_time(trigger, dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
    assert previous is not None and previous.isoformat() == "2026-10-05T06:00:00+01:00"


def test_catch_up_runs_when_the_last_success_predates_the_previous_run(
    db: sqlite_utils.Database,
) -> None:
    trigger = refresh_trigger(LONDON_CRON, "Europe/London")
    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    assert needs_catch_up(db, trigger, now)  # only the bundled snapshot of 2026-09-11
    set_state(db, {"last_success_at": "2026-10-05T05:30:00+00:00"})
    assert not needs_catch_up(db, trigger, now)


def test_recent_failed_attempt_suppresses_the_catch_up(db: sqlite_utils.Database) -> None:
    trigger = refresh_trigger(LONDON_CRON, "Europe/London")
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    set_state(db, {"last_attempt_at": "2026-11-24T10:00:00+00:00"})
    assert not needs_catch_up(db, trigger, now)
    assert needs_catch_up(db, trigger, now + dt.timedelta(hours=5))


async def test_job_is_registered_with_explicit_misfire_coalesce_and_single_instance(
    tmp_path: Path, api: FakeMapsApi
) -> None:
    application = Application.builder().token(TOKEN).build()
    register_refresh_job(application, api_settings(tmp_path, api))
    assert application.job_queue is not None
    scheduler = application.job_queue.scheduler
    job = scheduler.get_job(JOB_ID)
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (6 * 3600, True, 1)
    assert str(job.trigger) == "cron[month='jan,apr,jul,oct', day='1st mon', hour='6', minute='0']"
    assert scheduler.get_job(CATCH_UP_JOB_ID) is not None


async def test_registering_twice_replaces_the_job(tmp_path: Path, api: FakeMapsApi) -> None:
    application = Application.builder().token(TOKEN).build()
    assert application.job_queue is not None
    await application.job_queue.start()
    try:
        register_refresh_job(application, api_settings(tmp_path, api))
        register_refresh_job(application, api_settings(tmp_path, api))
        ids = [j.id for j in application.job_queue.scheduler.get_jobs()]
    finally:
        await application.job_queue.stop(wait=False)
    assert sorted(ids) == [JOB_ID, CATCH_UP_JOB_ID]


# --- the job callback ---


def job_services(db: sqlite_utils.Database, settings: Settings) -> Services:
    """What the bot keeps in ``bot_data.services``, around the test's database."""
    return Services(settings, db, Responder(load_knowledge(REAL_KB)))


class Wakes:
    """Stands in for the outbox sender: counts how often it was woken."""

    def __init__(self) -> None:
        self.count = 0

    def kick(self) -> None:
        self.count += 1


def job_bot_data(db: sqlite_utils.Database, settings: Settings) -> BotData:
    data = BotData()
    data.services = job_services(db, settings)
    data.outbox = Wakes()
    return data


async def test_job_rebuilds_the_index_queues_digests_and_wakes_the_sender(
    db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi
) -> None:
    api.serve(plant_changes(bundled_map()).modified)
    bot_data = job_bot_data(db, api_settings(tmp_path, api))
    subscribe(db, 4101, None)
    catch_up_digests(db)  # the first check only records the current version
    report = await run_refresh_job(bot_data, bot=None)  # type: ignore[arg-type]
    assert report.status == "accepted"
    assert outbox_counts(db)["pending"] == 1
    assert isinstance(bot_data.outbox, Wakes) and bot_data.outbox.count == 1
    index = bot_data.services.responder.occupations
    assert isinstance(index, OccupationIndex)
    assert index.search("power network craftsperson", 1)[0][0].id == "OCC0156"


async def test_job_sends_no_notice_for_an_unchanged_map(
    db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi
) -> None:
    bot_data = job_bot_data(db, api_settings(tmp_path, api))
    subscribe(db, 4101, None)
    await run_refresh_job(bot_data, bot=None)  # type: ignore[arg-type]  # first pull: no changes
    await run_refresh_job(bot_data, bot=None)  # type: ignore[arg-type]
    assert outbox_counts(db)["pending"] == 0
    assert isinstance(bot_data.outbox, Wakes) and bot_data.outbox.count == 0


async def test_job_tells_admins_when_a_refresh_is_refused(
    db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi, local_api: LocalBotApi
) -> None:
    api.fail("empty_routes")
    settings = api_settings(tmp_path, api, admin_ids=frozenset({999, 998}))
    async with Bot(TOKEN, base_url=local_api.base_url) as bot:
        report = await run_refresh_job(job_bot_data(db, settings), bot)
    assert report.status == "refused"
    for admin in (998, 999):
        (message,) = local_api.sent_to(admin)
        assert (
            message.text is not None
            and "refused" in message.text
            and "empty route list" in message.text
        )


async def test_job_keeps_going_when_an_admin_cannot_be_reached(
    db: sqlite_utils.Database, tmp_path: Path, api: FakeMapsApi
) -> None:
    class FlakyBot:
        def __init__(self) -> None:
            self.sent: list[int] = []

        async def send_message(self, chat_id: int, text: str) -> None:
            if chat_id == 998:
                raise RuntimeError("blocked")
            self.sent.append(chat_id)

    bot = FlakyBot()
    settings = api_settings(tmp_path, api, admin_ids=frozenset({998, 999}), maps_api_key=None)
    report = await run_refresh_job(job_bot_data(db, settings), bot)
    assert report.status == "failed" and bot.sent == [999]


async def test_a_dry_run_counts_what_it_lists(db: sqlite_utils.Database, tmp_path: Path) -> None:
    from bot.maps.source import fetch_snapshot

    planted = plant_changes(bundled_map())
    path = write_snapshot(planted.modified, tmp_path / "s.jsonl")
    report = await refresh_maps(db, lambda: fetch_snapshot(path), dry_run=True)
    changes = report.changes
    counts = (f"{len(changes.added)} added, {len(changes.removed)} removed, "
              f"{len(changes.changed)} changed")
    assert counts in report.reason
    if changes.missing:
        assert f"{len(changes.missing)} missing for the first time" in report.reason
