"""``careers-bot kb report``: one self-contained HTML page that tells maintainers what to work on.

Sections, in order:

1. Replies per week: answers, clarifications ("Did you mean…?"), fallbacks ("I don't know"),
   occupation cards and any other kind, as stacked bars and a table
   (:func:`bot.feedback.replies_per_week`).
2. Top unanswered questions, grouped by similar wording (:func:`bot.usage.unanswered_questions`
   grouped by :func:`bot.misses.group_misses`).
3. Helpful ratio per entry, from the Helpful / Not helpful buttons, worst first
   (:func:`bot.feedback.helpful_ratios`).
4. Entries never shown (:func:`bot.feedback.entries_shown`).
5. Entries due for review: reviewed longer ago than the review interval, or with a stale figure: the same
   rule as ``/stats`` and ``kb check --stale`` (:func:`bot.review.review_report`).

The page has no scripts, no links to fetch and no server: charts are inline SVG drawn with
matplotlib, styles are inline. The report only reads the database (:func:`collect`); each
section says so when there is nothing to show yet.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlite_utils

from bot.config import REVIEW_MAX_AGE_MONTHS
from bot.knowledge import KnowledgeBase
from bot.misses import MissGroup, group_misses
from bot.review import review_report
from bot.usage import unanswered_questions

WEEKS = 26
TOP_MISSES = 20
CHART_ENTRIES = 25
KIND_NAMES = {  # the order of bot.feedback.REPORTED_KINDS
    "answer": "Answers",
    "occupation": "Occupation cards",
    "clarify": "Clarifications (Did you mean…?)",
    "fallback": "Fallbacks (I don't know)",
}
OUTCOME_NAMES = {"fallback": "I don't know", "none_of_these": "None of these",
                 "not_helpful": "Not helpful"}
COLOURS = ("#1b6ca8", "#f2a93b", "#c0392b", "#2e8b57", "#7d5ba6", "#7f8c8d", "#16a085", "#d35400")

T = TypeVar("T")


@dataclass(frozen=True)
class EntryInfo:
    id: str
    title: str
    reviewed: dt.date


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, read from the database and the knowledge base.

    A section whose data could not be read (an older database without the feedback tables) has
    its reason in ``unavailable``."""

    generated_at: dt.datetime
    entries: tuple[EntryInfo, ...]
    weeks: tuple[tuple[str, Mapping[str, int]], ...]
    misses: tuple[MissGroup, ...]
    ratings: Mapping[str, tuple[int, int]]
    shown: Mapping[str, int]
    due: tuple[str, ...] = ()
    review_after_months: int = REVIEW_MAX_AGE_MONTHS
    unavailable: Mapping[str, str] | None = None

    @property
    def kinds(self) -> list[str]:
        """Reply kinds in a fixed order: the known ones first, then the rest alphabetically."""
        seen = {kind for _, counts in self.weeks for kind in counts}
        return [k for k in KIND_NAMES if k in seen] + sorted(seen - KIND_NAMES.keys())

    def never_shown(self) -> list[EntryInfo]:
        return [e for e in self.entries if not self.shown.get(e.id)]

    def due_for_review(self) -> list[tuple[EntryInfo, int]]:
        """(entry, days since its review) for the entries due, oldest review first."""
        today = self.generated_at.date()
        due = [(e, (today - e.reviewed).days) for e in self.entries if e.id in self.due]
        return sorted(due, key=lambda item: (-item[1], item[0].id))


def _read(name: str, read: Callable[[], T], empty: T, problems: dict[str, str]) -> T:
    """One section's data; an unreadable one (no such table yet) becomes empty, with the reason."""
    try:
        return read()
    except Exception as exc:  # a report with one section missing beats no report
        problems[name] = f"{type(exc).__name__}: {exc}"
        return empty


def collect(db: sqlite_utils.Database, kb: KnowledgeBase, *, now: dt.datetime | None = None,
            weeks: int = WEEKS, review_after_months: int = REVIEW_MAX_AGE_MONTHS) -> ReportData:
    """Read what the report needs (reading only: nothing is created or written)."""
    from bot import feedback

    moment = now or dt.datetime.now(dt.UTC)
    problems: dict[str, str] = {}
    no_weeks: list[tuple[str, dict[str, int]]] = []
    no_misses: list[MissGroup] = []
    no_ratings: dict[str, tuple[int, int]] = {}
    no_counts: dict[str, int] = {}
    per_week = _read("replies", lambda: feedback.replies_per_week(db), no_weeks, problems)
    first_week = (moment.date() - dt.timedelta(weeks=weeks)).isoformat()
    return ReportData(
        generated_at=moment,
        entries=tuple(EntryInfo(e.id, e.title, e.reviewed)
                      for e in sorted(kb.entries.values(), key=lambda e: e.id)),
        weeks=tuple((week, counts) for week, counts in per_week if week >= first_week),
        misses=tuple(_read("unanswered", lambda: group_misses(unanswered_questions(db)), no_misses,
                           problems)),
        ratings=_read("helpful", lambda: feedback.helpful_ratios(db), no_ratings, problems),
        shown=_read("never-shown", lambda: feedback.entries_shown(db), no_counts, problems),
        due=tuple(review_report(kb.entries.values(), moment.date(), review_after_months).due_ids),
        review_after_months=review_after_months,
        unavailable=problems,
    )


# --- charts ----------------------------------------------------------------------------------


def _svg(figure: Any, prefix: str, label: str) -> str:
    """A matplotlib figure as an inline ``<svg>``: no XML prolog, ids made unique to the chart,
    text kept as text (searchable, and readable by screen readers with the label)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["svg.hashsalt"] = "careers-bot"
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def weekly_chart(data: ReportData) -> str:
    """Stacked bars: replies of each kind per week."""
    figure = _figure(9, 3.6)
    axes = figure.subplots()
    labels = [week for week, _ in data.weeks]
    positions = list(range(len(labels)))
    bottom = [0] * len(labels)
    for index, kind in enumerate(data.kinds):
        values = [counts.get(kind, 0) for _, counts in data.weeks]
        axes.bar(positions, values, bottom=bottom, label=KIND_NAMES.get(kind, kind.capitalize()),
                 color=COLOURS[index % len(COLOURS)])
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_xticks(positions, labels)
    axes.set_ylabel("replies")
    axes.set_xlabel("week starting")
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return _svg(figure, "weekly", "Replies per week by kind")


def helpful_chart(rows: Sequence[tuple[str, int, int]]) -> str:
    """Horizontal bars: the share of Helpful taps per entry (worst at the top)."""
    shown = list(rows[:CHART_ENTRIES])
    from matplotlib.ticker import PercentFormatter

    figure = _figure(8, 0.3 * len(shown) + 1)
    axes = figure.subplots()
    names = [f"{entry} ({helpful + unhelpful})" for entry, helpful, unhelpful in shown]
    ratios = [helpful / (helpful + unhelpful) for _, helpful, unhelpful in shown]
    positions = list(range(len(names)))
    axes.barh(positions, ratios, color=[COLOURS[2] if r < 0.5 else COLOURS[0] for r in ratios])
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_xlabel("share of ratings that said Helpful (number of ratings in brackets)")
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, "helpful", "Helpful ratio per entry, worst first")


# --- the page --------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem;
       color: #222; }
h1 { margin-bottom: 0; } header p { color: #555; margin-top: .25rem; }
nav a { margin-right: 1rem; }
section { margin-top: 2.5rem; }
table { border-collapse: collapse; margin-top: 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .8rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #666; font-style: italic; }
svg { max-width: 100%; height: auto; }
"""

SECTIONS = (
    ("replies", "Replies per week"),
    ("unanswered", "Top unanswered questions"),
    ("helpful", "Helpful ratio per entry"),
    ("never-shown", "Entries never shown"),
    ("review", "Entries due for review"),
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]],
           numeric: frozenset[int] = frozenset()) -> str:
    def cell(tag: str, index: int, value: object) -> str:
        css = ' class="n"' if index in numeric else ""
        return f"<{tag}{css}>{_e(value)}</{tag}>"

    header = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def _replies(data: ReportData) -> str:
    if not data.weeks:
        return _empty("No replies recorded in these weeks yet.")
    kinds = data.kinds
    rows = [[week, *(counts.get(k, 0) for k in kinds), sum(counts.values())]
            for week, counts in data.weeks]
    head = ["Week starting", *(KIND_NAMES.get(k, k.capitalize()) for k in kinds), "Total"]
    return weekly_chart(data) + _table(head, rows, frozenset(range(1, len(head))))


def _unanswered(data: ReportData) -> str:
    if not data.misses:
        return _empty("No unanswered questions logged.")
    rows = [[group.count, group.example, _outcomes(group), group.last_asked[:10],
             "; ".join(sorted(set(group.questions) - {group.example})[:3])]
            for group in data.misses[:TOP_MISSES]]
    intro = (f"<p>{len(data.misses)} groups of similar questions the bot could not answer; "
             f"the {min(len(data.misses), TOP_MISSES)} asked most often:</p>")
    return intro + _table(["Times asked", "Example", "What happened", "Last asked",
                           "Also worded as"], rows, frozenset({0}))


def _outcomes(group: MissGroup) -> str:
    return ", ".join(f"{OUTCOME_NAMES.get(kind, kind.replace('_', ' '))} ×{count}"
                     for kind, count in group.outcomes.most_common())


def _helpful(data: ReportData) -> str:
    titles = {e.id: e.title for e in data.entries}
    rated = sorted(((entry, h, u) for entry, (h, u) in data.ratings.items() if h + u),
                   key=lambda r: (r[1] / (r[1] + r[2]), -(r[1] + r[2]), r[0]))
    if not rated:
        return _empty("No entry has been rated yet.")
    rows = [[entry, titles.get(entry, "(no longer in the knowledge base)"), h, u,
             f"{h / (h + u):.0%}"] for entry, h, u in rated]
    return helpful_chart(rated) + _table(
        ["Entry", "Title", "Helpful", "Not helpful", "Helpful ratio"], rows, frozenset({2, 3, 4}))


def _never_shown(data: ReportData) -> str:
    never = data.never_shown()
    if not never:
        return _empty("Every entry has been shown at least once.")
    return (f"<p>{len(never)} of {len(data.entries)} entries have never been shown to anyone: "
            "check their alternate questions, or whether they are needed.</p>"
            + _table(["Entry", "Title"], [[e.id, e.title] for e in never]))


def _review(data: ReportData) -> str:
    due = data.due_for_review()
    intro = (f"<p>Entries last reviewed more than {data.review_after_months} months ago (their "
             "reviewed date), oldest first.</p>")
    if not due:
        return intro + _empty("No entry is due for review.")
    rows = [[e.id, e.title, e.reviewed.isoformat(), days] for e, days in due]
    return intro + _table(["Entry", "Title", "Last reviewed", "Days ago"], rows, frozenset({3}))


def render_report(data: ReportData) -> str:
    """The whole page."""
    builders = {"replies": _replies, "unanswered": _unanswered, "helpful": _helpful,
                "never-shown": _never_shown, "review": _review}
    unavailable = data.unavailable or {}
    sections = []
    for key, title in SECTIONS:
        body = builders[key](data)
        if key in unavailable:
            body = _empty(f"Not available from this database ({unavailable[key]}).")
        sections.append(f'<section id="{key}"><h2>{_e(title)}</h2>{body}</section>')
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in SECTIONS)
    stamp = data.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>careers-bot knowledge report</title><style>{STYLE}</style></head><body>"
        f"<header><h1>careers-bot knowledge report</h1><p>Generated {_e(stamp)} · "
        f"{len(data.entries)} entries</p><nav>{nav}</nav></header>"
        + "".join(sections) + "</body></html>\n"
    )
