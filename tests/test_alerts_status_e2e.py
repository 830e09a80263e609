"""What advisers see about the maps' timetable, end to end against the local Bot API: /changes on
a fresh install, /about, /subscriptions, /changes csv, and a digest that follows new routes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from telegram.ext import Application

from app.local_api import LocalBotApi
from bot.alerts.outbox import enqueue_digests
from bot.alerts.subscriptions import subscribe
from bot.config import Settings
from bot.db import open_db
from bot.maps.parse import load_bundled_map
from jobs.outbox import deliver_pending
from tests import test_alerts_e2e
from tests.fake_maps_api import plant_changes
from tests.test_alerts import stored_refresh
from tests.test_alerts_e2e import (
    ADVISER,
    db_of,
    drained,
    refresh_with,
)

# The same fixtures as the alerts end-to-end tests: the bot with a fast outbox sender.
alert_settings = test_alerts_e2e.alert_settings
bot = test_alerts_e2e.bot

DATE = r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d"


async def ask(api: LocalBotApi, text: str, count: int) -> str:
    api.push_text(ADVISER, text)
    messages = await api.wait_for_messages(ADVISER, count)
    return messages[-1].text or ""


async def test_changes_on_a_fresh_install_shows_what_the_maps_hold(
        bot: Application, local_api: LocalBotApi) -> None:
    text = await ask(local_api, "/changes", 1)
    assert re.search(f"first comparison comes with the next scheduled refresh, on <b>{DATE}</b>", text)
    assert "• <b>Engineering and manufacturing</b>: 368 (level 2: 67, level 3: 148," in text
    assert "<b>Latest status changes</b>, as dated in the maps data:" in text
    assert "status last updated 1 August 2026" in text
    assert "Last alert sent to advisers: none yet" in text


async def test_about_names_the_source_in_words_with_its_date_and_the_timetable(
        bot: Application, local_api: LocalBotApi) -> None:
    text = await ask(local_api, "/about", 1)
    assert "bundled:" not in text and ".jsonl" not in text
    assert ("from the snapshot of Skills England's maps that ships with the bot, published on "
            "11 September 2026") in text
    assert re.search(f"Next scheduled refresh: {DATE} \\(UK time\\)", text)
    assert "Last refreshed: not yet" in text


async def test_changes_and_about_show_the_refresh_and_the_last_alert(
        bot: Application, local_api: LocalBotApi) -> None:
    subscribe(db_of(bot), ADVISER, None)
    await refresh_with(bot, plant_changes(load_bundled_map()).modified)
    await drained(bot)
    sent = len(local_api.sent_to(ADVISER))
    text = await ask(local_api, "/changes", sent + 1)
    assert "Last refreshed: not yet" not in text and "Last alert sent to advisers: none yet" not in text
    assert "/changes csv" in text
    about = await ask(local_api, "/about", sent + 2)
    assert "from a snapshot file loaded by the bot's maintainers" in about


async def test_subscriptions_say_what_the_next_digest_covers(
        bot: Application, local_api: LocalBotApi) -> None:
    subscribe(db_of(bot), ADVISER, ["7"])
    text = await ask(local_api, "/subscriptions", 1)
    assert re.search(f"<b>Next alert</b>: after the next scheduled refresh, on {DATE} \\(UK time\\), "
                     "you'll get what changed on your routes since maps version 1", text)


async def test_changes_csv_arrives_as_a_document(bot: Application, local_api: LocalBotApi) -> None:
    before = await ask(local_api, "/changes csv", 1)
    assert "There is no change list to send yet" in before
    report = await refresh_with(bot, plant_changes(load_bundled_map()).modified)
    local_api.push_text(ADVISER, "/changes csv")
    [*_, document] = await local_api.wait_for_messages(ADVISER, 2)
    assert document.method == "sendDocument" and document.document is not None
    name, content = document.document
    assert name == f"occupational-maps-changes-v{report.from_version}-to-v{report.to_version}.csv"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Route", "Occupation id", "Occupation"]
    assert ["Land and creative"] != [r[0] for r in rows[1:]]  # every row names a real route
    assert {r[2] for r in rows[1:]} >= {"Bookbinder", "Power network craftsperson"}
    assert f"{len(rows) - 1} rows" in (document.text or "")


class TextBot:
    """Records what the sender sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> None:
        self.sent.append((chat_id, text))


async def test_a_digest_queued_before_a_change_of_routes_goes_out_for_the_new_routes(
        tmp_path: Path, alert_settings: Settings) -> None:
    db = open_db(tmp_path / "routes.db")
    report = stored_refresh(db)
    subscribe(db, 1, ["7"])  # Digital
    subscribe(db, 2, ["7"])
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == 2
    subscribe(db, 1, ["8"])  # chat 1 switches to Engineering and manufacturing before sending
    stub = TextBot()
    delivery = await deliver_pending(stub, db, alert_settings)  # type: ignore[arg-type]
    assert delivery.sent == 2
    texts = dict(stub.sent)
    assert "Robotics engineer" in texts[1] and "Software developer" not in texts[1]
    assert "Software developer" in texts[2] and "Robotics engineer" not in texts[2]
