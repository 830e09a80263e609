"""Measuring answer quality against labelled student questions (``careers-bot eval``).

Each JSONL line is ``{"q": question, "expect": label}`` where the label is a knowledge entry id,
``none`` (the bot should say it does not know), ``safeguarding``, or
``occupation:OCC1|OCC2`` (any of those occupations is right).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answers import Reply, Responder


@dataclass(frozen=True)
class Case:
    question: str
    expect: str

    @property
    def group(self) -> str:
        if self.expect == "none":
            return "none"
        if self.expect == "safeguarding":
            return "safeguarding"
        if self.expect.startswith("occupation:"):
            return "occupation"
        return "topic"

    def passed_by(self, reply: Reply) -> bool:
        """Whether the reply is right: the right entry answered, an abstention, and so on."""
        group = self.group
        if group == "none":
            return reply.kind == "fallback"
        if group == "safeguarding":
            return reply.kind == "safeguarding"
        if group == "occupation":
            wanted = set(self.expect.removeprefix("occupation:").split("|"))
            return reply.kind == "occupation" and reply.id in wanted
        return reply.kind == "answer" and reply.id == self.expect


@dataclass
class GroupResult:
    total: int = 0
    passed: int = 0
    misses: list[tuple[Case, Reply]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclass
class EvalReport:
    groups: dict[str, GroupResult]
    false_safeguarding: int = 0

    def result(self, group: str) -> GroupResult:
        return self.groups.get(group, GroupResult())

    def summary_lines(self) -> list[str]:
        labels = {
            "topic": "topic top-1",
            "none": "abstention on none",
            "safeguarding": "safeguarding caught",
            "occupation": "occupation top-1",
        }
        lines = []
        for group in ("topic", "none", "safeguarding", "occupation"):
            r = self.groups.get(group)
            if r and r.total:
                lines.append(f"{labels[group]}: {r.rate:.1%} ({r.passed}/{r.total})")
        lines.append(f"careers questions misrouted to safeguarding: {self.false_safeguarding}")
        return lines


def read_cases(path: Path) -> list[Case]:
    """Read a JSONL file of labelled questions."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["q"]), str(row["expect"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a {{'q':…, 'expect':…}} line ({exc})") from None
    return cases


def evaluate(responder: Responder, cases: Iterable[Case]) -> EvalReport:
    """Ask every question and score the replies by group."""
    groups: dict[str, GroupResult] = {}
    false_safeguarding = 0
    for case in cases:
        reply = responder.reply(case.question)
        result = groups.setdefault(case.group, GroupResult())
        result.total += 1
        if case.passed_by(reply):
            result.passed += 1
        else:
            result.misses.append((case, reply))
        if case.group != "safeguarding" and reply.kind == "safeguarding":
            false_safeguarding += 1
    return EvalReport(groups, false_safeguarding)
