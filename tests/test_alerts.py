"""Adviser alerts without Telegram: subscriptions, digests, the sending window and the outbox."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.alerts.digest import DIGEST_MAX_PARTS, MapContext, notices_for, render_digest
from bot.alerts.outbox import (
    catch_up_digests,
    claim,
    digests_through,
    due_items,
    enqueue_broadcast,
    enqueue_digests,
    in_send_window,
    outbox_counts,
    part_sent,
    prune_alerts,
    recover_in_flight,
    show_all_data,
)
from bot.alerts.stats import stats
from bot.alerts.subscriptions import (
    RouteInfo,
    Subscription,
    find_route,
    routes_from_mask,
    routes_mask,
    subscribe,
    subscription_of,
    unsubscribe,
)
from bot.db import ensure_db_shape, open_db
from bot.knowledge import bundled_messages
from bot.maps.diff import ChangeList, diff_maps
from bot.maps.model import Occupation, OccupationMap, Product, Route
from bot.maps.refresh import RefreshReport
from bot.maps.store import save_version
from bot.privacy import forget_chat, purge_expired
from bot.usage import touch_user

LONDON = "Europe/London"
ROUTES = (Route("5", "Construction and the built environment"), Route("7", "Digital"),
          Route("8", "Engineering and manufacturing"))
ROUTE_NAMES = {r.id: r.name for r in ROUTES}
T_LEVEL = Product("TL0001", "Digital production, design and development", 3, "TLevel", None)


def occ(oid: str, title: str, level: int, route: str, **extra: object) -> Occupation:
    return Occupation(id=oid, title=title, overview="", level=level, route_id=route,
                      route_name=ROUTE_NAMES[route], status=1, status_name="Approved occupation",
                      **extra)  # type: ignore[arg-type]


OLD = OccupationMap.of([
    occ("A", "Bricklayer", 2, "5"),
    occ("B", "Software developer", 4, "7"),
    occ("C", "Cyber security analyst", 4, "7"),
    occ("D", "Welder", 3, "8"),
    occ("F", "Loom tuner", 2, "8"),
], ROUTES, "2026-09-11T13:08:18+00:00")
NEW = OccupationMap.of([
    occ("A", "Bricklayer", 3, "5"),
    occ("B", "Software developer", 4, "7", products=(T_LEVEL,)),
    occ("C", "Cyber security analyst", 4, "8"),
    occ("D", "Welder", 3, "8"),
    replace(occ("F", "Loom tuner", 2, "8"), status=5, status_name="Retired"),
    occ("G", "Robotics engineer", 6, "8"),
], ROUTES, "2026-12-11T09:00:00+00:00")


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    database = open_db(tmp_path / "alerts.db")
    return database


def changes() -> ChangeList:
    return replace(diff_maps(OLD, NEW), from_version=1, to_version=2)


def context() -> MapContext:
    return MapContext.from_maps(OLD, NEW, version=2, previous=1, refreshed_at="2027-01-04T06:00:05+00:00",
                                retrieved_at=NEW.retrieved_at, source="api:https://example.test/api/v1")


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("• ")]


# --- subscriptions ---------------------------------------------------------------------------


def test_subscribing_again_changes_routes_and_never_duplicates(db: sqlite_utils.Database) -> None:
    subscribe(db, 42, ["7"])
    subscribe(db, 42, ["5", "8"])
    assert db["subscriptions"].count == 1
    current = subscription_of(db, 42)
    assert current is not None and current.routes == {"5", "8"} and current.active
    assert db["subscriptions"].get(42)["routes"] == "5,8"
    subscribe(db, 42, None)
    assert subscription_of(db, 42).routes is None  # type: ignore[union-attr]
    assert db["subscriptions"].get(42)["routes"] == "all"


def test_unsubscribe_stops_everything_and_skips_queued_notices(db: sqlite_utils.Database) -> None:
    subscribe(db, 42, None)
    subscribe(db, 43, None)
    enqueue_broadcast(db, 1, ["hello"])
    assert unsubscribe(db, 42) is True
    assert unsubscribe(db, 42) is False
    sub = subscription_of(db, 42)
    assert sub is not None and not sub.active and sub.reason == "unsubscribed"
    states = {r["chat_id"]: (r["state"], r["reason"]) for r in db["outbox"].rows}
    assert states == {42: ("skipped", "unsubscribed"), 43: ("pending", None)}
    subscribe(db, 42, ["7"])  # re-subscribing re-activates the same row
    assert subscription_of(db, 42).active and db["subscriptions"].count == 2  # type: ignore[union-attr]


def test_subscribing_marks_the_user_as_an_adviser_and_survives_retention(db: sqlite_utils.Database) -> None:
    touch_user(db, 42)
    touch_user(db, 43)
    subscribe(db, 42, ["7"])
    assert db["users"].get(42)["role"] == "adviser"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    purge_expired(db, now=later, unanswered_days=90, inactive_days=365)
    assert [r["chat_id"] for r in db["users"].rows] == [42]


def test_forget_deletes_subscription_and_outbox_rows(db: sqlite_utils.Database) -> None:
    subscribe(db, 42, None)
    enqueue_broadcast(db, 1, ["hello"])
    assert forget_chat(db, 42) >= 2
    assert subscription_of(db, 42) is None and db["outbox"].count == 0


def test_route_masks_round_trip_and_fit_callback_data() -> None:
    for routes in (None, frozenset(), frozenset({"7"}), frozenset(str(i) for i in range(1, 16))):
        assert routes_from_mask(routes_mask(routes)) == routes
    assert len(f"sub:t:{routes_mask(frozenset(str(i) for i in range(1, 16)))}:15".encode()) <= 64


def test_find_route_by_id_name_or_words() -> None:
    routes = [RouteInfo(r.id, r.name) for r in ROUTES]
    assert find_route(routes, "digital").id == "7"  # type: ignore[union-attr]
    assert find_route(routes, "8").id == "8"  # type: ignore[union-attr]
    assert find_route(routes, "construction").id == "5"  # type: ignore[union-attr]
    assert find_route(routes, "engineering & manufacturing").id == "8"  # type: ignore[union-attr]
    assert find_route(routes, "hairdressing") is None


# --- what each subscriber hears ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "counts", "expected"),
    [
        (frozenset({"7"}), (0, 0, 2), {
            "Digital": ["• <b>Cyber security analyst</b> (level 4): moved to Engineering and manufacturing",
                        "• <b>Software developer</b> (level 4): T Level added"],
        }),
        (frozenset({"5"}), (0, 0, 1), {
            "Construction and the built environment": ["• <b>Bricklayer</b> (level 3): Level 2 → 3"],
        }),
        (frozenset({"8"}), (1, 1, 1), {
            "Engineering and manufacturing": [
                "• <b>Robotics engineer</b> (level 6): new",
                "• <b>Cyber security analyst</b> (level 4): moved from Digital",
                "• <b>Loom tuner</b> (level 2): retired",
            ],
        }),
        (None, (1, 1, 3), {
            "Construction and the built environment": ["• <b>Bricklayer</b> (level 3): Level 2 → 3"],
            "Digital": ["• <b>Cyber security analyst</b> (level 4): moved to Engineering and manufacturing",
                        "• <b>Software developer</b> (level 4): T Level added"],
            "Engineering and manufacturing": [
                "• <b>Robotics engineer</b> (level 6): new",
                "• <b>Cyber security analyst</b> (level 4): moved from Digital",
                "• <b>Loom tuner</b> (level 2): retired",
            ],
        }),
    ],
)
def test_notices_for_each_route_filter(routes: frozenset[str] | None, counts: tuple[int, int, int],
                                       expected: dict[str, list[str]]) -> None:
    digest = notices_for(Subscription(1, routes), changes(), context())
    assert digest is not None
    assert (digest.new, digest.retired, digest.changed) == counts
    [text] = render_digest(digest)
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.fullmatch(r"<b>(.+)</b>", line)
        if heading and not line.startswith("<b>Occupational"):
            current = heading.group(1)
            sections[current] = []
        elif line.startswith("• ") and current:
            sections[current].append(line)
    assert sections == expected
    new, retired, changed = counts
    assert f"<b>{new}</b> new, <b>{retired}</b> retired, <b>{changed}</b> changed" in text
    assert "Refreshed 4 January 2027 from the Skills England API · maps version 2 (was 1)" in text
    assert "/unsubscribe" in text


def test_no_change_in_your_routes_means_no_notice() -> None:
    unchanged_route = replace(changes(), added=(), removed=(), changed=tuple(
        c for c in changes().changed if c.id == "A"))
    assert notices_for(Subscription(1, frozenset({"7"})), unchanged_route, context()) is None
    assert notices_for(Subscription(1, frozenset({"99"})), changes(), context()) is None


def test_a_retired_apprenticeship_standard_is_named_in_the_digest() -> None:
    standard = Product("ST0116", "Software developer", 4, "Apprenticeship", "Approved for delivery")
    old = OccupationMap.of([occ("B", "Software developer", 4, "7", products=(standard,))], ROUTES)
    new = OccupationMap.of([occ("B", "Software developer", 4, "7",
                                products=(replace(standard, status="Retired"),))], ROUTES)
    change = replace(diff_maps(old, new), to_version=2)
    digest = notices_for(Subscription(1, None), change, MapContext.from_maps(old, new, version=2))
    [text] = render_digest(digest)  # type: ignore[arg-type]
    assert "Apprenticeship ST0116 now Retired (was Approved for delivery)" in text


def test_digest_text_is_escaped() -> None:
    odd_old = OccupationMap.of([occ("X", "Nail <tech> & co", 2, "7")], ROUTES)
    odd_new = OccupationMap.of([occ("X", "Nail <tech> & co", 3, "7")], ROUTES)
    change = replace(diff_maps(odd_old, odd_new), to_version=3)
    digest = notices_for(Subscription(1, None), change, MapContext.from_maps(odd_old, odd_new, version=3))
    [text] = render_digest(digest)  # type: ignore[arg-type]
    assert "Nail &lt;tech&gt; &amp; co" in text and "<tech>" not in text


def big_change(count: int, title_len: int = 60) -> tuple[ChangeList, MapContext]:
    old = OccupationMap.of([occ(f"O{i:04d}", f"Occupation {i} " + "x" * title_len, 2, ("5", "7", "8")[i % 3])
                            for i in range(count)], ROUTES)
    new = OccupationMap.of([replace(o, level=3) for o in old.values()], ROUTES)
    return replace(diff_maps(old, new), from_version=1, to_version=2), MapContext.from_maps(old, new, version=2)


def test_long_digests_are_split_into_numbered_parts_under_the_limit() -> None:
    change, ctx = big_change(90)
    digest = notices_for(Subscription(1, None), change, ctx)
    assert digest is not None
    parts = render_digest(digest, max_parts=None)
    assert len(parts) >= 2 and all(len(p) <= 4096 for p in parts)
    for index, part in enumerate(parts, start=1):
        assert part.startswith(f"<b>Occupational maps update</b> ({index}/{len(parts)})")
    shown = [line for part in parts for line in lines_of(part)]
    assert len(shown) == 90 and len(set(shown)) == 90
    assert "(continued)" in "".join(parts[1:]) or parts[1].splitlines()[1].startswith("<b>")
    assert "/unsubscribe" in parts[-1] and "/unsubscribe" not in parts[0]


def test_very_long_digests_end_with_a_show_all_hint() -> None:
    change, ctx = big_change(400)
    digest = notices_for(Subscription(1, None), change, ctx)
    parts = render_digest(digest)  # type: ignore[arg-type]
    assert len(parts) == DIGEST_MAX_PARTS
    shown = sum(len(lines_of(p)) for p in parts)
    assert parts.omitted == 400 - shown > 0
    assert f"…and {parts.omitted} more changes" in parts[-1]


@hsettings(max_examples=25, deadline=None)
@given(count=st.integers(1, 160), title_len=st.integers(1, 190), limit=st.integers(1200, 4096))
def test_every_part_fits_and_every_line_appears_once(count: int, title_len: int, limit: int) -> None:
    change, ctx = big_change(count, title_len)
    digest = notices_for(Subscription(1, None), change, ctx)
    parts = render_digest(digest, limit=limit, max_parts=None)  # type: ignore[arg-type]
    assert all(len(p) <= limit for p in parts)
    shown = [line for part in parts for line in lines_of(part)]
    assert len(shown) == count
    for part in parts:  # tags are balanced in every part
        assert part.count("<b>") == part.count("</b>") and part.count("<i>") == part.count("</i>")


# --- the sending window -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "start", "end", "inside"),
    [
        ("2027-01-04T07:59:00", "08:00", "20:00", False),  # GMT: 07:59 local
        ("2027-01-04T08:00:00", "08:00", "20:00", True),
        ("2027-01-04T19:59:59", "08:00", "20:00", True),
        ("2027-01-04T20:00:00", "08:00", "20:00", False),
        ("2027-07-05T07:30:00", "08:00", "20:00", True),  # BST: 08:30 local
        ("2027-07-05T19:30:00", "08:00", "20:00", False),  # BST: 20:30 local
        ("2027-01-04T23:00:00", "22:00", "06:00", True),  # a window across midnight
        ("2027-01-04T12:00:00", "22:00", "06:00", False),
        ("2027-01-04T03:00:00", "00:00", "00:00", True),  # start == end: always
    ],
)
def test_send_window(utc: str, start: str, end: str, inside: bool) -> None:
    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert in_send_window(now, dt.time.fromisoformat(start), dt.time.fromisoformat(end), LONDON) is inside


# --- enqueueing and the outbox ----------------------------------------------------------------


def stored_refresh(db: sqlite_utils.Database) -> RefreshReport:
    ensure_db_shape(db)
    save_version(db, OLD, "bundled:test.jsonl")
    change = diff_maps(OLD, NEW)
    version = save_version(db, NEW, "api:https://example.test", changes=replace(change, from_version=1, to_version=2))
    return RefreshReport("accepted", "stored", "api:https://example.test",
                         replace(change, from_version=1, to_version=version))


def test_enqueue_is_idempotent_per_refresh_and_skips_unaffected_subscribers(db: sqlite_utils.Database) -> None:
    report = stored_refresh(db)
    subscribe(db, 1, None)
    subscribe(db, 2, ["7"])
    subscribe(db, 3, ["7"])
    subscribe(db, 4, ["99"])  # a route with no changes
    subscribe(db, 5, ["5"])
    unsubscribe(db, 5)
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == 3
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == 0
    rows = list(db["outbox"].rows_where(order_by="chat_id"))
    assert [r["chat_id"] for r in rows] == [1, 2, 3]
    assert {r["refresh_key"] for r in rows} == {"maps:v2"}
    assert rows[1]["body_id"] == rows[2]["body_id"] != rows[0]["body_id"]  # same routes, one body
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO outbox (chat_id, refresh_key, kind, body_id, created_at, updated_at) "
                   "VALUES (1, 'maps:v2', 'digest', 1, 'x', 'x')")


def test_outbox_state_transitions_and_crash_recovery(db: sqlite_utils.Database) -> None:
    subscribe(db, 1, None)
    enqueue_broadcast(db, 7, ["part one", "part two"])
    [item] = due_items(db, 10)
    assert item.parts == ["part one", "part two"] and item.parts_sent == 0
    assert claim(db, item.id) and not claim(db, item.id)
    assert part_sent(db, item.id, 1, 2) == "pending"
    assert claim(db, item.id)
    # crash here: the row stays "sending" until a sender recovers it
    assert outbox_counts(db)["sending"] == 1
    assert recover_in_flight(db) == 1
    [again] = due_items(db, 10)
    assert again.parts_sent == 1  # resumes with the second part, not from the start
    assert claim(db, again.id) and part_sent(db, again.id, 2, 2) == "sent"
    assert outbox_counts(db)["sent"] == 1 and due_items(db, 10) == []


def test_stats_counts_subscribers_per_route_and_the_outbox(db: sqlite_utils.Database) -> None:
    report = stored_refresh(db)
    touch_user(db, 10)
    touch_user(db, 11)
    subscribe(db, 1, None)
    subscribe(db, 2, ["7", "8"])
    subscribe(db, 3, ["7"])
    enqueue_digests(db, report.changes, titles=report.titles, source=report.source)
    data = stats(db, timezone=LONDON)
    assert data.students == 2 and data.subscribers == 3
    assert dict(data.per_route) == {"all": 1, "Digital": 2, "Engineering and manufacturing": 1}
    assert data.outbox["pending"] == 3
    assert data.latest_version is not None and data.latest_version.version == 2


def test_every_message_the_code_uses_is_in_messages_yaml() -> None:
    texts = bundled_messages()
    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text() for folder in ("bot", "handlers", "jobs", "app", "telegram_io")
                     for p in (root / folder).rglob("*.py"))
    used = set(re.findall(r'message\(\s*"([a-z_]+)"', source)) | set(re.findall(r"message\('([a-z_]+)'", source))
    assert used and used <= set(texts.data), used - set(texts.data)
    assert json.dumps(texts.data)  # plain data


def test_catch_up_queues_digests_for_versions_stored_outside_the_bot(db: sqlite_utils.Database) -> None:
    ensure_db_shape(db)
    save_version(db, OLD, "bundled:test.jsonl")
    subscribe(db, 1, None)
    assert catch_up_digests(db) == 0  # first check: only remembers version 1
    assert digests_through(db) == 1
    change = diff_maps(OLD, NEW)  # e.g. `careers-bot refresh` in another process
    save_version(db, NEW, "api:https://example.test", changes=replace(change, from_version=1, to_version=2))
    assert catch_up_digests(db) == 1
    assert catch_up_digests(db) == 0 and digests_through(db) == 2
    [row] = db["outbox"].rows
    assert row["refresh_key"] == "maps:v2" and row["chat_id"] == 1


def test_the_hook_path_advances_the_catch_up_marker(db: sqlite_utils.Database) -> None:
    report = stored_refresh(db)
    subscribe(db, 1, None)
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == 1
    assert digests_through(db) == 2 and catch_up_digests(db) == 0


def test_show_all_changes_continues_exactly_where_the_digest_stopped() -> None:
    change, ctx = big_change(400)
    digest = notices_for(Subscription(1, None), change, ctx)
    assert digest is not None
    parts = render_digest(digest)
    pages = render_digest(digest, max_parts=None, title_key="changes_title",
                          counts_line="All routes: <b>0</b> new, <b>0</b> retired, <b>400</b> changed.",
                          footer_key="changes_footer")
    assert [lines_of(p) for p in parts] == [lines_of(p) for p in pages[:len(parts)]]
    rest = sum(len(lines_of(p)) for p in pages[len(parts):])
    assert rest == parts.omitted
    assert show_all_data(2, None, len(parts) + 1) == "chg:2:1:4:n"


def test_prune_keeps_pending_notices_and_drops_old_finished_rows(db: sqlite_utils.Database) -> None:
    subscribe(db, 1, None)
    subscribe(db, 2, None)
    enqueue_broadcast(db, 1, ["old news"])
    [first, _second] = due_items(db, 10)
    claim(db, first.id)
    part_sent(db, first.id, 1, 1)
    unsubscribe(db, 3)  # never subscribed: nothing happens
    unsubscribe(db, 2)  # its pending row is skipped
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    assert prune_alerts(db, now=later, inactive_days=365) == 4  # 2 rows, 1 body, 1 subscription
    assert db["outbox"].count == 0 and db["outbox_bodies"].count == 0
    assert [s["chat_id"] for s in db["subscriptions"].rows] == [1]
    enqueue_broadcast(db, 2, ["new"])
    assert prune_alerts(db, now=later) == 0 and outbox_counts(db)["pending"] == 1
