"""Finding the entry a student's question is about.

How a question is scored (all numbers 0-100):

1. The text is normalised (:class:`bot.text.Normaliser`): spellings, abbreviations and compounds
   from ``knowledge/matching.yaml``, then stemming; stopwords are dropped. Greeting words are
   dropped too when anything else is left.
2. Words the knowledge base never uses are corrected to the closest word it does use with
   rapidfuzz (``fuzz.ratio`` ≥ :data:`TYPO_CUTOFF`), so "apprentiship" and "placemnet" still count.
3. Every phrasing (an entry's title and its alternate questions) gets an IDF-weighted Dice score:
   twice the weight of shared words over the weight of both; rare words ("bursary") weigh more
   than common ones ("apprenticeship"). Words the KB does not know weigh against a match, which
   is what lets the bot abstain on "where is the nearest pizza place".
4. An entry's score blends its best phrasing with how much of the question its phrasings cover
   between them (:data:`PHRASING_WEIGHT`), so a question that mixes two phrasings still lands.
5. The top few phrasings are re-scored with rapidfuzz's ``token_sort_ratio`` on the canonical
   text, which separates near-identical wordings; this slow scorer never sees the whole corpus.

Decision: below ``threshold`` → fallback; runner-up within ``margin`` of the best → clarify
("Did you mean…?"); otherwise answer. Both are settings (``CAREERS_BOT_MATCH_THRESHOLD``,
``CAREERS_BOT_AMBIGUITY_MARGIN``).

The index (vocabulary, posting lists, weights) is built once; a query touches only the posting
lists of its own words, so its cost grows with matches, not with the size of the corpus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process

from bot.text import Normaliser

TYPO_CUTOFF = 82.0
MIN_TYPO_LENGTH = 4
PHRASING_WEIGHT = 0.75
FUZZ_WEIGHT = 0.25
SHORTLIST = 8
MAX_CANDIDATES = 3

Kind = Literal["answer", "clarify", "fallback", "greeting"]


@dataclass(frozen=True)
class Candidate:
    """An entry and how well the question matched it (0-100)."""

    entry_id: str
    score: float


@dataclass(frozen=True)
class Match:
    """The matcher's decision and the candidates behind it, best first."""

    kind: Kind
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


class Matcher:
    """An index over entry phrasings, built once per knowledge base."""

    def __init__(
        self,
        phrasings: Mapping[str, Sequence[str]],
        normaliser: Normaliser,
        *,
        threshold: float = 55.0,
        margin: float = 6.0,
    ) -> None:
        self.normaliser = normaliser
        self.threshold = threshold
        self.margin = margin
        self.entry_ids: list[str] = list(phrasings)

        texts: list[str] = []
        tokens: list[list[str]] = []
        owner: list[int] = []
        for index, entry_id in enumerate(self.entry_ids):
            for text in phrasings[entry_id]:
                words = normaliser.words(text)
                content = normaliser.content(words)
                if not content:
                    continue
                texts.append(" ".join(words))
                tokens.append(content)
                owner.append(index)
        self._texts = texts
        self._owner = np.asarray(owner, dtype=np.int64)
        self._entry_starts = np.flatnonzero(np.r_[True, np.diff(self._owner) != 0])
        self._entries_with_phrasings = self._owner[self._entry_starts]

        vocab: dict[str, int] = {}
        phrasing_cols: list[list[int]] = []
        for content in tokens:
            phrasing_cols.append([vocab.setdefault(t, len(vocab)) for t in content])
        self._vocab = vocab
        self._vocab_list = list(vocab)

        n_entries = max(len(self.entry_ids), 1)
        entry_sets: list[set[int]] = [set() for _ in self.entry_ids]
        for cols, entry in zip(phrasing_cols, owner):
            entry_sets[entry].update(cols)
        df = np.zeros(len(vocab))
        for cols in entry_sets:
            for col in cols:
                df[col] += 1
        self._idf = np.log1p(n_entries / np.maximum(df, 1))
        self._unknown_weight = float(np.median(self._idf)) if len(vocab) else 1.0

        self._psum = np.array([self._idf[cols].sum() for cols in phrasing_cols])
        postings: list[list[int]] = [[] for _ in vocab]
        for p, cols in enumerate(phrasing_cols):
            for col in cols:
                postings[col].append(p)
        self._postings = [np.asarray(p, dtype=np.int64) for p in postings]
        entry_postings: list[list[int]] = [[] for _ in vocab]
        for e, cols in enumerate(entry_sets):
            for col in cols:
                entry_postings[col].append(e)
        self._entry_postings = [np.asarray(p, dtype=np.int64) for p in entry_postings]
        self._correct = lru_cache(maxsize=16384)(self._correct_uncached)

    @property
    def phrasing_count(self) -> int:
        return len(self._texts)

    def _correct_uncached(self, token: str) -> tuple[int, float] | None:
        """The vocabulary word closest to an unknown one, with a confidence factor."""
        if len(token) < MIN_TYPO_LENGTH or token.isdigit() or not self._vocab_list:
            return None
        found = process.extractOne(
            token, self._vocab_list, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF
        )
        if found is None:
            return None
        return self._vocab[found[0]], found[1] / 100.0

    def _query_terms(self, text: str) -> tuple[list[str], list[tuple[int, float]], int]:
        """Canonical words, known (column, weight factor) terms and the count of unknown words."""
        words = self.normaliser.words(text)
        content = self.normaliser.content(words)
        topical = [w for w in content if w not in self.normaliser.greetings]
        if topical:
            content = topical
        known: list[tuple[int, float]] = []
        unknown = 0
        for token in content:
            col = self._vocab.get(token)
            if col is not None:
                known.append((col, 1.0))
                continue
            corrected = self._correct(token)
            if corrected is None:
                unknown += 1
            else:
                known.append(corrected)
        return words, known, unknown

    def is_greeting(self, text: str) -> bool:
        """True when every meaningful word is small talk ("hiya!", "thanks", "good morning")."""
        content = self.normaliser.content(self.normaliser.words(text))
        return bool(content) and all(w in self.normaliser.greetings for w in content)

    def rank(self, text: str, limit: int = SHORTLIST) -> list[Candidate]:
        """Entries scored against the question, best first (at most ``limit``)."""
        words, known, unknown = self._query_terms(text)
        if not known:
            return []
        # Merge duplicates that typo-correction may have produced.
        merged: dict[int, float] = {}
        for col, factor in known:
            merged[col] = max(merged.get(col, 0.0), factor)
        cols = np.fromiter(merged, dtype=np.int64)
        weights = self._idf[cols] * np.fromiter(merged.values(), dtype=float)
        qsum = float(weights.sum()) + unknown * self._unknown_weight

        lists = [self._postings[c] for c in cols]
        hit = np.concatenate(lists)
        acc = np.bincount(hit, weights=np.repeat(weights, [len(x) for x in lists]),
                          minlength=len(self._texts))
        dice = 2.0 * acc / (qsum + self._psum)
        best_phrasing = np.maximum.reduceat(dice, self._entry_starts)

        elists = [self._entry_postings[c] for c in cols]
        ehit = np.concatenate(elists)
        coverage = np.bincount(ehit, weights=np.repeat(weights, [len(x) for x in elists]),
                               minlength=len(self.entry_ids))[self._entries_with_phrasings] / qsum
        blended = PHRASING_WEIGHT * best_phrasing + (1 - PHRASING_WEIGHT) * coverage

        order = np.argsort(-blended)[:limit]
        canonical = " ".join(words)
        results: list[Candidate] = []
        for slot in order:
            if blended[slot] <= 0:
                break
            start = self._entry_starts[slot]
            stop = self._entry_starts[slot + 1] if slot + 1 < len(self._entry_starts) else len(dice)
            p = start + int(np.argmax(dice[start:stop]))
            similarity = fuzz.token_sort_ratio(canonical, self._texts[p]) / 100.0
            score = 100.0 * ((1 - FUZZ_WEIGHT) * blended[slot] + FUZZ_WEIGHT * similarity)
            entry_id = self.entry_ids[int(self._entries_with_phrasings[slot])]
            results.append(Candidate(entry_id, round(float(min(score, 100.0)), 1)))
        results.sort(key=lambda c: -c.score)
        return results

    def match(self, text: str) -> Match:
        """Decide between answering, asking "Did you mean…?" and saying "I don't know"."""
        ranked = self.rank(text)
        if not ranked:
            kind: Kind = "greeting" if self.is_greeting(text) else "fallback"
            return Match(kind, ())
        best = ranked[0]
        if best.score < self.threshold:
            if self.is_greeting(text):
                return Match("greeting", ())
            return Match("fallback", tuple(ranked[:MAX_CANDIDATES]))
        close = [c for c in ranked[1:MAX_CANDIDATES] if best.score - c.score < self.margin]
        if close:
            return Match("clarify", (best, *close))
        return Match("answer", tuple(ranked[:MAX_CANDIDATES]))

