"""careers-bot changes: the change list between two stored versions, as text or CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli import main
from bot.db import open_db
from bot.maps.diff import diff_maps
from bot.maps.model import OccupationMap
from bot.maps.store import save_version
from tests.conftest import REAL_KB
from tests.test_alerts import NEW, OLD, ROUTES, occ


@pytest.fixture(autouse=True)
def stored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Three versions: OLD, NEW, and NEW plus one more occupation."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setenv("CAREERS_BOT_KNOWLEDGE_DIR", str(REAL_KB))
    db = open_db(tmp_path / "bot.db")
    save_version(db, OLD, "bundled:test.jsonl")
    save_version(db, NEW, "api:https://example.test",
                 changes=replace(diff_maps(OLD, NEW), from_version=1, to_version=2))
    newest = OccupationMap.of([*NEW.values(), occ("H", "Pipe fitter", 2, "8")], ROUTES)
    save_version(db, newest, "api:https://example.test",
                 changes=replace(diff_maps(NEW, newest), from_version=2, to_version=3))
    db.close()


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_of_the_latest_change_list_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["changes", "--csv"]) == 0
    [header, only] = rows(capsys.readouterr().out)
    assert header[:3] == ["Route", "Occupation id", "Occupation"]
    assert only[2] == "Pipe fitter" and only[-2:] == ["2", "3"]


def test_csv_between_any_two_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["changes", "--from", "1", "--to", "3", "--csv"]) == 0
    found = rows(capsys.readouterr().out)[1:]
    assert {"Pipe fitter", "Robotics engineer", "Bricklayer"} <= {r[2] for r in found}
    assert {(r[-2], r[-1]) for r in found} == {("1", "3")}


def test_text_for_one_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["changes", "--to", "2", "--route", "construction"]) == 0
    out = capsys.readouterr().out
    assert "Bricklayer" in out and "Robotics engineer" not in out and "<b>" not in out


def test_an_unknown_version_names_the_stored_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["changes", "--from", "9"]) == 1
    assert "there is no maps version 9 (stored versions: 1, 2, 3)" in capsys.readouterr().err
