"""Answer latency: our matcher at three corpus sizes vs a difflib matcher, measured in one run.

Run: ``.venv/bin/python bench/answer.py`` (see README). Questions come from ``tests/data/dev.jsonl``
(realistic student wording). Corpus sizes: the real knowledge base, and ×10 / ×100 phrasings made
by perturbing the real ones (typos, dropped and added words) so the vocabulary grows like a real
one would. The baseline is a ChatterBot-style matcher: ``difflib.SequenceMatcher.ratio`` against
every phrasing, best one wins; it runs on the real knowledge base only (it is linear and slow).

Timings cover the whole answer path (safeguarding check, matching, rendering the reply). The
typo-correction cache is cleared before every round so repeated questions do not flatter us.
Last line: ``answer: real_p99_ms=<x> x10_p99_ms=<x> x100_p99_ms=<x> speedup_vs_difflib=<x>``
where the speedup is the ratio of mean latencies on the real knowledge base.
"""

from __future__ import annotations

import difflib
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers import Responder
from bot.evaluation import read_cases
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Matcher
from bot.text import Normaliser

ROUNDS = 15
FILLERS = ["please", "like", "actually", "for me", "in england", "at 16", "next year", "as a student",
           "for girls", "for boys", "near me", "online", "this year", "honestly", "quick question"]


def perturb(text: str, rng: random.Random) -> str:
    """A plausible student variant of a phrasing: a typo, a dropped word, an extra word."""
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
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    if rng.random() < 0.3:
        words.append(f"v{rng.randrange(100000)}")  # a rare word, so the vocabulary grows
    return " ".join(words)


def scaled_phrasings(kb: KnowledgeBase, factor: int) -> dict[str, list[str]]:
    rng = random.Random(factor)
    phrasings: dict[str, list[str]] = {}
    for entry in kb.entries.values():
        base = [entry.title, *entry.questions]
        phrasings[entry.id] = base + [perturb(rng.choice(base), rng) for _ in range(len(base) * (factor - 1))]
    return phrasings


def time_calls(fn: Callable[[str], object], questions: Sequence[str],
               before_round: Callable[[], None] = lambda: None, rounds: int = ROUNDS) -> list[float]:
    samples = []
    for _ in range(rounds):
        before_round()
        for q in questions:
            start = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def p(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct))]


def difflib_matcher(kb: KnowledgeBase) -> Callable[[str], str]:
    corpus = [(e.id, text.lower()) for e in kb.entries.values() for text in (e.title, *e.questions)]

    def best(question: str) -> str:
        q = question.lower()
        return max(corpus, key=lambda item: difflib.SequenceMatcher(None, q, item[1]).ratio())[0]

    return best


def main() -> None:
    kb = load_knowledge(ROOT / "knowledge")
    questions = [c.question for c in read_cases(ROOT / "tests" / "data" / "dev.jsonl")]
    normaliser = Normaliser(kb.matching)
    results: dict[str, list[float]] = {}
    for label, factor in (("real", 1), ("x10", 10), ("x100", 100)):
        responder = Responder(kb)
        if factor > 1:
            build = time.perf_counter()
            responder.matcher = Matcher(scaled_phrasings(kb, factor), normaliser)
            print(f"{label}: index built in {time.perf_counter() - build:.2f}s")
        matcher = responder.matcher
        samples = time_calls(responder.reply, questions, matcher._correct.cache_clear)
        results[label] = samples
        print(f"{label}: {matcher.phrasing_count} phrasings, {len(samples)} answers, "
              f"p50={p(samples, 0.5):.3f}ms p99={p(samples, 0.99):.3f}ms mean={statistics.mean(samples):.3f}ms")
    baseline = time_calls(difflib_matcher(kb), questions, rounds=2)
    print(f"difflib (real KB): p50={p(baseline, 0.5):.3f}ms p99={p(baseline, 0.99):.3f}ms "
          f"mean={statistics.mean(baseline):.3f}ms")
    speedup = statistics.mean(baseline) / statistics.mean(results["real"])
    print(f"answer: real_p99_ms={p(results['real'], 0.99):.3f} x10_p99_ms={p(results['x10'], 0.99):.3f} "
          f"x100_p99_ms={p(results['x100'], 0.99):.3f} speedup_vs_difflib={speedup:.0f}")


if __name__ == "__main__":
    main()
