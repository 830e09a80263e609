"""Adviser alerts end to end: the real Application and sender against the local Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from telegram.error import Forbidden, RetryAfter
from telegram.ext import Application

from app.application import build_application
from app.cli import run_refresh
from app.local_api import LocalBotApi, SentMessage
from bot.alerts.outbox import digests_through, enqueue_broadcast, enqueue_digests, outbox_counts
from bot.alerts.subscriptions import subscribe, subscription_of
from bot.config import Settings
from bot.maps.model import OccupationMap
from bot.maps.parse import load_bundled_map
from bot.maps.refresh import RefreshReport
from bot.services import build_services
from jobs.outbox import OutboxRunner, deliver_pending, register_outbox_job
from jobs.refresh import run_refresh_job
from tests.conftest import REAL_KB
from tests.fake_maps_api import plant_changes, write_snapshot

TOKEN = "123456:TEST-TOKEN-NOT-REAL"
ADMIN = 999
ADVISER = 5101
DIGEST = "<b>Occupational maps update</b>"


@pytest.fixture
def alert_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=tmp_path / "bot.db",
        knowledge_dir=REAL_KB,
        admin_ids=frozenset({ADMIN}),
        reload_interval_s=0,
        send_window_start=dt.time(0, 0),
        send_window_end=dt.time(0, 0),  # start == end: always open
        global_rate_per_s=200,
        flood_limit_per_minute=500,
        maps_source=str(tmp_path / "snapshot.jsonl"),
    )


@pytest.fixture
async def bot(alert_settings: Settings, local_api: LocalBotApi,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Application]:
    """The bot polling the local Bot API; the outbox is polled fast."""
    services = build_services(alert_settings)
    application = build_application(alert_settings, services, token=TOKEN, base_url=local_api.base_url)
    register_outbox_job(application, interval=0.3, first=0.1)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


def db_of(application: Application) -> sqlite_utils.Database:
    return application.bot_data.services.db


def digests(api: LocalBotApi, chat_id: int) -> list[SentMessage]:
    return [m for m in api.sent_to(chat_id) if m.method == "sendMessage" and (m.text or "").startswith(DIGEST)]


async def refresh_with(application: Application, modified: OccupationMap) -> RefreshReport:
    """A real scheduled-refresh run from a snapshot file: store, queue digests, wake the sender."""
    write_snapshot(modified, Path(application.bot_data.services.settings.maps_source))
    report = await run_refresh_job(application.bot_data, application.bot)
    assert report.status == "accepted", report.reason
    return report


async def drained(application: Application, timeout: float = 20.0) -> dict[str, int]:
    """Wait until nothing is pending or in flight; return the outbox counts."""
    db = db_of(application)
    deadline = time.monotonic() + timeout
    while True:
        counts = outbox_counts(db)
        if counts["pending"] == 0 and counts["sending"] == 0:
            runner = application.bot_data.outbox
            assert isinstance(runner, OutboxRunner)
            await runner.wait()
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"outbox not drained: {counts}")
        await asyncio.sleep(0.05)


def lines(message: SentMessage) -> list[str]:
    return [line for line in (message.text or "").splitlines() if line.startswith("• ")]


# --- subscribing with buttons -----------------------------------------------------------------


def button(message: SentMessage, label_end: str) -> str:
    return next(data for label, data in message.buttons if label.endswith(label_end))


async def test_subscribe_with_the_route_keyboard(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(ADVISER, "/subscribe")
    [prompt] = await local_api.wait_for_messages(ADVISER, 1)
    assert "Choose the routes" in (prompt.text or "")
    assert len(prompt.buttons) == 15 + 2
    assert prompt.buttons[-2][0].endswith("All routes") and prompt.buttons[-1] == ("Done", "sub:ok:0")

    local_api.push_callback(ADVISER, button(prompt, "Construction and the built environment"))
    messages = await local_api.wait_for_messages(ADVISER, 2)
    ticked = messages[-1]
    assert ticked.method == "editMessageReplyMarkup"
    assert ("✅ Construction and the built environment" in [label for label, _ in ticked.buttons])
    local_api.push_callback(ADVISER, button(ticked, "Engineering and manufacturing"))
    messages = await local_api.wait_for_messages(ADVISER, 3)
    local_api.push_callback(ADVISER, button(messages[-1], "Done"))
    messages = await local_api.wait_for_messages(ADVISER, 4)
    confirmation = messages[-1]
    assert confirmation.method == "editMessageText" and not confirmation.buttons
    text = confirmation.text or ""
    assert "Routes: Construction and the built environment, Engineering and manufacturing" in text
    assert "/unsubscribe" in text and "at any time of day" in text
    sub = subscription_of(db_of(bot), ADVISER)
    assert sub is not None and sub.routes == {"5", "8"}

    # Subscribing again changes the routes; there is still one subscription.
    local_api.push_text(ADVISER, "/subscribe")
    messages = await local_api.wait_for_messages(ADVISER, 5)
    again = messages[-1]
    assert "✅ Engineering and manufacturing" in [label for label, _ in again.buttons]
    local_api.push_callback(ADVISER, button(again, "All routes"))
    messages = await local_api.wait_for_messages(ADVISER, 6)
    local_api.push_callback(ADVISER, button(messages[-1], "Done"))
    messages = await local_api.wait_for_messages(ADVISER, 7)
    assert "Routes: all routes" in (messages[-1].text or "")
    assert db_of(bot)["subscriptions"].count == 1
    assert subscription_of(db_of(bot), ADVISER).routes is None  # type: ignore[union-attr]

    local_api.push_text(ADVISER, "/subscriptions")
    messages = await local_api.wait_for_messages(ADVISER, 8)
    assert "Routes: all routes" in (messages[-1].text or "")


async def test_done_with_nothing_ticked_saves_nothing(bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_callback(ADVISER, "sub:ok:0")
    await local_api.wait_for(lambda: any("answerCallbackQuery:Tick at least" in c for c in local_api.calls))
    assert subscription_of(db_of(bot), ADVISER) is None


async def test_unsubscribe_takes_one_confirm_tap(bot: Application, local_api: LocalBotApi) -> None:
    subscribe(db_of(bot), ADVISER, ["7"])
    local_api.push_text(ADVISER, "/unsubscribe")
    [confirm] = await local_api.wait_for_messages(ADVISER, 1)
    assert confirm.buttons == [("Yes, stop alerts", "unsub:yes"), ("No, keep them", "unsub:no")]
    local_api.push_callback(ADVISER, "unsub:yes")
    messages = await local_api.wait_for_messages(ADVISER, 2)
    assert "won't get any more alerts" in (messages[-1].text or "")
    assert not subscription_of(db_of(bot), ADVISER).active  # type: ignore[union-attr]
    local_api.push_text(ADVISER, "/unsubscribe")
    messages = await local_api.wait_for_messages(ADVISER, 3)
    assert "nothing to stop" in (messages[-1].text or "")


# --- digests after a refresh ------------------------------------------------------------------

EVERYTHING, CONSTRUCTION, ENGINEERING, DIGITAL, LAND_AND_CREATIVE = 6001, 6002, 6003, 6004, 6005
EXPECTED = {
    CONSTRUCTION: ((0, 0, 2), [
        "• <b>Domestic electrician</b> (level 3): T Level added",
        "• <b>Railway engineering design technician</b> (level 3): moved from Engineering and manufacturing",
    ]),
    ENGINEERING: ((1, 0, 1), [
        "• <b>Power network craftsperson</b> (level 3): new",
        "• <b>Railway engineering design technician</b> (level 3): moved to Construction and the built environment",
    ]),
    LAND_AND_CREATIVE: ((0, 1, 1), [
        "• <b>Packhouse line leader</b> (level 3): retired",
        "• <b>Bookbinder</b> (level 3): Level 2 → 3",
    ]),
}


async def test_a_refresh_sends_each_subscriber_exactly_their_digest(
    bot: Application, local_api: LocalBotApi
) -> None:
    db = db_of(bot)
    subscribe(db, EVERYTHING, None)
    subscribe(db, CONSTRUCTION, ["5"])
    subscribe(db, ENGINEERING, ["8"])
    subscribe(db, DIGITAL, ["7"])  # nothing changed on Digital
    subscribe(db, LAND_AND_CREATIVE, ["1", "6"])
    report = await refresh_with(bot, plant_changes(load_bundled_map()).modified)
    counts = await drained(bot)
    assert counts["sent"] == 4 and counts["failed"] == counts["skipped"] == 0

    for chat, ((new, retired, changed), expected) in EXPECTED.items():
        [digest] = digests(local_api, chat)
        assert lines(digest) == expected
        assert f"<b>{new}</b> new, <b>{retired}</b> retired, <b>{changed}</b> changed" in (digest.text or "")
        assert f"maps version {report.to_version} (was {report.from_version})" in (digest.text or "")
        assert digest.params["parse_mode"] == "HTML"
    [everything] = digests(local_api, EVERYTHING)
    assert len(lines(everything)) == 6 and "<b>1</b> new, <b>1</b> retired, <b>3</b> changed" in (everything.text or "")
    assert local_api.sent_to(DIGITAL) == []

    # Queuing the same refresh again adds nothing: no double notices.
    assert enqueue_digests(db_of(bot), report.changes, titles=report.titles) == 0
    await asyncio.sleep(0.5)
    assert sum(len(digests(local_api, c)) for c in (EVERYTHING, *EXPECTED)) == 4


async def test_429s_blocked_chats_and_dropped_connections_do_not_stop_the_others(
    bot: Application, local_api: LocalBotApi
) -> None:
    db = db_of(bot)
    chats = list(range(7001, 7041))
    blocked, refused = {7003, 7017, 7029}, {7020}
    for chat in chats:
        subscribe(db, chat, None)
    local_api.set_rate_limits(global_per_s=12, per_chat_per_s=1)
    local_api.blocked_chats.update(blocked)
    local_api.bad_request_chats.update(refused)
    modified = plant_changes(load_bundled_map()).modified
    write_snapshot(modified, Path(bot.bot_data.services.settings.maps_source))
    refresh = asyncio.create_task(run_refresh_job(bot.bot_data, bot.bot))
    await local_api.wait_for(lambda: len(digests(local_api, 7001)) == 1, timeout=15)
    local_api.inject("drop", "drop", "500", "drop")
    assert (await refresh).status == "accepted"
    counts = await drained(bot, timeout=40)

    for chat in chats:
        expected = 0 if chat in blocked | refused else 1
        assert len(digests(local_api, chat)) == expected, chat
    assert local_api.rate_limited > 0
    assert counts["sent"] == len(chats) - 4 and counts["failed"] == 4
    for chat in blocked:
        sub = subscription_of(db, chat)
        assert sub is not None and not sub.active and sub.reason == "blocked"
        [row] = db["outbox"].rows_where("chat_id = ?", [chat])
        assert row["state"] == "failed" and row["reason"].startswith("blocked: Forbidden")
    [row] = db["outbox"].rows_where("chat_id = ?", [7020])
    assert row["state"] == "failed" and row["reason"].startswith("bad request:")
    assert subscription_of(db, 7020).active  # type: ignore[union-attr]


async def test_long_digests_arrive_in_numbered_parts_and_changes_pages_with_buttons(
    bot: Application, local_api: LocalBotApi
) -> None:
    base = load_bundled_map()
    ids = sorted(base)[:140]
    occupations = dict(base)
    for oid in ids:
        occupations[oid] = replace(base[oid], level=base[oid].level % 7 + 1)
    modified = OccupationMap.of(occupations.values(), base.routes, base.retrieved_at)
    subscribe(db_of(bot), EVERYTHING, None)
    await refresh_with(bot, modified)
    await drained(bot, timeout=30)
    parts = local_api.sent_to(EVERYTHING)
    assert len(parts) >= 2
    assert all(len(p.text or "") <= 4096 for p in parts)
    for index, part in enumerate(parts, start=1):
        assert (part.text or "").startswith(f"{DIGEST} ({index}/{len(parts)})")
    more = re.search(r"…and (\d+) more changes", parts[-1].text or "")
    assert sum(len(lines(p)) for p in parts) + (int(more.group(1)) if more else 0) == 140
    if more:
        assert parts[-1].buttons[0][0] == "Show all changes"
    gaps = [b.at - a.at for a, b in itertools.pairwise(parts)]
    assert all(g >= 0.95 for g in gaps)  # one message a second per chat

    local_api.push_text(ADVISER, "/changes")
    [page1] = await local_api.wait_for_messages(ADVISER, 1)
    assert (page1.text or "").startswith("<b>Latest changes to the occupational maps</b> (1/")
    assert [label for label, _ in page1.buttons] == ["Next »"]
    local_api.push_callback(ADVISER, page1.buttons[0][1])
    messages = await local_api.wait_for_messages(ADVISER, 2)
    assert messages[-1].method == "editMessageText" and "(2/" in (messages[-1].text or "")
    assert messages[-1].buttons[0][0] == "« Previous"

    local_api.push_text(ADVISER, "/changes digital")
    messages = await local_api.wait_for_messages(ADVISER, 3)
    assert "Digital route:" in (messages[-1].text or "")
    local_api.push_text(ADVISER, "/changes hairdressing")
    messages = await local_api.wait_for_messages(ADVISER, 4)
    assert "I don't know a route called <i>hairdressing</i>" in (messages[-1].text or "")


async def test_changes_before_any_refresh_says_when_the_first_comparison_comes(
        bot: Application, local_api: LocalBotApi) -> None:
    local_api.push_text(ADVISER, "/changes")
    [reply] = await local_api.wait_for_messages(ADVISER, 1)
    assert "No changes to the occupational maps recorded yet" in (reply.text or "")
    assert "The first comparison comes with the next scheduled refresh, on <b>" in (reply.text or "")


# --- admins -----------------------------------------------------------------------------------


async def test_admin_commands_are_refused_to_others(bot: Application, local_api: LocalBotApi) -> None:
    for index, command in enumerate(("/stats", "/broadcast hi", "/testnotice"), start=1):
        local_api.push_text(ADVISER, command)
        messages = await local_api.wait_for_messages(ADVISER, index)
        assert messages[-1].text == "Sorry, that command is for admins."


async def test_stats_broadcast_and_testnotice(bot: Application, local_api: LocalBotApi) -> None:
    db = db_of(bot)
    for chat in (8001, 8002, 8003):
        subscribe(db, chat, ["7"] if chat != 8003 else None)
    local_api.push_text(4001, "what is a t level")  # a student question, counted for /stats
    await local_api.wait_for_messages(4001, 1)

    local_api.push_text(ADMIN, "/testnotice")
    [none] = await local_api.wait_for_messages(ADMIN, 1)
    assert "no digest to test" in (none.text or "")

    local_api.push_text(ADMIN, "/broadcast Careers fair on <Friday> & Saturday")
    messages = await local_api.wait_for_messages(ADMIN, 2)
    confirm = messages[-1]
    assert "Send this to <b>3</b> active subscribers?" in (confirm.text or "")
    assert "Careers fair on &lt;Friday&gt; &amp; Saturday" in (confirm.text or "")
    send_data = confirm.buttons[0][1]
    local_api.push_callback(ADVISER, send_data)  # not an admin: nothing is queued
    await local_api.wait_for(lambda: any("answerCallbackQuery:That button is for admins" in c
                                         for c in local_api.calls))
    local_api.push_callback(ADMIN, send_data)
    messages = await local_api.wait_for_messages(ADMIN, 3)
    assert "Queued for 3 subscribers" in (messages[-1].text or "")
    await drained(bot)
    for chat in (8001, 8002, 8003):
        [notice] = local_api.sent_to(chat)
        assert "Careers fair on &lt;Friday&gt; &amp; Saturday" in (notice.text or "")
    local_api.push_callback(ADMIN, send_data)  # a second tap queues nothing more
    messages = await local_api.wait_for_messages(ADMIN, 4)
    assert "already queued" in (messages[-1].text or "")

    local_api.push_text(ADMIN, "/stats")
    messages = await local_api.wait_for_messages(ADMIN, 5)
    stats_text = messages[-1].text or ""
    assert "Questions today: 1" in stats_text and "Students: 1" in stats_text
    assert "• Digital: 2" in stats_text and "• All routes: 1" in stats_text
    assert "sent 3" in stats_text

    await refresh_with(bot, plant_changes(load_bundled_map()).modified)
    await drained(bot)
    before = {chat: len(local_api.sent_to(chat)) for chat in (8001, 8002, 8003)}
    local_api.push_text(ADMIN, "/testnotice")
    messages = await local_api.wait_for_messages(ADMIN, 7)
    assert "Test notice" in (messages[-2].text or "") and (messages[-1].text or "").startswith(DIGEST)
    assert len(lines(messages[-1])) == 6
    await asyncio.sleep(0.3)
    assert {chat: len(local_api.sent_to(chat)) for chat in (8001, 8002, 8003)} == before


# --- the sender on its own --------------------------------------------------------------------


class StubBot:
    """Records sends; one chat answers RetryAfter once, another is blocked."""

    def __init__(self, slow_chat: int, blocked_chat: int) -> None:
        self.slow_chat, self.blocked_chat = slow_chat, blocked_chat
        self.sent: list[tuple[int, float]] = []
        self.limited = False

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> None:
        if chat_id == self.slow_chat and not self.limited:
            self.limited = True
            raise RetryAfter(dt.timedelta(seconds=1))
        if chat_id == self.blocked_chat:
            raise Forbidden("Forbidden: bot was blocked by the user")
        self.sent.append((chat_id, time.monotonic()))


async def test_retry_after_holds_back_only_that_chat(tmp_path: Path, alert_settings: Settings,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.db import open_db

    db = open_db(tmp_path / "sender.db")
    for chat in range(1, 31):
        subscribe(db, chat, None)
    enqueue_broadcast(db, 1, ["hello"])
    stub = StubBot(slow_chat=1, blocked_chat=2)
    started = time.monotonic()
    report = await deliver_pending(stub, db, alert_settings)  # type: ignore[arg-type]
    others = [at for chat, at in stub.sent if chat != 1]
    [(_, slow_at)] = [(c, at) for c, at in stub.sent if c == 1]
    assert len(others) == 28 and max(others) - started < 0.9  # nobody waited for chat 1
    assert slow_at - started >= 1.0  # chat 1 waited its retry_after
    assert report.rate_limited == 1 and report.sent == 29 and report.deactivated == 1
    assert not subscription_of(db, 2).active  # type: ignore[union-attr]


async def test_nothing_is_sent_outside_the_window(tmp_path: Path, alert_settings: Settings) -> None:
    from bot.db import open_db

    db = open_db(tmp_path / "window.db")
    subscribe(db, 1, None)
    enqueue_broadcast(db, 1, ["hello"])
    daytime = alert_settings.model_copy(update={"send_window_start": dt.time(8), "send_window_end": dt.time(20)})
    stub = StubBot(0, 0)
    night = dt.datetime(2027, 1, 4, 22, 0, tzinfo=dt.UTC)
    report = await deliver_pending(stub, db, daytime, now=night)  # type: ignore[arg-type]
    assert report.window_closed and stub.sent == [] and outbox_counts(db)["pending"] == 1
    morning = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
    report = await deliver_pending(stub, db, daytime, now=morning)  # type: ignore[arg-type]
    assert report.sent == 1 and len(stub.sent) == 1


async def test_a_version_stored_by_the_cli_still_gets_its_digests(
    bot: Application, local_api: LocalBotApi
) -> None:
    db = db_of(bot)
    subscribe(db, EVERYTHING, None)
    deadline = time.monotonic() + 10
    while digests_through(db) is None:  # the outbox job's first look: remember version 1
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    settings = bot.bot_data.services.settings
    write_snapshot(plant_changes(load_bundled_map()).modified, Path(settings.maps_source))
    report = await run_refresh(settings)  # `careers-bot refresh`: its own connection, no hook
    assert report.status == "accepted"
    await local_api.wait_for(lambda: len(digests(local_api, EVERYTHING)) == 1, timeout=15)
    [digest] = digests(local_api, EVERYTHING)
    assert f"maps version {report.to_version}" in (digest.text or "")


async def test_alerts_are_set_up_in_private_chats_only(bot: Application, local_api: LocalBotApi) -> None:
    group = -100777
    local_api.push_text(group, "/subscribe", chat_type="supergroup", user_id=77)
    [reply] = await local_api.wait_for_messages(group, 1)
    assert "private chat" in reply.text
    assert not reply.buttons
    assert bot.bot_data.services.db.table("subscriptions").count == 0
