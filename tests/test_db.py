"""The one SQLite file: its schema, and the lease that keeps refreshes and senders apart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from bot.db import Lease, ensure_db_shape, open_db


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "bot.db")


def test_every_table_is_created_once_and_again_without_harm(tmp_path: Path) -> None:
    db = open_db(tmp_path / "bot.db")
    tables = set(db.table_names())
    ensure_db_shape(db)
    assert set(db.table_names()) == tables
    assert {"users", "unanswered", "map_versions", "outbox", "subscriptions", "leases"} <= tables


def test_every_table_about_a_person_is_keyed_by_chat_id_so_forget_finds_it(
        db: sqlite_utils.Database) -> None:
    personal = [t.name for t in db.tables if "chat_id" in t.columns_dict]
    assert sorted(personal) == ["broadcasts", "outbox", "subscriptions", "users"]


def test_a_lease_keeps_out_a_second_holder_until_released(db: sqlite_utils.Database) -> None:
    bot, cli = Lease("maps-refresh", 60), Lease("maps-refresh", 60)
    assert bot.acquire(db, 1000.0)
    assert not cli.acquire(db, 1001.0)
    bot.release(db)
    assert cli.acquire(db, 1002.0)


def test_an_expired_lease_can_be_taken_over(db: sqlite_utils.Database) -> None:
    assert Lease("outbox", 60).acquire(db, 1000.0)
    assert Lease("outbox", 60).acquire(db, 1061.0)


def test_a_heartbeat_keeps_the_lease_and_fails_once_it_was_taken_over(
        db: sqlite_utils.Database) -> None:
    first, second = Lease("outbox", 60), Lease("outbox", 60)
    assert first.acquire(db, 1000.0)
    assert first.renew(db, 1050.0)
    assert not second.acquire(db, 1100.0)  # renewed until 1110
    assert second.acquire(db, 1111.0)
    assert not first.renew(db, 1112.0)


def test_releasing_someone_elses_lease_does_nothing(db: sqlite_utils.Database) -> None:
    holder, other = Lease("maps-refresh", 60), Lease("maps-refresh", 60)
    holder.acquire(db, 1000.0)
    other.release(db)
    assert not other.acquire(db, 1001.0)


def test_a_lease_of_a_process_that_died_is_taken_over_at_once(db: sqlite_utils.Database) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    db.table("leases").insert({"name": "maps-refresh", "holder": "killed",
                               "host": os.uname().nodename, "pid": int(dead.stdout),
                               "expires_at": 9e12, "heartbeat_at": 1000.0})
    assert Lease("maps-refresh", 60).acquire(db, 1000.0)
