"""Grouping the questions the bot could not answer, so maintainers see what to add first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.text import normalise

SIMILAR = 75.0


@dataclass
class MissGroup:
    """Questions worded alike; ``example`` is the first one seen."""

    example: str
    questions: list[str] = field(default_factory=list)
    last_asked: str = ""

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
        group.last_asked = max(group.last_asked, str(row.get("asked_at", "")))
    groups.sort(key=lambda g: (-g.count, g.example))
    return groups
