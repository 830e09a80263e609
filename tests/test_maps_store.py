"""Storing occupational map versions in SQLite: atomic, deduplicated by content, comparable."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils

from bot.db import ensure_db_shape
from bot.maps.diff import diff_maps
from bot.maps.model import OccupationMap
from bot.maps.store import (
    compare_versions,
    current_map,
    ensure_bundled_version,
    latest_version,
    list_versions,
    load_version,
    missing_ids,
    save_version,
    version_changes,
)
from tests.fake_maps_api import plant_changes

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    database = sqlite_utils.Database(tmp_path / "t.db")
    ensure_db_shape(database)
    return database


def relevel(occupation_map: OccupationMap, occupation_id: str, level: int) -> OccupationMap:
    edited = dict(occupation_map)
    edited[occupation_id] = replace(edited[occupation_id], level=level)
    return OccupationMap.of(edited.values(), occupation_map.routes, occupation_map.retrieved_at)


def test_ensuring_the_schema_again_keeps_stored_versions(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "test")
    ensure_db_shape(db)
    ensure_db_shape(db)
    assert {"map_versions", "map_occupations", "map_state", "map_missing"} <= set(
        db.table_names()
    )
    assert db["map_occupations"].count == 1287


def test_empty_database_gets_the_bundled_snapshot_as_version_1(db: sqlite_utils.Database) -> None:
    assert ensure_bundled_version(db) == 1
    version = latest_version(db)
    assert version is not None
    assert (version.version, version.occupations, version.source) == (
        1,
        1287,
        "bundled:occupational-maps-2026-09-11.jsonl",
    )
    assert version.retrieved_at == "2026-09-11T13:08:18+00:00"


def test_bundled_snapshot_is_stored_only_once(db: sqlite_utils.Database) -> None:
    ensure_bundled_version(db)
    assert ensure_bundled_version(db) is None
    assert len(list_versions(db)) == 1


def test_current_map_works_offline_from_an_empty_database(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    assert current_map(db).content_hash() == bundled.content_hash()


def test_saved_version_loads_back_identical(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    version = save_version(db, bundled, "test")
    assert version is not None
    loaded = load_version(db, version)
    assert dict(loaded) == dict(bundled)
    assert loaded.routes == bundled.routes and loaded.retrieved_at == bundled.retrieved_at


def test_unchanged_content_creates_no_new_version(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "first")
    reordered = OccupationMap.of(reversed(list(bundled.values())), bundled.routes)
    assert save_version(db, reordered, "second") is None
    assert len(list_versions(db)) == 1


def test_each_changed_map_is_the_next_version(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    versions = [
        save_version(db, m, "test")
        for m in (bundled, relevel(bundled, "OCC0469", 3), relevel(bundled, "OCC0469", 4))
    ]
    assert versions == [1, 2, 3]


def test_version_keeps_the_change_list_it_was_stored_with(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "test")
    modified = plant_changes(bundled).modified
    changes = replace(diff_maps(bundled, modified), from_version=1, to_version=2)
    save_version(db, modified, "test", changes=changes)
    assert version_changes(db, 2).to_json() == changes.to_json()
    assert (latest_version(db).added, latest_version(db).removed, latest_version(db).changed) == (
        1,
        1,
        3,
    )  # type: ignore[union-attr]


def test_any_two_versions_can_be_compared(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "v1")
    save_version(db, relevel(bundled, "OCC0469", 3), "v2")
    save_version(db, relevel(bundled, "OCC0469", 4), "v3")
    changes = compare_versions(db, 1, 3)
    assert (changes.from_version, changes.to_version) == (1, 3)
    assert [(c.id, dict(c.fields)) for c in changes.changed] == [("OCC0469", {"level": (2, 4)})]


def test_absence_between_stored_versions_is_a_removal(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "v1")
    save_version(db, OccupationMap.of(o for o in bundled.values() if o.id != "OCC0116"), "v2")
    assert compare_versions(db, 1, 2).removed == ("OCC0116",)


def test_loading_an_unknown_version_is_a_key_error(db: sqlite_utils.Database) -> None:
    with pytest.raises(KeyError):
        load_version(db, 42)


def test_error_mid_way_leaves_no_partial_version(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "v1")
    assert list(bundled).index("OCC0568") == 640  # half-way through the insert
    db.execute(
        "CREATE TRIGGER fail_mid_way BEFORE INSERT ON map_occupations WHEN NEW.id = 'OCC0568' "
        "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
    )
    with pytest.raises(Exception, match="disk trouble"):
        save_version(db, relevel(bundled, "OCC0469", 3), "v2")
    assert [v.version for v in list_versions(db)] == [1]
    assert db.execute("SELECT count(*) FROM map_occupations WHERE version = 2").fetchone()[0] == 0


def test_crash_mid_way_leaves_no_partial_version(
    tmp_path: Path, db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "v1")
    script = textwrap.dedent(
        f"""
        import os, sqlite_utils
        from dataclasses import replace
        from bot.maps.model import OccupationMap
        from bot.maps.parse import load_bundled_map
        from bot.maps.store import save_version
        db = sqlite_utils.Database({str(tmp_path / "t.db")!r})
        db.conn.create_function("crash", 0, lambda: os._exit(9))
        db.execute("CREATE TEMP TRIGGER crash_mid_way BEFORE INSERT ON map_occupations "
                   "WHEN NEW.id = 'OCC0568' BEGIN SELECT crash(); END")
        base = load_bundled_map()
        edited = dict(base)
        edited["OCC0469"] = replace(edited["OCC0469"], level=3)
        save_version(db, OccupationMap.of(edited.values()), "v2")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=PROJECT, capture_output=True, timeout=60
    )
    assert result.returncode == 9, result.stderr.decode()
    reopened = sqlite_utils.Database(tmp_path / "t.db")
    assert [v.version for v in list_versions(reopened)] == [1]
    assert reopened.execute("SELECT count(*) FROM map_occupations").fetchone()[0] == 1287


def test_missing_ids_are_replaced_on_each_save(
    db: sqlite_utils.Database, bundled: OccupationMap
) -> None:
    save_version(db, bundled, "v1", missing=["OCC0116", "OCC0152"])
    assert missing_ids(db) == {"OCC0116", "OCC0152"}
    save_version(db, bundled, "unchanged", missing=["OCC0152"])
    assert missing_ids(db) == {"OCC0152"}


