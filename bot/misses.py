"""Grouping the questions the bot could not answer, so maintainers see what to add first, and
the entry each group most likely belongs to (or "new topic")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.text import normalise

SIMILAR = 75.0
# A group whose closest phrasing (cosine) is at least this is suggested for that entry;
# below it, the group is probably a new topic.
SUGGEST = 0.55


@dataclass
class MissGroup:
    """Questions worded alike; ``example`` is the first one seen."""

    example: str
    questions: list[str] = field(default_factory=list)
    last_asked: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        return len(self.questions)


def group_misses(rows: Iterable[dict[str, object]]) -> list[MissGroup]:
    """Greedy grouping by rapidfuzz token-set similarity; most frequent group first."""
    groups: list[MissGroup] = []
    keys: list[str] = []
    for row in rows:
        text = str(row.get("text", ""))
        key = normalise(text)
        for index, existing in enumerate(keys):
            if fuzz.token_set_ratio(key, existing) >= SIMILAR:
                group = groups[index]
                break
        else:
            group = MissGroup(text)
            groups.append(group)
            keys.append(key)
        group.questions.append(text)
        group.outcomes[str(row.get("outcome") or "fallback")] += 1
        group.last_asked = max(group.last_asked, str(row.get("asked_at", "")))
    groups.sort(key=lambda g: (-g.count, g.example))
    return groups


@dataclass(frozen=True)
class Suggestion:
    """Where a group of misses probably belongs: an entry and how close it is, or a new topic."""

    group: MissGroup
    entry_id: str | None
    score: float


def suggest(groups: Iterable[MissGroup],
            nearest: Callable[[str], tuple[str, float]]) -> list[Suggestion]:
    """For each group, the entry whose phrasings are nearest in meaning to its example
    (``nearest`` is :meth:`bot.answering.responder.Responder.nearest_entry`), or None."""
    found = []
    for group in groups:
        entry_id, score = nearest(group.example)
        found.append(Suggestion(group, entry_id if score >= SUGGEST else None, score))
    return found


def phrasings_by_entry(suggestions: Iterable[Suggestion],
                       existing: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """Ready-to-paste phrasings per entry: each suggested group's distinct wordings, lower
    case, in the order maintainers will see them, leaving out the ones an entry already has
    (``existing``: entry id → its questions). Entries with nothing new are left out."""
    by_entry: dict[str, list[str]] = {}
    for suggestion in suggestions:
        if suggestion.entry_id is None:
            continue
        known = {q.casefold() for q in existing.get(suggestion.entry_id, ())}
        bucket = by_entry.setdefault(suggestion.entry_id, [])
        for question in dict.fromkeys(q.strip().casefold().rstrip("?!. ") for q in suggestion.group.questions):
            if question and question not in bucket and question not in known:
                bucket.append(question)
    return {entry_id: phrasings for entry_id, phrasings in by_entry.items() if phrasings}
