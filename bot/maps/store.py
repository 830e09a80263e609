"""Every accepted occupational map version, kept in SQLite so any two can be compared later.

Tables (their shape is in :mod:`bot.db`):
- ``map_versions``: one row per accepted version: when and where it came from, its content hash,
  counts, its routes and the change list from the version before it.
- ``map_occupations``: the occupations of every version (``json`` holds the whole record; a few
  columns are copied out for browsing in any SQLite tool).
- ``map_state``: key/value bookkeeping such as ``last_success_at`` and ``last_status``.
- ``map_missing``: occupations absent from the latest pull, for the two-pulls-in-a-row rule
  (:mod:`bot.maps.diff`).

Writes that must land together use :func:`bot.db.write_transaction`: ``BEGIN IMMEDIATE`` takes
the write lock before reading the latest hash, so two processes cannot both decide to add
"version 2", and a crash or error mid-way rolls everything back (no partial version).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.db import iso, utcnow, write_transaction
from bot.maps.diff import ChangeList, diff_maps
from bot.maps.model import BUNDLED_DIR, MapsError, Occupation, OccupationMap, Route
from bot.maps.parse import bundled_snapshot_path, load_bundled_map


class StaleBaseError(MapsError):
    """The map changed under a refresh: its change list no longer describes the step."""


# --- versions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapVersion:
    """A stored version's metadata (load its occupations with :func:`load_version`)."""

    version: int
    fetched_at: str
    retrieved_at: str | None
    source: str
    content_hash: str
    occupations: int
    added: int
    removed: int
    changed: int


def _version_of(row: Mapping[str, Any]) -> MapVersion:
    return MapVersion(
        version=row["version"],
        fetched_at=row["fetched_at"],
        retrieved_at=row["retrieved_at"],
        source=row["source"],
        content_hash=row["content_hash"],
        occupations=row["occupations"],
        added=row["added"],
        removed=row["removed"],
        changed=row["changed"],
    )


def latest_version(db: sqlite_utils.Database) -> MapVersion | None:
    """The newest stored version, or None on an empty database."""
    rows = list(db.table("map_versions").rows_where(order_by="version desc", limit=1))
    return _version_of(rows[0]) if rows else None


def list_versions(db: sqlite_utils.Database) -> list[MapVersion]:
    """Every stored version, oldest first."""
    return [_version_of(r) for r in db.table("map_versions").rows_where(order_by="version")]


def version_info(db: sqlite_utils.Database, version_id: int) -> MapVersion | None:
    """One stored version's metadata, or None if there is no such version."""
    rows = list(db.table("map_versions").rows_where("version = ?", [version_id]))
    return _version_of(rows[0]) if rows else None


def changed_versions(db: sqlite_utils.Database, after: int = 0) -> list[MapVersion]:
    """Versions newer than ``after`` that changed anything, oldest first."""
    return [_version_of(r) for r in db.table("map_versions").rows_where(
        "version > ? AND added + removed + changed > 0", [after], order_by="version")]


def latest_routes(db: sqlite_utils.Database) -> list[Route]:
    """The routes of the newest stored version (empty on an empty database)."""
    rows = list(db.table("map_versions").rows_where(select="routes_json", order_by="version desc",
                                                    limit=1))
    return [Route(**r) for r in json.loads(rows[0]["routes_json"] or "[]")] if rows else []


def save_version(
    db: sqlite_utils.Database,
    occupation_map: OccupationMap,
    source: str,
    *,
    changes: ChangeList | None = None,
    missing: Collection[str] | None = None,
    now: dt.datetime | None = None,
    base: int | None = None,
) -> int | None:
    """Store the map as a new version in one transaction; None if its hash equals the latest.

    ``missing`` (ids absent from this pull for the first time) replaces the missing-occupation
    bookkeeping in the same transaction, also when the content is unchanged. ``base`` is the
    version the change list was worked out against: if another process stored a newer one
    meanwhile, :class:`StaleBaseError` is raised and nothing is written.
    """
    now = now or utcnow()
    content_hash = occupation_map.content_hash()
    with write_transaction(db):
        latest = latest_version(db)
        if base is not None and latest is not None and latest.version != base:
            raise StaleBaseError(
                f"version {latest.version} was stored while this refresh compared with version "
                f"{base}")
        next_version = (latest.version + 1) if latest else 1
        if missing is not None:
            _replace_missing(db, missing, next_version if latest is None else latest.version, now)
        if latest is not None and latest.content_hash == content_hash:
            return None
        changes = changes or ChangeList()
        db.table("map_versions").insert(
            {
                "version": next_version,
                "fetched_at": iso(now),
                "retrieved_at": occupation_map.retrieved_at,
                "source": source,
                "content_hash": content_hash,
                "occupations": len(occupation_map),
                "routes": len(occupation_map.routes),
                "added": len(changes.added),
                "removed": len(changes.removed),
                "changed": len(changes.changed),
                "routes_json": json.dumps([r.__dict__ for r in occupation_map.routes]),
                "changes_json": json.dumps(
                    {**changes.to_json(), "missing": list(changes.missing)}, ensure_ascii=False
                ),
            }
        )
        db.table("map_occupations").insert_all(
            (
                {
                    "version": next_version,
                    "id": o.id,
                    "title": o.title,
                    "level": o.level,
                    "route_id": o.route_id,
                    "status": o.status_name,
                    "json": json.dumps(o.to_dict(), ensure_ascii=False),
                }
                for o in occupation_map.values()
            ),
            batch_size=500,
        )
        return next_version


def load_version(db: sqlite_utils.Database, version_id: int) -> OccupationMap:
    """The map exactly as stored for ``version_id`` (KeyError if there is no such version)."""
    rows = list(db.table("map_versions").rows_where("version = ?", [version_id]))
    if not rows:
        raise KeyError(f"no occupational map version {version_id}")
    meta = rows[0]
    routes = [Route(**r) for r in json.loads(meta["routes_json"] or "[]")]
    occupations = [
        Occupation.from_dict(json.loads(row["json"]))
        for row in db.table("map_occupations").rows_where("version = ?", [version_id], select="json")
    ]
    return OccupationMap.of(occupations, routes, meta["retrieved_at"])


def version_changes(db: sqlite_utils.Database, version_id: int) -> ChangeList:
    """The change list stored with a version (what changed since the version before it), with
    ``to_version`` set (KeyError if there is no such version)."""
    rows = list(db.table("map_versions").rows_where("version = ?", [version_id], select="changes_json"))
    if not rows:
        raise KeyError(f"no occupational map version {version_id}")
    changes = ChangeList.from_json(json.loads(rows[0]["changes_json"] or "{}"))
    return changes if changes.to_version is not None else replace(changes, to_version=version_id)


def latest_changes(db: sqlite_utils.Database) -> ChangeList | None:
    """The change list of the newest version that changed anything (None if there is none)."""
    versions = changed_versions(db)
    return version_changes(db, versions[-1].version) if versions else None


def compare_versions(db: sqlite_utils.Database, old_version: int, new_version: int) -> ChangeList:
    """A fresh diff between any two stored versions (no absence rule: both are complete maps)."""
    changes = diff_maps(load_version(db, old_version), load_version(db, new_version))
    # Across stored versions an absence is final: report it as a removal.
    return ChangeList(
        changes.added,
        tuple(sorted((*changes.removed, *changes.missing))),
        changes.changed,
        (),
        old_version,
        new_version,
    )


def ensure_bundled_version(db: sqlite_utils.Database, maps_dir: Path = BUNDLED_DIR) -> int | None:
    """On an empty database, store the bundled snapshot as version 1; otherwise do nothing."""
    if latest_version(db) is not None:
        return None
    bundled = load_bundled_map(maps_dir)
    return save_version(db, bundled, f"bundled:{bundled_snapshot_path(maps_dir).name}")


def current_map(db: sqlite_utils.Database, maps_dir: Path = BUNDLED_DIR) -> OccupationMap:
    """The latest stored map, storing the bundled snapshot first on an empty database."""
    ensure_bundled_version(db, maps_dir)
    latest = latest_version(db)
    assert latest is not None
    return load_version(db, latest.version)


# --- bookkeeping ----------------------------------------------------------------------------


def get_state(db: sqlite_utils.Database, key: str) -> str | None:
    """One ``map_state`` value, or None if never set."""
    rows = list(db.table("map_state").rows_where("key = ?", [key], select="value"))
    return rows[0]["value"] if rows else None


def set_state(
    db: sqlite_utils.Database, values: Mapping[str, str | None], now: dt.datetime | None = None
) -> None:
    """Set several ``map_state`` values together."""
    stamp = iso(now or utcnow())
    with write_transaction(db):
        db.table("map_state").upsert_all(
            [{"key": k, "value": v, "updated_at": stamp} for k, v in values.items()], pk="key"
        )


def state_time(db: sqlite_utils.Database, key: str) -> dt.datetime | None:
    """A ``map_state`` timestamp as an aware datetime."""
    value = get_state(db, key)
    return dt.datetime.fromisoformat(value) if value else None


def missing_ids(db: sqlite_utils.Database) -> frozenset[str]:
    """Occupations absent from the latest accepted pull (candidates for removal next time)."""
    return frozenset(row["id"] for row in db.table("map_missing").rows)


def _replace_missing(
    db: sqlite_utils.Database, ids: Collection[str], version: int, now: dt.datetime
) -> None:
    keep = set(ids)
    previous = {row["id"]: row for row in db.table("map_missing").rows}
    for gone in previous.keys() - keep:
        db.table("map_missing").delete(gone)
    db.table("map_missing").insert_all(
        [
            {"id": i, "since_version": version, "since_at": iso(now)}
            for i in sorted(keep - previous.keys())
        ],
        pk="id",
    )
