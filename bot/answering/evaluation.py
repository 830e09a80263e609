"""Measuring answer quality against labelled questions (``careers-bot eval``).

Each JSONL line is ``{"q": question, "expect": label}`` (other keys, such as ``src``, are kept
for people and ignored here). Labels:

- an entry id, or several separated by ``|`` when any of them is a right answer;
- ``none``: the bot should say it does not know (small talk also counts: it answers nothing).
  ``none|id`` means "I don't know" is right, and so is that entry once the knowledge base has it;
- ``safeguarding`` or ``safeguarding:<category>``: a disclosure; only the safeguarding reply is
  right ("caught"), and the category's own help is reported beside it;
- ``not:safeguarding``: a careers question with alarming words; anything but the safeguarding
  reply is right (these measure false positives);
- ``occupation:OCC1|OCC2``: any of those occupations, shown as a card or first in a list.

``bot-help`` questions are also passed by small talk: both mean "the bot talking about itself".
A *confident wrong* answer is an entry or an occupation shown as the answer when it was not right;
"Did you mean…?" and "I don't know" are never counted as confident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.answering.followup import topic_of
from bot.answering.responder import Responder
from bot.reply import Reply

GROUPS = ("topic", "none", "safeguarding", "not-safeguarding", "occupation")
LABELS = {
    "topic": "topic top-1",
    "none": "abstention on none",
    "safeguarding": "safeguarding caught",
    "not-safeguarding": "careers questions left alone",
    "occupation": "occupation top-1",
}


class EvalFileError(ValueError):
    """The evaluation file is missing or has a line that is not a labelled question."""


@dataclass(frozen=True)
class Case:
    question: str
    expect: str
    # A follow-up: the question asked just before, whose answer is the context.
    previous: str | None = None

    @property
    def alternatives(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.expect.removeprefix("occupation:").split("|"))

    @property
    def group(self) -> str:
        if self.expect == "not:safeguarding":
            return "not-safeguarding"
        if self.expect.startswith("safeguarding"):
            return "safeguarding"
        if self.expect.startswith("occupation:"):
            return "occupation"
        if "none" in self.alternatives:
            return "none"
        return "topic"

    @property
    def category(self) -> str | None:
        """The safeguarding category a disclosure belongs to, if the label names one."""
        _, _, category = self.expect.partition(":")
        return category or None if self.group == "safeguarding" else None

    def entry_ids(self) -> tuple[str, ...]:
        """The knowledge entries that would be right (none for occupation and safety labels)."""
        if self.group in ("topic", "none"):
            return tuple(a for a in self.alternatives if a != "none")
        return ()

    def passed_by(self, reply: Reply) -> bool:
        """Whether the reply is right: the right entry answered, an abstention, and so on."""
        group = self.group
        if group == "safeguarding":
            return reply.kind == "safeguarding"
        if group == "not-safeguarding":
            return reply.kind != "safeguarding"
        if group == "occupation":
            return reply.kind == "occupation" and reply.id in self.alternatives
        if reply.kind == "answer" and reply.id in self.alternatives:
            return True
        if group == "none":
            return reply.kind in ("fallback", "smalltalk")
        return reply.kind == "smalltalk" and "bot-help" in self.alternatives

    def right_help(self, reply: Reply) -> bool:
        """A disclosure answered with its own category's help (any help, if none is named)."""
        return reply.kind == "safeguarding" and self.category in (None, reply.id)

    def offered_by(self, reply: Reply) -> bool:
        """Right, or among the first three choices offered ("Did you mean…?", a job list)."""
        if self.passed_by(reply):
            return True
        return reply.kind in ("clarify", "occupation") and any(
            c in self.alternatives for c in reply.candidates[:3])


def is_confident(reply: Reply) -> bool:
    """An entry or an occupation given as the answer (not a question back, not "I don't know")."""
    return reply.kind in ("answer", "occupation") and reply.id is not None


@dataclass
class GroupResult:
    total: int = 0
    passed: int = 0
    offered: int = 0
    right_help: int = 0
    misses: list[tuple[Case, Reply]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclass
class EvalReport:
    groups: dict[str, GroupResult]
    false_safeguarding: int = 0
    confident_wrong: int = 0
    total: int = 0
    by_category: dict[str, GroupResult] = field(default_factory=dict)
    unknown_ids: tuple[str, ...] = ()
    followups: GroupResult = field(default_factory=GroupResult)

    def result(self, group: str) -> GroupResult:
        return self.groups.get(group, GroupResult())

    @property
    def confident_wrong_rate(self) -> float:
        return self.confident_wrong / self.total if self.total else 0.0

    def summary_lines(self) -> list[str]:
        lines = []
        for group in GROUPS:
            r = self.groups.get(group)
            if r and r.total:
                line = f"{LABELS[group]}: {r.rate:.1%} ({r.passed}/{r.total})"
                if group in ("topic", "occupation"):
                    line += f", offered in top 3: {r.offered / r.total:.1%}"
                if group == "safeguarding":
                    line += f", with its own category's help: {r.right_help / r.total:.1%}"
                lines.append(line)
        for category, r in sorted(self.by_category.items()):
            lines.append(f"  safeguarding {category}: caught {r.rate:.1%} ({r.passed}/{r.total}), "
                         f"its own help {r.right_help / r.total:.1%}")
        if self.followups.total:
            r = self.followups
            lines.append(f"follow-ups answered in context: {r.rate:.1%} ({r.passed}/{r.total})")
        lines.append(f"confident wrong answers: {self.confident_wrong} of {self.total} "
                     f"({self.confident_wrong_rate:.1%})")
        lines.append(f"careers questions misrouted to safeguarding: {self.false_safeguarding}")
        return lines


def read_cases(path: Path) -> list[Case]:
    """Read a JSONL file of labelled questions; a bad line is an error naming the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot be read ({exc})") from None
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            previous = row.get("previous")
            cases.append(Case(str(row["q"]), str(row["expect"]),
                              str(previous) if previous is not None else None))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalFileError(
                f"{path}:{number}: not a {{\"q\": …, \"expect\": …}} line ({exc})") from None
    return cases


def evaluate(responder: Responder, cases: Iterable[Case]) -> EvalReport:
    """Ask every question and score the replies by group."""
    report = EvalReport(groups={})
    unknown: set[str] = set()
    for case in cases:
        unknown.update(i for i in case.entry_ids() if i not in responder.kb.entries)
        topic = topic_of(responder.reply(case.previous)) if case.previous is not None else None
        reply = responder.reply(case.question, topic)
        passed = case.passed_by(reply)
        if case.previous is not None:
            report.followups.total += 1
            report.followups.passed += passed
            if not passed:
                report.followups.misses.append((case, reply))
        for result in _results_for(report, case):
            result.total += 1
            result.passed += passed
            result.offered += case.offered_by(reply)
            result.right_help += case.right_help(reply)
            if not passed or (case.category and not case.right_help(reply)):
                result.misses.append((case, reply))
        report.total += 1
        if case.group not in ("safeguarding",) and reply.kind == "safeguarding":
            report.false_safeguarding += 1
        if is_confident(reply) and not passed:
            report.confident_wrong += 1
    # "none|new-id" labels name entries still to be written: only a plain id is a typo.
    report.unknown_ids = tuple(sorted(unknown))
    return report


def _results_for(report: EvalReport, case: Case) -> list[GroupResult]:
    results = [report.groups.setdefault(case.group, GroupResult())]
    if case.category:
        results.append(report.by_category.setdefault(case.category, GroupResult()))
    return results
