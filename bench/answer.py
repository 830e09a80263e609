"""Answer latency on the production path, at three corpus sizes, against a difflib matcher.

Run: ``.venv/bin/python bench/answer.py`` (see README). The first run encodes the scaled corpora
(about two minutes; vectors are cached in ``data/bench-cache``), later runs take about a minute.

What is timed is :meth:`bot.answering.responder.Responder.reply`, the call the handlers make: safeguarding,
small talk, the sentence encoder, the word and meaning channels, occupation routing and search on
the bundled map, and rendering the reply. The garbage collector stays on.

Questions: every labelled question in ``tests/data`` (dev, paraphrases, real-dev, real-pages,
safeguarding) plus student-style variants of them (a typo, a dropped or an added word) until there
are at least :data:`QUESTIONS` distinct ones; each is asked once per round, and caches that would
flatter repeated questions (typo correction, recent message vectors) are cleared before every round.

Corpus sizes: the real knowledge base, and ×10 / ×40 phrasings made by perturbing the real ones
the same way (each variant encoded for real), so both indexes grow as a real one would. ×100 was
impractical to encode for a benchmark (210,000 sentences), so the ``x100_p99_ms`` key of the last
line measures ×40, as the output says.

The baseline is a fair difflib matcher over the real knowledge base's phrasings: for each
question the best ``SequenceMatcher.ratio``, skipping phrasings whose ``real_quick_ratio`` and
``quick_ratio`` cannot beat the best so far (what ``difflib.get_close_matches`` does). The
speedup is the ratio of mean latencies on the real knowledge base.

The encoder alone is timed too: one question at a time, as the answer path calls it.
Last line: ``answer: real_p99_ms=… x10_p99_ms=… x100_p99_ms=… speedup_vs_difflib=…``.
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

from bot.answering.evaluation import read_cases
from bot.answering.matching import Matcher
from bot.answering.responder import Responder
from bot.encoder import embedding_cache
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.maps.search import bundled_occupation_index
from bot.text import Normaliser

sys.path.insert(0, str(ROOT / "bench"))
from measure import percentile
from questions import SETS, perturb

QUESTIONS = 1200
ROUNDS = 3
# Its own cache: the ×10 and ×40 synthetic phrasings (100,000 vectors) must not bloat the
# bot's data/cache, which every process loads at start.
CACHE = ROOT / "data" / "bench-cache"


def questions() -> list[str]:
    """At least QUESTIONS distinct questions: the labelled sets, then variants of them."""
    seen = dict.fromkeys(c.question for name in SETS
                         for c in read_cases(ROOT / "tests" / "data" / f"{name}.jsonl"))
    base = list(seen)
    rng = random.Random(1)
    while len(seen) < QUESTIONS:
        seen.setdefault(perturb(rng.choice(base), rng), None)
    return list(seen)


def scaled_phrasings(kb: KnowledgeBase, factor: int) -> dict[str, list[str]]:
    rng = random.Random(factor)
    phrasings: dict[str, list[str]] = {}
    for entry in kb.entries.values():
        base = [entry.title, *entry.questions]
        extra: dict[str, None] = {}
        while len(extra) < len(base) * (factor - 1):
            extra.setdefault(perturb(rng.choice(base), rng), None)
        phrasings[entry.id] = base + list(extra)
    return phrasings


def time_calls(fn: Callable[[str], object], asked: Sequence[str],
               before_round: Callable[[], None] = lambda: None, rounds: int = ROUNDS) -> list[float]:
    samples = []
    for _ in range(rounds):
        before_round()
        for q in asked:
            start = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def line(label: str, samples: list[float]) -> str:
    return (f"{label}: {len(samples)} answers, p50={percentile(samples, 0.5):.3f}ms "
            f"p99={percentile(samples, 0.99):.3f}ms mean={statistics.mean(samples):.3f}ms")


def difflib_matcher(kb: KnowledgeBase) -> Callable[[str], str]:
    corpus = [(e.id, text.lower()) for e in kb.entries.values() for text in (e.title, *e.questions)]

    def best(question: str) -> str:
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(question.lower())
        best_id, best_ratio = "", -1.0
        for entry_id, text in corpus:
            matcher.set_seq1(text)
            if (matcher.real_quick_ratio() > best_ratio and matcher.quick_ratio() > best_ratio
                    and (ratio := matcher.ratio()) > best_ratio):
                best_id, best_ratio = entry_id, ratio
        return best_id

    return best


def main() -> None:
    kb = load_knowledge(ROOT / "knowledge")
    asked = questions()
    cache = embedding_cache(CACHE)
    occupations = bundled_occupation_index()
    print(f"{len(asked)} distinct questions, {ROUNDS} rounds each, garbage collector on")

    encoder = cache.encoder
    encoder.encode_one("warm up")
    encoded = time_calls(encoder.encode_one, asked, rounds=1)
    print(line("encoder alone", encoded))

    results: dict[str, list[float]] = {}
    for label, factor in (("real", 1), ("x10", 10), ("x40", 40)):
        responder = Responder(kb, occupations=occupations, cache=cache)
        if factor > 1:
            build = time.perf_counter()
            responder.matcher = Matcher(scaled_phrasings(kb, factor), Normaliser(kb.matching),
                                        cache, bodies={e.id: e.body for e in kb.entries.values()})
            print(f"{label}: index built in {time.perf_counter() - build:.1f}s")
        # Nothing a round learnt flatters the next: typo corrections, message vectors.
        results[label] = time_calls(responder.reply, asked, responder.forget_recent)
        print(line(f"{label} ({responder.matcher.phrasing_count} phrasings)", results[label]))

    baseline = time_calls(difflib_matcher(kb), asked[:300], rounds=1)
    print(line("difflib with quick_ratio (real KB, 300 questions)", baseline))
    speedup = statistics.mean(baseline) / statistics.mean(results["real"])
    print("targets: real p99 <= 8 ms, x40 p99 <= 15 ms, encoder p99 <= 3 ms; "
          "x100_p99_ms below measures x40")
    print(f"answer: real_p99_ms={percentile(results['real'], 0.99):.3f} "
          f"x10_p99_ms={percentile(results['x10'], 0.99):.3f} "
          f"x100_p99_ms={percentile(results['x40'], 0.99):.3f} "
          f"speedup_vs_difflib={speedup:.1f}")


if __name__ == "__main__":
    main()
