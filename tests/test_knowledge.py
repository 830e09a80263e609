"""The knowledge loader and validator, and `careers-bot kb check`."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from app.cli import main
from bot.knowledge import KnowledgeError, load_knowledge
from tests.conftest import write_entry


def problems_of(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root)
    return [str(p) for p in caught.value.problems]


def test_loads_entries_with_their_fields(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    entry = kb.entries["t-level-basics"]
    assert entry.title == "What is a T Level?"
    assert "t levels explained" in entry.questions
    assert entry.reviewed == dt.date(2026, 11, 24)
    assert entry.related == ("apprenticeship-pay",)
    assert entry.sources == ("https://www.gov.uk/t-level-basics",)


def test_duplicate_ids_are_reported_with_both_files(kb_dir: Path) -> None:
    path = write_entry(kb_dir, "copy", "Another", ["something else entirely"])
    path.write_text(path.read_text().replace("id: copy", "id: t-level-basics"))
    found = problems_of(kb_dir)
    assert any("copy.md" in p and "must match the file name" in p for p in found)


def test_missing_field_names_the_file_and_field(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "apprenticeship-pay.md"
    path.write_text(re.sub(r"reviewed: [\d-]+\n", "", path.read_text()))
    assert any("apprenticeship-pay.md" in p and "'reviewed'" in p for p in problems_of(kb_dir))


def test_empty_questions_are_rejected(kb_dir: Path) -> None:
    path = write_entry(kb_dir, "empty", "Empty", ["x"])
    path.write_text(path.read_text().replace("questions:\n  - x\n", "questions: []\n"))
    assert any("empty.md" in p and "'questions'" in p for p in problems_of(kb_dir))


def test_broken_yaml_is_reported(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "bot-help.md"
    path.write_text(path.read_text().replace("tags: [service]", "tags: [service"))
    assert any("bot-help.md" in p and "broken YAML" in p for p in problems_of(kb_dir))


def test_yaml_errors_in_entries_name_the_line_and_column_as_an_editor_shows_them(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "bot-help.md"
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("title:"))
    lines[number - 1] = "title: What: can this bot do?"
    path.write_text("\n".join(lines) + "\n")
    [problem] = [p for p in problems_of(kb_dir) if "bot-help.md" in p]
    assert f"broken YAML front matter at line {number}, column 12:" in problem
    assert "mapping values are not allowed" in problem


def test_yaml_errors_in_data_files_name_the_line_and_column(kb_dir: Path) -> None:
    path = kb_dir / "smalltalk.yaml"
    path.write_text("greetings:\n  - hi\n  bad: [\n")
    [problem] = [p for p in problems_of(kb_dir) if "smalltalk.yaml" in p]
    assert "broken YAML at line " in problem and ", column " in problem


def test_unknown_keys_are_rejected(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "bot-help.md"
    path.write_text(path.read_text().replace("tags:", "colour: blue\ntags:"))
    assert any("unknown key(s): colour" in p for p in problems_of(kb_dir))


def test_bad_dates_are_rejected(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "bot-help.md"
    path.write_text(re.sub(r"reviewed: [\d-]+", "reviewed: 24/11/2026", path.read_text()))
    assert any("bot-help.md" in p and "not a date" in p for p in problems_of(kb_dir))


def test_duplicate_questions_across_entries_are_rejected(kb_dir: Path) -> None:
    write_entry(kb_dir, "t-level-copy", "T Level again", ["What is a T-Level?"])
    assert any("is also in 't-level-basics'" in p for p in problems_of(kb_dir))


def test_a_duplicate_is_reported_in_the_file_just_edited_whatever_their_order(kb_dir: Path) -> None:
    time.sleep(0.01)
    path = write_entry(kb_dir, "a-earlier-in-order", "Another", ["t levels explained"])
    found = [p for p in problems_of(kb_dir) if "t levels explained" in p]
    assert found and all(p.startswith(str(path)) for p in found)
    assert "t-level-basics.md" in found[0]


def test_the_same_question_twice_in_one_entry_is_rejected(kb_dir: Path) -> None:
    write_entry(kb_dir, "twice", "Twice", ["a question", "A question?"])
    assert any("'A question?' is listed twice" in p for p in problems_of(kb_dir))


def test_a_review_date_in_the_future_is_rejected(kb_dir: Path) -> None:
    path = write_entry(kb_dir, "future", "Future", ["a future question"])
    path.write_text(path.read_text().replace("reviewed: 2026-11-24", "reviewed: 2099-01-01"))
    assert any("'reviewed' is in the future" in p for p in problems_of(kb_dir))


def test_related_ids_must_exist(kb_dir: Path) -> None:
    write_entry(kb_dir, "lonely", "Lonely", ["a lonely question"], related=["nowhere"])
    assert any("related id 'nowhere' does not exist" in p for p in problems_of(kb_dir))


def test_sources_must_be_urls(kb_dir: Path) -> None:
    path = kb_dir / "entries" / "bot-help.md"
    path.write_text(path.read_text().replace("https://www.gov.uk/bot-help", "gov dot uk"))
    assert any("not an http(s) URL" in p for p in problems_of(kb_dir))


def test_kb_check_exits_zero_with_a_summary_when_clean(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", str(kb_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 4 entries")
    assert len(out.strip().splitlines()) == 1


def test_kb_check_exits_one_naming_the_broken_file(kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb_dir / "entries" / "bot-help.md").write_text("---\nid: [unclosed\n---\nbody\n")
    assert main(["kb", "check", str(kb_dir)]) == 1
    assert "bot-help.md" in capsys.readouterr().out


def test_a_grade_star_read_as_italics_is_reported_in_its_file(kb_dir: Path) -> None:
    path = write_entry(kb_dir, "top-grades", "Top grades", ["what is the top grade"],
                       body="A Distinction\\* is worth the same as A*A*A* at A level.")
    found = [p for p in problems_of(kb_dir) if "'A*A*A*'" in p]
    assert len(found) == 1 and found[0].startswith(str(path))
    assert "write A\\*A\\*A\\*" in found[0]


def test_every_swallowed_grade_in_an_entry_is_reported(kb_dir: Path) -> None:
    write_entry(kb_dir, "two-grades", "Two grades", ["two starred grades"],
                body="D*D*D* in an Extended Diploma, or A*A* and a B.")
    found = [p for p in problems_of(kb_dir) if "two-grades.md" in p]
    assert len(found) == 2 and "'D*D*D*'" in found[0] and "'A*A*'" in found[1]


def test_escaped_lone_and_bold_grades_pass(kb_dir: Path) -> None:
    write_entry(kb_dir, "fine-grades", "Fine grades", ["grades written well"],
                body="Get A\\*A\\*A\\* or D\\*DD. An A* alone is fine, and so is **A** in maths.")
    assert "fine-grades" in load_knowledge(kb_dir).entries


def test_kb_check_names_the_entry_whose_grade_lost_its_stars(
        kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_entry(kb_dir, "ucas-grades", "UCAS grades", ["ucas points for grades"],
                body="168 points, like A*A*A*.")
    assert main(["kb", "check", str(kb_dir)]) == 1
    assert "ucas-grades.md: Markdown reads the star(s) in 'A*A*A*'" in capsys.readouterr().out
