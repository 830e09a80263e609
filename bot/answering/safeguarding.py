"""Spotting messages that suggest a risk of harm, before any careers matching, and which kind.

Two checks, both on data a safeguarding lead reviews in ``knowledge/``:

1. **Phrases** (``safeguarding.yaml``, per category): a phrase matches when its words appear
   consecutively in the message after the usual spelling clean-up and stemming. A word of
   :data:`FUZZY_MIN_LENGTH`+ letters that the bot's own texts never use also tolerates a small
   typo ("suicdie"); a word they do use must match exactly, so "care" is never read as "scared"
   and "through" never as "rough". One-word phrases match the word as written, not its stem
   ("suicidal" is not "suicide prevention"), and another form of a phrase word is no typo of it.
2. **Meaning** (``safeguarding_exemplars.yaml``): short example disclosures per category, and
   careers questions with alarming words that must not trigger. The message and each of its
   sentences and clauses are compared with both, by sentence-vector cosine. A part is a
   disclosure when it is very close to an exemplar (:data:`SURE`), or close (:data:`CLOSE`) and
   closer to an exemplar than to any careers text (the negative examples, every phrasing of the
   knowledge base and every job name on the maps) by :data:`GAP`; a sentence or clause of a
   longer message, with less context, needs :data:`PART_CLOSE` and :data:`PART_GAP`. A message of
   :data:`SHORT_WORDS` words or fewer needs :data:`SHORT_GAP`: vague follow-ups ("r they paid",
   "can i do one at 17") sit near everything, disclosures this short still clear it ("been cutting
   again"), and the phrase list catches the direct ones. The thresholds were chosen for
   recall on ``tests/data/safeguarding.jsonl`` with false positives kept under 1% on every
   labelled set (``tests/test_safeguarding.py``).

The category decides the reply: the phrase match with the most words wins (then the order of the
file, most urgent first) unless the message is clearly closer to another category's exemplars;
else the closest exemplar's category. Nothing about the message is
stored; callers count replies by category only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.answering.query import Query
from bot.encoder import EmbeddingCache
from bot.text import Normaliser, stem

FUZZY_MIN_LENGTH = 5
FUZZY_CUTOFF = 80.0
SURE = 0.80
CLOSE = 0.42
GAP = 0.0
PART_CLOSE = 0.62
PART_GAP = 0.08
CLEARER = 0.1
PARTS_GATE = 0.35
SHORT_WORDS = 6
SHORT_GAP = 0.06


@dataclass(frozen=True)
class Concern:
    """A message that needs the safeguarding reply: its category and how it was recognised."""

    category: str
    reply: str
    found_by: Literal["phrase", "meaning"]


class SafeguardingDetector:
    """Phrase look-ups by length, and exemplar vectors by category."""

    def __init__(self, data: Mapping[str, Any], exemplars: Mapping[str, Any],
                 normaliser: Normaliser, cache: EmbeddingCache, *,
                 ordinary: Iterable[str] = (), careers: Sequence[np.ndarray] = ()) -> None:
        self._normaliser = normaliser
        categories: Mapping[str, Any] = data.get("categories") or {}
        self._replies = {c: str(spec.get("reply", "")).strip() for c, spec in categories.items()}
        self._order = {c: i for i, c in enumerate(categories)}
        self._by_length: dict[int, dict[tuple[str, ...], str]] = {}
        # One-word phrases are matched as written, not stemmed: "suicidal" must not match
        # "suicide prevention jobs", nor "overdosed" "overdoses".
        self._single: dict[str, str] = {}
        for category, spec in categories.items():
            for phrase in spec.get("phrases") or ():
                words = tuple(normaliser.words(str(phrase)))
                if len(words) == 1:
                    self._single.setdefault(normaliser.canonical(str(phrase)), category)
                elif words:
                    group = self._by_length.setdefault(len(words), {})
                    # The first category in the file keeps a phrase listed twice.
                    group.setdefault(words, category)
        vocabulary = {w for group in self._by_length.values() for words in group for w in words}
        self._vocabulary = frozenset(vocabulary)
        self._ordinary = frozenset(ordinary) - self._vocabulary
        self._fuzzy_targets = sorted(w for w in vocabulary if len(w) >= FUZZY_MIN_LENGTH)
        self._fuzzy_single = sorted(w for w in self._single if len(w) >= FUZZY_MIN_LENGTH)
        self._canonical = lru_cache(maxsize=16384)(self._canonical_uncached)

        examples: list[str] = []
        self._example_category: list[str] = []
        for category, texts in (exemplars.get("categories") or {}).items():
            if category in self._replies:
                for text in texts or ():
                    examples.append(str(text))
                    self._example_category.append(category)
        self._examples = cache.embed(examples)
        # Each category's exemplars are one run of columns: reduce them with one call.
        self._category_names = list(dict.fromkeys(self._example_category))
        self._category_starts = [self._example_category.index(c) for c in self._category_names]
        # Careers texts' vectors are other indexes' matrices, compared with but not copied.
        negatives = [str(t) for t in exemplars.get("not_safeguarding") or ()]
        self._negatives = [m for m in (cache.embed(negatives), *careers) if len(m)]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._replies)

    def reply(self, category: str) -> str:
        """The help for one category."""
        return self._replies[category]

    def _canonical_uncached(self, word: str) -> str:
        """A phrase word this unfamiliar word is a small typo of ("suicdal" → "suicid"), or itself."""
        if (word in self._vocabulary or word in self._ordinary
                or len(word) < FUZZY_MIN_LENGTH - 1 or not self._fuzzy_targets):
            return word
        found = process.extractOne(word, self._fuzzy_targets, scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else word

    def phrase_category(self, text: str) -> str | None:
        """The category of the longest phrase in ``text``, if any."""
        words = [self._canonical(w) for w in self._normaliser.words(text)]
        best: tuple[int, int, str] | None = None
        for length, group in self._by_length.items():
            for start in range(len(words) - length + 1):
                category = group.get(tuple(words[start:start + length]))
                if category is not None:
                    rank = (-length, self._order[category], category)
                    best = min(best, rank) if best else rank
        if best is not None:
            return best[2]
        for word in self._normaliser.canonical(text).split():
            category = self._single.get(word) or self._single.get(self._single_typo(word))
            if category is not None:
                return category
        return None

    def _single_typo(self, word: str) -> str:
        """The one-word phrase an unfamiliar word is a small typo of ("suicidle"), or "".
        Another form of the same word ("overdoses" for "overdosed") is not a typo, nor is a word
        the phrases themselves use ("alive" is not "unalive")."""
        if (len(word) < FUZZY_MIN_LENGTH or stem(word) in self._ordinary
                or stem(word) in self._vocabulary or not self._fuzzy_single):
            return ""
        found = process.extractOne(word, self._fuzzy_single, scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_CUTOFF)
        return found[0] if found and stem(found[0]) != stem(word) else ""

    def _similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Per part: similarity to each exemplar."""
        return np.atleast_2d(vectors) @ self._examples.T

    def _careers(self, vectors: np.ndarray) -> np.ndarray:
        """Per part: similarity to the closest careers text."""
        if not self._negatives:
            return np.zeros(len(vectors))
        return np.max([(vectors @ matrix.T).max(axis=1) for matrix in self._negatives], axis=0)

    def _by_category(self, similarity: np.ndarray) -> dict[str, float]:
        """Each category's closest exemplar to any part of the message."""
        closest = np.maximum.reduceat(similarity.max(axis=0), self._category_starts)
        return dict(zip(self._category_names, closest.tolist()))

    def meaning_category(self, vectors: np.ndarray, *, short: bool = False) -> str | None:
        """The category of the closest exemplar, when some part of the message is close enough
        to it and closer to it than to any careers text. Parts after the first (the whole
        message) are sentences and clauses, with less context: a stricter standard."""
        if not len(self._examples):
            return None
        vectors = np.atleast_2d(vectors)
        similarity = self._similarity(vectors)
        nearest = similarity.argmax(axis=1)
        best = similarity[np.arange(len(similarity)), nearest]
        whole = np.arange(len(best)) == 0
        close = np.where(whole, CLOSE, PART_CLOSE)
        gap = np.where(whole, SHORT_GAP if short else GAP, PART_GAP)
        # The careers texts (thousands) are only compared with parts close to an exemplar but
        # not sure: most messages are far from every disclosure.
        undecided = (best >= close) & (best < SURE)
        careers = np.zeros(len(best))
        if undecided.any():
            careers[undecided] = self._careers(vectors[undecided])
        flagged = (best >= SURE) | (undecided & (best - careers >= gap))
        if not flagged.any():
            return None
        part = int(np.argmax(np.where(flagged, best, -1.0)))
        return self._example_category[int(nearest[part])]

    def _refine(self, category: str, vectors: np.ndarray) -> str:
        """A phrase's category, unless the message reads clearly more like another kind of
        harm (:data:`CLEARER` closer to that kind's exemplars): phrases are short and can
        belong to more than one."""
        if not len(self._examples):
            return category
        scores = self._by_category(self._similarity(vectors))
        other = max(scores, key=lambda c: scores[c])
        return other if scores[other] >= scores.get(category, -1.0) + CLEARER else category

    def check(self, query: Query) -> Concern | None:
        """The concern in a message, or None. Phrases first: they are exact and reviewable.
        The message's parts are only encoded when the whole is at least :data:`PARTS_GATE`
        close to some exemplar: a message far from every disclosure is not one in parts."""
        vectors = np.atleast_2d(query.vector)
        if query.part_texts and len(self._examples) and float(
                (vectors @ self._examples.T).max()) >= PARTS_GATE:
            vectors = np.vstack([vectors, query.part_vectors])
        category = self.phrase_category(query.text)
        if category is not None:
            category = self._refine(category, vectors)
            return Concern(category, self._replies[category], "phrase")
        category = self.meaning_category(vectors, short=len(query.words) <= SHORT_WORDS)
        if category is not None:
            return Concern(category, self._replies[category], "meaning")
        return None
