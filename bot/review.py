"""Which entries need a fresh look: an old review, or a figure from before its yearly change.

Two rules, the same for ``careers-bot kb check --stale`` and the monthly reminder to admins:

- **Review age.** An entry whose ``reviewed`` date is more than ``CAREERS_BOT_REVIEW_MAX_AGE_MONTHS``
  calendar months before today (default 6) is due.
- **Time-sensitive figures.** Official figures change on known dates each year:
  money (a ``£`` amount: pay rates, fees, allowances, levy thresholds) on **1 April**, course facts
  (an "as of <month year>" that dates no money: subjects on offer, course details) on
  **1 September**, the start of the academic year. A figure is stale when the date it is stated
  as of falls before the most recent such change day on or before today.

A figure's date is the latest "as of / from / since / in <month year>" (optionally with a day)
in its sentence; failing that, in its paragraph or list; failing that, the entry's ``reviewed``
date. "From" dates after the review are announcements of the future, not dates of a figure, and
are skipped. Money inside quotation marks is an example ("we raised £200"), not a figure.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from bot.knowledge import Entry, Messages
from bot.render import day_in_words, escape

FigureKind = Literal["money", "course"]
CHANGE_MONTH: dict[FigureKind, int] = {"money": 4, "course": 9}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_MONTH = r"(?:" + "|".join(m.capitalize() for m in MONTHS) + r")"
_DATED = re.compile(rf"\b(as of|from|since|in) (?:(\d{{1,2}}) )?({_MONTH}) (\d{{4}})\b", re.I)
_AS_OF = re.compile(rf"\bas of (?:\d{{1,2}} )?{_MONTH} \d{{4}}\b", re.I)
_MONEY = re.compile(r"£\d[\d,]*(?:\.\d\d)?(?: ?(?:million|billion|bn|m|k)\b)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9£\"“(*])")
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”")


@dataclass(frozen=True)
class StaleFigure:
    """A figure stated as of a date before the last day such figures change."""

    entry: Entry
    line: int  # in the entry's file, 1-based (0 when the file is unknown)
    figure: str  # "£8.00" or "as of November 2026"
    kind: FigureKind
    dated: dt.date
    dated_by: str  # what dates it, as written ("as of November 2026", "reviewed 2026-11-25")
    changed: dt.date  # the change day it predates


@dataclass(frozen=True)
class ReviewReport:
    """Everything due for review on ``today``."""

    today: dt.date
    max_age_months: int
    old_reviews: list[Entry] = field(default_factory=list)
    stale_figures: list[StaleFigure] = field(default_factory=list)

    @property
    def review_before(self) -> dt.date:
        """Entries reviewed before this day are due."""
        return months_before(self.today, self.max_age_months)

    @property
    def due_ids(self) -> list[str]:
        """Every entry with something due, sorted."""
        return sorted({e.id for e in self.old_reviews} | {f.entry.id for f in self.stale_figures})

    def __bool__(self) -> bool:
        return bool(self.old_reviews or self.stale_figures)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (31 March − 1 month = 28/29 February)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def last_change(today: dt.date, kind: FigureKind) -> dt.date:
    """The most recent 1 April (money) or 1 September (course facts) on or before ``today``."""
    change = dt.date(today.year, CHANGE_MONTH[kind], 1)
    return change if change <= today else change.replace(year=today.year - 1)


def _dates(text: str, reviewed: dt.date) -> list[tuple[dt.date, str]]:
    """The dates that can date a figure in ``text``: "as of" ones, and past "from/since/in" ones."""
    found = []
    for m in _DATED.finditer(text):
        day = dt.date(int(m.group(4)), MONTHS.index(m.group(3).lower()) + 1, int(m.group(2) or 1))
        if m.group(1).lower() == "as of" or day <= reviewed:
            found.append((day, m.group(0)))
    return found


def _blocks(entry: Entry) -> Iterator[list[tuple[int, str]]]:
    """The body's paragraphs and lists, as (line number in the file, line) pairs."""
    offset = 0
    if entry.path is not None:
        try:
            text = entry.path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        at = text.find(entry.body)
        offset = text.count("\n", 0, at) + 1 if at >= 0 else 0
    block: list[tuple[int, str]] = []
    for number, line in enumerate(entry.body.splitlines()):
        if line.strip():
            block.append((offset + number if offset else 0, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _unquoted_money(sentence: str) -> list[str]:
    quoted = [m.span() for m in _QUOTED.finditer(sentence)]
    return [m.group(0) for m in _MONEY.finditer(sentence)
            if not any(start <= m.start() < end for start, end in quoted)]


def stale_figures(entry: Entry, today: dt.date) -> list[StaleFigure]:
    """The entry's money amounts and "as of" dates stated before their last change day."""
    found = []
    fallback = (entry.reviewed, f"reviewed {entry.reviewed.isoformat()}")
    for block in _blocks(entry):
        block_dates = _dates(" ".join(line for _, line in block), entry.reviewed)
        for number, line in block:
            for sentence in _SENTENCE_END.split(line):
                figures: list[tuple[str, FigureKind, tuple[dt.date, str]]] = []
                money = _unquoted_money(sentence)
                if money:
                    dates = _dates(sentence, entry.reviewed) or block_dates
                    dated = max(dates) if dates else fallback
                    figures = [(amount, "money", dated) for amount in money]
                else:  # an "as of" with no money in its sentence dates a course fact
                    figures = [(m.group(0), "course", _dates(m.group(0), entry.reviewed)[0])
                               for m in _AS_OF.finditer(sentence)]
                for figure, kind, (day, dated_by) in figures:
                    changed = last_change(today, kind)
                    if day < changed:
                        found.append(StaleFigure(entry, number, figure, kind, day, dated_by,
                                                 changed))
    return found


def review_report(entries: Iterable[Entry], today: dt.date, max_age_months: int) -> ReviewReport:
    """Entries reviewed too long ago and figures older than their last change day."""
    report = ReviewReport(today, max_age_months)
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.reviewed < report.review_before:
            report.old_reviews.append(entry)
        report.stale_figures.extend(stale_figures(entry, today))
    return report


def report_lines(report: ReviewReport) -> list[str]:
    """One line per finding, ``file[:line]: what and why``, for ``kb check --stale``."""
    lines = [f"{entry.path or entry.id}: reviewed {entry.reviewed.isoformat()}, more than "
             f"{report.max_age_months} months ago (due if before {report.review_before.isoformat()})"
             for entry in report.old_reviews]
    for figure in report.stale_figures:
        where = f"{figure.entry.path}:{figure.line}" if figure.entry.path else figure.entry.id
        if figure.kind == "money":
            what = (f"{figure.figure}, dated '{figure.dated_by}', predates this year's change of "
                    f"money figures on {day_in_words(figure.changed)}")
        else:
            what = (f"'{figure.figure}' predates this academic year's course changes on "
                    f"{day_in_words(figure.changed)}")
        lines.append(f"{where}: {what}: check it against the sources and restate it")
    return lines


def admin_summary(report: ReviewReport, texts: Messages) -> str | None:
    """The monthly reminder for admins (Telegram HTML), or None when nothing is due."""
    if not report:
        return None
    old = {e.id for e in report.old_reviews}
    lines = []
    for entry_id in report.due_ids:
        reasons = []
        if entry_id in old:
            entry = next(e for e in report.old_reviews if e.id == entry_id)
            reasons.append(texts.message("review_due_old", reviewed=day_in_words(entry.reviewed)))
        figures = [f.figure for f in report.stale_figures if f.entry.id == entry_id]
        if figures:
            reasons.append(texts.message("review_due_figures",
                                         figures=escape(", ".join(dict.fromkeys(figures)))))
        lines.append(texts.message("review_due_line", id=entry_id, reasons="; ".join(reasons)))
    return texts.message("review_due", count=len(lines), months=report.max_age_months,
                         lines="\n".join(lines))
