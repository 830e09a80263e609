"""Distinct inputs for the benchmarks: every p99 is taken over at least 1,000 different texts.

Repeating the same few hundred questions would flatter every cache on the answer path (typo
correction, stems, rendered entries), so each benchmark asks distinct texts: the labelled
questions in ``tests/data`` first, then student-style variants of them (a swapped pair of
letters, a dropped word or an added filler), generated with a fixed seed so runs compare.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.answering.responder import Responder

ROOT = Path(__file__).resolve().parent.parent
SETS = ("dev", "paraphrases", "real-dev", "real-pages", "safeguarding")
FILLERS = ["please", "like", "actually", "for me", "in england", "at 16", "next year", "as a student",
           "for girls", "for boys", "near me", "online", "this year", "honestly", "quick question"]
JOB_FILLERS = ["apprenticeship", "job", "jobs", "career", "level 3", "near me", "uk", "training",
               "how do i become a", "i want to be a", "course", "salary", "in london"]


def perturb(text: str, rng: random.Random, fillers: list[str] = FILLERS) -> str:
    """A plausible student variant of a text: a typo, a dropped word or an extra word."""
    words = text.split()
    roll = rng.random()
    if roll < 0.35 and words:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif roll < 0.6 and len(words) > 2:
        words.pop(rng.randrange(len(words)))
    else:
        words.insert(rng.randrange(len(words) + 1), rng.choice(fillers))
    return " ".join(words)


def labelled_questions(sets: tuple[str, ...] = SETS) -> list[str]:
    """Every labelled question in ``tests/data``, once each, in file order."""
    seen: dict[str, None] = {}
    for name in sets:
        for line in (ROOT / "tests" / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.setdefault(json.loads(line)["q"], None)
    return list(seen)


def distinct(base: list[str], count: int, *, seed: int = 1, fillers: list[str] = FILLERS) -> list[str]:
    """At least ``count`` distinct texts: ``base``, then variants of it (variants of variants
    once the first ones run out)."""
    seen = dict.fromkeys(base)
    pool = list(base)
    rng = random.Random(seed)
    attempts = 0
    while len(seen) < count:
        attempts += 1
        if attempts > count * 50:
            raise RuntimeError(f"could not make {count} distinct texts from {len(base)}")
        variant = perturb(rng.choice(pool), rng, fillers)
        if variant not in seen:
            seen[variant] = None
            pool.append(variant)
    return list(seen)


def distinct_questions(count: int, *, seed: int = 1) -> list[str]:
    """At least ``count`` distinct student questions."""
    return distinct(labelled_questions(), count, seed=seed)


def one_message_questions(count: int, responder: Responder, *, min_chars: int = 1) -> list[str]:
    """``count`` distinct student questions (of at least ``min_chars`` characters) whose
    answer is one message, so each question gets exactly one reply and a student never trips
    the per-chat limit."""
    wanted = int(count * 1.3) + 100
    while True:
        found = [q for q in distinct_questions(wanted)
                 if len(q.strip()) >= min_chars and len(responder.reply(q).messages) == 1]
        if len(found) >= count:
            return found[:count]
        wanted = int(wanted * 1.3)
