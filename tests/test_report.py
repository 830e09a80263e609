"""careers-bot kb report: one self-contained HTML page, checked by parsing it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlite_utils

from app.cli import main
from bot.db import open_db, open_db_readonly
from bot.feedback import record_rating, record_reply
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.report import ReportData, collect, render_report
from bot.usage import log_unanswered

NOW = dt.datetime.now(dt.UTC)


class Page(HTMLParser):
    """The parts of the page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self.sections: list[str] = []
        self.text: dict[str, list[str]] = {}
        self._section = ""
        self._in_h2 = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "section":
            self._section = dict(attrs).get("id") or ""
            self.sections.append(self._section)
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
        if self._section and data.strip():
            self.text.setdefault(self._section, []).append(data.strip())

    def words(self, section: str) -> str:
        return " ".join(self.text.get(section, []))


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "bot.db")


@pytest.fixture
def kb(kb_dir: Path) -> KnowledgeBase:
    return load_knowledge(kb_dir)


def seed(db: sqlite_utils.Database) -> None:
    for kind, entry in [("answer", "t-level-basics")] * 4 + [("answer", "apprenticeship-pay"),
                                                                ("clarify", None), ("fallback", None),
                                                                ("occupation", None)]:
        record_reply(db, kind, entry)
    for helpful in (True, True, False):
        record_rating(db, "t-level-basics", helpful)
    record_rating(db, "apprenticeship-pay", False)
    for text in ("can i be a pilot", "can I be a pilot?", "<script>alert(1)</script>"):
        log_unanswered(db, text, 10.0)


def report_of(db: sqlite_utils.Database, kb: KnowledgeBase, **kwargs: int) -> Page:
    return Page(render_report(collect(db, kb, **kwargs)))


def test_the_page_has_the_five_sections_in_order(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    page = report_of(db, kb)
    assert page.sections == ["replies", "unanswered", "helpful", "never-shown", "review"]
    assert page.headings == ["Replies per week", "Top unanswered questions",
                             "Helpful ratio per entry", "Entries never shown",
                             "Entries due for review"]


def test_it_is_self_contained_no_scripts_and_nothing_to_fetch(
        db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    page = report_of(db, kb)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    for _, attrs in page.tags:
        for name in ("src", "href"):
            assert not (attrs.get(name) or "#").startswith(("http", "//")), attrs


def test_charts_are_inline_svg_that_parses_with_unique_ids(
        db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    text = render_report(collect(db, kb))
    svgs = re.findall(r"<svg\b.*?</svg>", text, re.S)
    assert len(svgs) == 2
    for svg in svgs:
        assert ET.fromstring(svg).tag.endswith("svg")
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    assert "t-level-basics (3)" in svgs[1]  # the helpful chart labels entries with their ratings


def test_replies_per_week_count_each_kind(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    words = report_of(db, kb).words("replies")
    assert "Answers" in words and "Clarifications" in words and "Fallbacks" in words
    assert "Answers Occupation cards Clarifications" in words
    assert re.search(r"\d{4}-\d\d-\d\d 5 1 1 1 8", words)  # answers, cards, clarify, fallback, total


def test_unanswered_groups_say_what_happened(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    log_unanswered(db, "is it any good", 40.0, outcome="not_helpful", entry_id="t-level-basics")
    assert "Not helpful ×1" in report_of(db, kb).words("unanswered")


def test_unanswered_groups_most_asked_first_and_escaped(
        db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    text = render_report(collect(db, kb))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    words = Page(text).words("unanswered")
    assert words.index("can i be a pilot") < words.index("<script>")
    assert "2 can i be a pilot" in words


def test_helpful_ratio_lists_the_worst_entry_first(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    words = report_of(db, kb).words("helpful")
    assert words.index("apprenticeship-pay") < words.index("t-level-basics")
    assert "0 1 0%" in words and "2 1 67%" in words


def test_entries_never_shown_and_due_for_review(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    seed(db)
    page = report_of(db, kb, review_after_months=0)
    never = page.words("never-shown")
    assert "apprenticeship-duration" in never and "bot-help" in never
    assert "t-level-basics" not in never
    assert "apprenticeship-pay" in page.words("review")
    assert "No entry is due for review" in report_of(db, kb, review_after_months=1000).words("review")


def test_review_is_due_by_the_reviewed_front_matter_as_in_stats(
        db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    later = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)  # the small knowledge base was reviewed 2026-11-24
    data = collect(db, kb, now=later, review_after_months=6)
    assert [days for _, days in data.due_for_review()] == [189] * len(kb.entries)
    assert collect(db, kb, now=later, review_after_months=7).due_for_review() == []


def test_an_empty_database_says_there_is_nothing_yet(db: sqlite_utils.Database, kb: KnowledgeBase) -> None:
    page = report_of(db, kb)
    assert "No replies recorded" in page.words("replies")
    assert "No unanswered questions logged" in page.words("unanswered")
    assert "No entry has been rated yet" in page.words("helpful")
    assert not any(tag == "svg" for tag, _ in page.tags)


def test_the_report_only_reads_the_database(tmp_path: Path, kb: KnowledgeBase) -> None:
    db = open_db(tmp_path / "bot.db")
    seed(db)
    db.close()
    before = hashlib.sha256((tmp_path / "bot.db").read_bytes()).hexdigest()
    reader = open_db_readonly(tmp_path / "bot.db")
    render_report(collect(reader, kb))
    with pytest.raises(Exception, match="readonly"):
        reader.execute("CREATE TABLE sneaky (x)")
    reader.close()
    assert hashlib.sha256((tmp_path / "bot.db").read_bytes()).hexdigest() == before


def test_a_section_that_cannot_be_read_says_so(kb: KnowledgeBase) -> None:
    data = ReportData(NOW, (), (), (), {}, {}, unavailable={"helpful": "no such table: ratings"})
    assert "Not available from this database (no such table: ratings)" in Page(
        render_report(data)).words("helpful")


def test_kb_report_writes_the_page(tmp_path: Path, kb_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAREERS_BOT_DATABASE_PATH", str(tmp_path / "bot.db"))
    monkeypatch.setenv("CAREERS_BOT_KNOWLEDGE_DIR", str(kb_dir))
    assert main(["kb", "report", "-o", str(tmp_path / "r.html")]) == 1  # no database yet
    assert "no database" in capsys.readouterr().err
    seed(open_db(tmp_path / "bot.db"))
    assert main(["kb", "report", "-o", str(tmp_path / "r.html")]) == 0
    assert Page((tmp_path / "r.html").read_text()).headings[0] == "Replies per week"
