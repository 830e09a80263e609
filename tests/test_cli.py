"""The `careers-bot` command line: ask, ask from stdin, eval and kb misses."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.cli import main
from bot.db import open_db
from bot.usage import log_unanswered
from tests.conftest import REAL_KB

JSON_KEYS = ["kind", "id", "score", "candidates", "text"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setenv("CAREERS_BOT_KNOWLEDGE_DIR", str(REAL_KB))
    return tmp_path


def test_ask_json_answers_a_misspelt_t_level_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "wot is a tlevel", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert list(reply) == JSON_KEYS
    assert (reply["kind"], reply["id"]) == ("answer", "t-level-basics")
    assert 0 <= reply["score"] <= 100 and reply["candidates"][0] == "t-level-basics"


def test_ask_json_finds_an_electrician(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "how do i become an electrician", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["kind"] == "occupation"
    assert reply["id"] == "OCC0152"


def test_ask_json_dash_reads_one_question_per_line(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("apprentice pay\n\nwhere is the nearest pizza place\ni want to die\n"))
    assert main(["ask", "--json", "-"]) == 0
    replies = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in replies] == ["answer", "fallback", "safeguarding"]
    assert replies[0]["id"] == "apprenticeship-pay"


def test_eval_prints_accuracy_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"q": "apprentice pay", "expect": "apprenticeship-pay"}\n'
                     '{"q": "what is 2+2", "expect": "none"}\n'
                     '{"q": "i want to die", "expect": "safeguarding"}\n')
    assert main(["eval", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "topic top-1: 100.0% (1/1)" in out
    assert "abstention on none: 100.0% (1/1)" in out
    assert "safeguarding caught: 100.0% (1/1)" in out


def test_eval_lists_the_misses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"q": "apprentice pay", "expect": "t-level-basics"}\n')
    main(["eval", str(cases)])
    assert "'apprentice pay': expected t-level-basics, got answer apprenticeship-pay" in capsys.readouterr().out


def test_kb_misses_groups_similar_questions_most_frequent_first(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_db(isolated / "bot.db")
    for text in ("can i be a pilot", "can I be a pilot?", "can i be a pilott", "who won the match"):
        log_unanswered(db, text, 10.0)
    assert main(["kb", "misses"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip().startswith("3 × 'can i be a pilot'")
    assert any("1 × 'who won the match'" in line for line in lines)


@pytest.mark.parametrize(("content", "says"), [
    (None, "no such file"),
    ('{"q": "hi"}\n', ":1: not a"),
    ("not json\n", ":1: not a"),
])
def test_eval_with_a_missing_or_malformed_file_says_so_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, says: str) -> None:
    path = tmp_path / "cases.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


def test_eval_exits_1_when_a_floor_is_missed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"q": "where is the nearest pizza place", "expect": "apprenticeship-pay"}\n')
    assert main(["eval", str(path), "--min-topic", "0.5"]) == 1
    assert "FLOOR MISSED" in capsys.readouterr().err


def test_ask_loads_neither_telegram_nor_the_http_client(tmp_path: Path) -> None:
    """`careers-bot ask` starts fast: it imports only what answering needs (checked in a fresh
    interpreter, since this one has imported everything)."""
    import os
    import subprocess
    import sys

    from bot.config import PROJECT_ROOT

    probe = ("import sys; from app.cli import main; main(['ask', 'what is a t level', '--json']); "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'telegram', 'httpx', 'rich'}))")
    env = {**os.environ, "CAREERS_BOT_DATABASE_PATH": str(tmp_path / "bot.db"),
           "CAREERS_BOT_CACHE_DIR": str(PROJECT_ROOT / "data" / "cache"),
           "CAREERS_BOT_KNOWLEDGE_DIR": str(REAL_KB)}
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
