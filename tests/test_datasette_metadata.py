"""metadata.yml labels the database for Datasette: every table and column, nothing hidden,
and nothing in the database that would need hiding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import yaml

from bot.db import open_db

METADATA = Path(__file__).parent.parent / "metadata.yml"
SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "phone", "email", "username")


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "careers-bot.db")


def tables_described() -> dict[str, Any]:
    metadata = yaml.safe_load(METADATA.read_text(encoding="utf-8"))
    return metadata["databases"]["careers-bot"]["tables"]


def test_every_table_and_column_is_described(db: sqlite_utils.Database) -> None:
    described = tables_described()
    for name in db.table_names():
        assert name in described, f"metadata.yml does not describe the table {name}"
        assert described[name]["description"]
        columns = described[name]["columns"]
        for column in db.table(name).columns_dict:
            assert columns.get(column), f"metadata.yml does not describe {name}.{column}"


def test_nothing_is_hidden(db: sqlite_utils.Database) -> None:
    text = METADATA.read_text(encoding="utf-8")
    assert "hidden" not in text.replace("Nothing is hidden", "")


def test_no_column_could_hold_a_secret_or_contact_details(db: sqlite_utils.Database) -> None:
    for name in db.table_names():
        for column in db.table(name).columns_dict:
            assert not any(word in column.lower() for word in SECRET_WORDS), f"{name}.{column}"


def test_free_text_from_people_is_never_tied_to_a_chat(db: sqlite_utils.Database) -> None:
    assert "chat_id" not in db.table("unanswered").columns_dict
    assert "text" not in db.table("safeguarding_replies").columns_dict
    assert "text" not in db.table("question_counts").columns_dict
