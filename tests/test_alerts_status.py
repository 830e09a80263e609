"""Where the maps stand for advisers: the timeline, a fresh install's overview, the CSV export,
and a queued digest that follows its subscriber's routes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

from bot.alerts.digest import MapContext, source_name
from bot.alerts.export import changes_csv
from bot.alerts.outbox import (
    current_digest,
    due_items,
    enqueue_digests,
    last_digest_sent_at,
    part_sent,
)
from bot.alerts.status import (
    map_overview_text,
    map_timeline,
    maps_in_use_text,
    next_digest,
    recent_status_changes,
    route_level_counts,
    timeline_text,
)
from bot.alerts.subscriptions import subscribe
from bot.db import open_db
from bot.knowledge import bundled_messages
from bot.maps.diff import diff_maps
from bot.maps.model import OccupationMap
from bot.maps.parse import parse_snapshot_lines, snapshot_lines
from jobs.refresh import next_refresh_at
from tests.test_alerts import NEW, OLD, ROUTES, changes, context, occ, stored_refresh

TEXTS = bundled_messages()


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "status.db")


# --- a queued digest follows the subscriber's routes --------------------------------------------


def queued_for(db: sqlite_utils.Database, chat_id: int, routes: list[str] | None) -> None:
    report = stored_refresh(db)
    subscribe(db, chat_id, routes)
    assert enqueue_digests(db, report.changes, titles=report.titles, source=report.source) == 1


def test_a_queued_digest_is_rerendered_for_routes_chosen_since(db: sqlite_utils.Database) -> None:
    queued_for(db, 1, ["7"])  # Digital: the software developer's T Level
    subscribe(db, 1, ["8"])  # now Engineering and manufacturing
    [item] = due_items(db, 10)
    assert "Software developer" in item.parts[0]
    assert current_digest(db, item)
    assert "Robotics engineer" in item.parts[0] and "Software developer" not in item.parts[0]
    [again] = due_items(db, 10)  # a resumed send uses the new body too
    assert again.parts == item.parts and again.routes_key == "8"


def test_a_queued_digest_is_skipped_when_nothing_changed_on_the_new_routes(
        db: sqlite_utils.Database) -> None:
    queued_for(db, 1, ["7"])
    subscribe(db, 1, ["99"])
    [item] = due_items(db, 10)
    assert not current_digest(db, item)
    assert db.execute("SELECT state, reason FROM outbox").fetchone() == (
        "skipped", "routes changed: nothing new on them")


def test_a_digest_already_partly_sent_is_left_as_it_was(db: sqlite_utils.Database) -> None:
    queued_for(db, 1, ["7"])
    subscribe(db, 1, ["8"])
    [item] = due_items(db, 10)
    item.parts_sent = 1
    before = list(item.parts)
    assert current_digest(db, item) and item.parts == before


def test_an_unchanged_subscription_keeps_the_queued_digest(db: sqlite_utils.Database) -> None:
    queued_for(db, 1, ["7"])
    [item] = due_items(db, 10)
    before = list(item.parts)
    assert current_digest(db, item) and item.parts == before


def test_the_last_digest_sent_is_remembered(db: sqlite_utils.Database) -> None:
    queued_for(db, 1, None)
    assert last_digest_sent_at(db) is None
    [item] = due_items(db, 10)
    part_sent(db, item.id, len(item.parts), len(item.parts))
    assert last_digest_sent_at(db) is not None
    assert "Last alert sent to advisers: none yet" not in timeline_text(
        map_timeline(db, None), TEXTS, "Europe/London")


def test_next_digest_names_a_queued_version_or_the_version_compared_with(
        db: sqlite_utils.Database) -> None:
    queued_for(db, 1, None)
    assert next_digest(db, 1).queued_version == 2
    subscribe(db, 2, None)
    upcoming = next_digest(db, 2)
    assert upcoming.queued_version is None and upcoming.since_version == 2


# --- a fresh install: what the maps hold -----------------------------------------------------------


def test_counts_per_route_and_level_follow_the_maps_route_order() -> None:
    counts = route_level_counts(NEW)
    assert [c.route_id for c in counts] == [r.id for r in ROUTES if r.id in {"5", "7", "8"}]
    assert {c.route_id: c.by_level for c in counts}["8"] == ((2, 1), (3, 1), (4, 1), (6, 1))


def test_recent_status_changes_only_where_the_data_carries_a_date() -> None:
    dated = OccupationMap.of([
        occ("A", "Bricklayer", 2, "5", status_updated="2026-05-01"),
        occ("B", "Software developer", 4, "7"),
        occ("C", "Welder", 3, "8", status_updated="2026-08-01"),
    ], ROUTES)
    assert [o.id for o in recent_status_changes(dated.values())] == ["C", "A"]
    assert recent_status_changes(OLD.values()) == []
    assert "carries no dates" in map_overview_text(OLD, TEXTS, "Europe/London")
    assert "status last updated 1 August 2026" in map_overview_text(dated, TEXTS, "Europe/London")


def test_a_new_status_date_alone_is_no_change_and_survives_a_snapshot() -> None:
    dated = OccupationMap.of([replace(o, status_updated="2026-08-01") for o in OLD.values()],
                             ROUTES)
    assert not len(diff_maps(OLD, dated))
    [first, *_] = parse_snapshot_lines(list(snapshot_lines(dated))).values()
    assert first.status_updated == "2026-08-01"


def test_sources_are_named_in_words_never_as_file_names() -> None:
    for source in ("bundled:occupational-maps-2026-09-11.jsonl", "/srv/maps/snapshot.jsonl",
                   "https://example.test/maps.jsonl"):
        words = source_name(source, TEXTS)
        assert ".jsonl" not in words and ":" not in words and "/" not in words


def test_the_next_refresh_comes_from_the_cron() -> None:
    now = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
    when = next_refresh_at("0 6 4 1,4,7,10 *", "Europe/London", now)
    assert when is not None and (when.month, when.day, when.hour) == (1, 4, 6)
    assert next_refresh_at("not a cron", "Europe/London", now) is None


# --- the change list as CSV ------------------------------------------------------------------------


def test_the_change_list_as_csv_has_one_row_per_occupation_and_route() -> None:
    text, count = changes_csv(changes(), context(), TEXTS)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == TEXTS.get("changes_csv_columns") and len(rows) == count + 1
    by_title = {(r[0], r[2]): r for r in rows[1:]}
    assert by_title[("Engineering and manufacturing", "Robotics engineer")][4] == "New"
    assert by_title[("Engineering and manufacturing", "Loom tuner")][4] == "Retired"
    # The occupation that moved is listed on both routes, as in the digest.
    assert {r[0] for r in rows[1:] if r[2] == "Cyber security analyst"} == {
        "Digital", "Engineering and manufacturing"}
    assert all("<" not in cell for row in rows for cell in row)  # plain text, no HTML


def test_csv_for_one_route_and_formula_cells_are_defused() -> None:
    text, count = changes_csv(changes(), context(), TEXTS, frozenset({"5"}))
    assert count == 1 and "Bricklayer" in text
    risky = OccupationMap.of([*OLD.values(), occ("Z", "=HYPERLINK(1)", 2, "5")], ROUTES)
    found = replace(diff_maps(OLD, risky), from_version=1, to_version=2)
    text, _ = changes_csv(found, MapContext.from_maps(OLD, risky, version=2, previous=1), TEXTS)
    assert "'=HYPERLINK(1)" in text


def test_maps_from_the_api_are_dated_as_served_not_published(db: sqlite_utils.Database) -> None:
    stored_refresh(db)  # version 2 came from the API
    text = maps_in_use_text(map_timeline(db, None), TEXTS, "Europe/London")
    assert "from the Skills England API, as served on 11 December 2026" in text
