"""Crash safety: SIGKILL the sender three times mid-broadcast; every subscriber still gets one digest.

The local Bot API lives in this test process and outlives the killed subprocess, which runs the
real sender (:func:`jobs.outbox.deliver_pending`) against its base_url. The documented guarantee:
nothing is lost, and each crash can duplicate at most the one message that was in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from app.local_api import LocalBotApi
from bot.alerts.outbox import enqueue_digests, outbox_counts
from bot.db import ensure_db_shape, open_db, write_transaction
from bot.maps.diff import diff_maps
from bot.maps.model import Occupation, OccupationMap, Route
from bot.maps.refresh import RefreshReport
from bot.maps.store import save_version

WORKER = Path(__file__).with_name("alerts_crash_worker.py")
SUBSCRIBERS = 1200
KILLS = (300, 600, 900)
RATE = 800.0
DIGEST = "<b>Occupational maps update</b>"
ROUTES = (Route("7", "Digital"), Route("8", "Engineering and manufacturing"))


def occupation(oid: str, title: str, level: int, route: Route) -> Occupation:
    return Occupation(id=oid, title=title, overview="", level=level, route_id=route.id,
                      route_name=route.name, status=1, status_name="Approved occupation")


def prepare(path: Path) -> None:
    """A stored refresh with changes on both routes and 1,200 subscribers with digests queued."""
    db = open_db(path)
    ensure_db_shape(db)
    old = OccupationMap.of([occupation("A", "Software developer", 4, ROUTES[0]),
                            occupation("B", "Welder", 2, ROUTES[1])], ROUTES)
    new = OccupationMap.of([occupation("A", "Software developer", 5, ROUTES[0]),
                            occupation("B", "Welder", 3, ROUTES[1])], ROUTES)
    save_version(db, old, "bundled:test")
    change = diff_maps(old, new)
    version = save_version(db, new, "api:test", changes=replace(change, from_version=1, to_version=2))
    now = "2027-01-04T06:00:00+00:00"
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO subscriptions (chat_id, routes, active, created_at, updated_at) VALUES (?, ?, 1, ?, ?)",
            [(10_000 + i, ("all", "7", "8")[i % 3], now, now) for i in range(SUBSCRIBERS)],
        )
    report = RefreshReport("accepted", "stored", "api:test", replace(change, from_version=1, to_version=version))
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == SUBSCRIBERS
    db.close()


async def start_worker(db_path: Path, api: LocalBotApi) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), str(db_path), api.base_url, str(RATE),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PTB_TIMEDELTA": "true"},
    )


def digest_counts(api: LocalBotApi) -> Counter[int]:
    return Counter(m.chat_id for m in api.sent
                   if m.method == "sendMessage" and m.chat_id and (m.text or "").startswith(DIGEST))


async def test_three_sigkills_mid_broadcast_lose_nothing_and_duplicate_at_most_one_each(
    tmp_path: Path, local_api: LocalBotApi
) -> None:
    db_path = tmp_path / "crash.db"
    prepare(db_path)
    delivered_at_kill = []
    for threshold in KILLS:
        worker = await start_worker(db_path, local_api)
        await local_api.wait_for(lambda t=threshold: sum(digest_counts(local_api).values()) >= t, timeout=30)
        worker.kill()  # SIGKILL: no cleanup, no lease release, maybe a message in flight
        await worker.wait()
        assert worker.returncode == -9
        delivered_at_kill.append(sum(digest_counts(local_api).values()))
    worker = await start_worker(db_path, local_api)
    out, err = await asyncio.wait_for(worker.communicate(), timeout=40)
    assert worker.returncode == 0, err.decode()[-2000:]
    reports = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert reports[0] == {"ready": reports[0]["ready"]}
    assert reports[1]["recovered"] <= 1  # at most the one message in flight at the last kill

    counts = digest_counts(local_api)
    chats = set(range(10_000, 10_000 + SUBSCRIBERS))
    assert set(counts) == chats, f"lost: {sorted(chats - set(counts))[:10]}"  # nobody missed out
    duplicated = sum(n - 1 for n in counts.values())
    assert duplicated <= len(KILLS), counts.most_common(5)
    assert max(counts.values()) <= 2
    assert all(a < SUBSCRIBERS for a in delivered_at_kill)  # every kill was part-way

    db = open_db(db_path)
    assert outbox_counts(db) == {"pending": 0, "sending": 0, "sent": SUBSCRIBERS, "failed": 0, "skipped": 0}
    db.close()
