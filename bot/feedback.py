"""What students tell the bot about its answers, as numbers only, for maintainers.

- ``ratings``: one row per tap on "Helpful" / "Not helpful": the entry id and the time. Never
  the chat, never the question.
- ``reply_counts``: how many replies of each kind (answer, clarify, fallback, occupation, …) a
  day, and for answers which entry, so ``/stats`` and ``careers-bot kb report`` can show shares
  per week, the helpful ratio per entry and the entries never shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import sqlite_utils

from bot.db import iso, utcnow, write_transaction
from bot.knowledge import KnowledgeBase
from bot.review import review_report
from bot.usage import Counter as CountedTable
from bot.usage import UsageBatch

# Kinds shown in reports, in this order; other kinds (small talk, safeguarding) are counted too.
REPORTED_KINDS = ("answer", "occupation", "clarify", "fallback")


def record_rating(db: sqlite_utils.Database, entry_id: str, helpful: bool,
                  at: dt.datetime | None = None) -> None:
    """Keep one rating of an entry: its id, helpful or not, and when."""
    with write_transaction(db):
        db.table("ratings").insert({"entry_id": entry_id, "helpful": int(helpful),
                                    "rated_at": iso(at)})


def helpful_ratios(db: sqlite_utils.Database) -> dict[str, tuple[int, int]]:
    """Entry id → (helpful, not helpful) taps, over all time."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in db.execute("SELECT entry_id, helpful, COUNT(*) FROM ratings GROUP BY entry_id, helpful"):
        counts[row[0]][0 if row[1] else 1] += int(row[2])
    return {entry: (up, down) for entry, (up, down) in sorted(counts.items())}


def least_helpful(db: sqlite_utils.Database, minimum: int = 3, limit: int = 5) -> list[tuple[str, float, int]]:
    """The entries students found least helpful: (id, helpful share, ratings), at least
    ``minimum`` ratings each, worst first."""
    rows = [(entry, up / (up + down), up + down) for entry, (up, down) in helpful_ratios(db).items()
            if up + down >= minimum]
    return sorted(rows, key=lambda r: (r[1], -r[2]))[:limit]


REPLIES = CountedTable("reply_counts", ("day", "kind", "entry_id"), "count")


def count_reply(batch: UsageBatch, kind: str, entry_id: str | None = None,
                at: dt.datetime | None = None) -> None:
    """Count one reply of ``kind`` for the day (and the entry, for answers), in the batch
    written about once a second: the answer path's way."""
    batch.count(REPLIES, (at or utcnow()).date().isoformat(), kind, entry_id or "")


def record_reply(db: sqlite_utils.Database, kind: str, entry_id: str | None = None,
                 at: dt.datetime | None = None) -> None:
    """:func:`count_reply`, written at once (for tools and tests)."""
    batch = UsageBatch(db)
    count_reply(batch, kind, entry_id, at)
    batch.flush()


def replies_per_week(db: sqlite_utils.Database) -> list[tuple[str, dict[str, int]]]:
    """(Monday of the week, counts by kind), oldest week first."""
    weeks: dict[str, Counter[str]] = defaultdict(Counter)
    for row in db.table("reply_counts").rows:
        day = dt.date.fromisoformat(row["day"])
        monday = (day - dt.timedelta(days=day.weekday())).isoformat()
        weeks[monday][row["kind"]] += int(row["count"])
    return [(week, dict(counts)) for week, counts in sorted(weeks.items())]


def entries_shown(db: sqlite_utils.Database) -> dict[str, int]:
    """Entry id → how many times it was given as an answer, over all time."""
    rows = db.execute("SELECT entry_id, SUM(count) FROM reply_counts "
                      "WHERE kind = 'answer' AND entry_id != '' GROUP BY entry_id")
    return {row[0]: int(row[1]) for row in rows}


def shares(counts: dict[str, int]) -> dict[str, float]:
    """Each reported kind's share of the week's replies of those kinds."""
    total = sum(counts.get(k, 0) for k in REPORTED_KINDS)
    return {k: (counts.get(k, 0) / total if total else 0.0) for k in REPORTED_KINDS}


def feedback_lines(db: sqlite_utils.Database, kb: KnowledgeBase, today: dt.date,
                   review_months: int) -> list[str]:
    """The feedback part of ``/stats``: this week's shares, ratings, the least helpful entries,
    entries never shown and entries due for review after ``review_months`` or with a stale
    figure, as ``kb check --stale`` (wording from ``messages.yaml``)."""
    weeks = replies_per_week(db)
    lines = []
    if weeks:
        week, counts = weeks[-1]
        share = shares(counts)
        lines.append(kb.message("stats_shares", week=week,
                                **{k: f"{v:.0%}" for k, v in share.items()}))
    ratios = helpful_ratios(db)
    up = sum(u for u, _ in ratios.values())
    total = up + sum(d for _, d in ratios.values())
    if total:
        lines.append(kb.message("stats_helpful", helpful=up, total=total, share=f"{up / total:.0%}"))
    worst = least_helpful(db)
    if worst:
        lines.append(kb.message("stats_least_helpful", entries=", ".join(
            f"{entry} ({share:.0%} of {n})" for entry, share, n in worst)))
    shown = entries_shown(db)
    never = sorted(set(kb.entries) - set(shown))
    lines.append(kb.message("stats_never_shown", count=len(never),
                            examples=", ".join(never[:5]) or "-"))
    due = review_report(kb.entries.values(), today, review_months).due_ids
    lines.append(kb.message("stats_due_review", count=len(due), examples=", ".join(due[:5]) or "-"))
    return lines
