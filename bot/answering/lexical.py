"""Word-based scores for knowledge entries: IDF-weighted recall with rapidfuzz typo tolerance.

This is the fuzzy half of the matcher (:mod:`bot.answering.matching` fuses it with the sentence encoder).
It is good at what the encoder is bad at: typos ("apprentiship"), abbreviations ("ctec"), rare
exact words ("bursary") and short questions typed exactly as a phrasing.

How a question is scored (0-100):

1. The text is normalised (:class:`bot.text.Normaliser`): spellings, abbreviations and compounds
   from ``knowledge/matching.yaml``, then stemming; stopwords are dropped. Greeting words are
   dropped too when anything else is left.
2. Words the knowledge base never uses are corrected to the closest word it does use with
   rapidfuzz (``fuzz.ratio`` ≥ :data:`TYPO_CUTOFF`), so "apprentiship" and "placemnet" still count.
3. Every phrasing (an entry's title and its alternate questions) is scored by IDF-weighted recall
   both ways: how much of the question the phrasing accounts for (:data:`QUERY_RECALL_WEIGHT`)
   and how much of the phrasing the question covers. Rare words weigh more than common ones.
   Words the KB does not know count against a match. A phrasing that names a qualification (a
   ``key_terms`` word) the question does not is scaled by :data:`KEY_MISMATCH`.
4. An entry's score blends its best phrasing with how much of the question its phrasings cover
   between them (:data:`PHRASING_WEIGHT`); words found only in the answer's text count at
   :data:`BODY_WEIGHT`.
5. The top few phrasings are re-scored with rapidfuzz's ``token_sort_ratio`` on the canonical
   text, which separates near-identical wordings; this slow scorer never sees the whole corpus.

The index is built once; a query touches only the posting lists of its own words, so its cost
grows with matches, not with the size of the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from bot.text import Normaliser

TYPO_CUTOFF = 82.0
MIN_TYPO_LENGTH = 4
QUERY_RECALL_WEIGHT = 0.65
PHRASING_WEIGHT = 0.6
BODY_WEIGHT = 0.5
KEY_MISMATCH = 0.8
FUZZ_WEIGHT = 0.15
SHORTLIST = 8
CHATTER_WORDS = 4

_LINK_TARGET = re.compile(r"\]\([^)]*\)")


class LexicalIndex:
    """An index over entry phrasings, built once per knowledge base."""

    def __init__(
        self,
        phrasings: Mapping[str, Sequence[str]],
        normaliser: Normaliser,
        *,
        bodies: Mapping[str, str] | None = None,
    ) -> None:
        self.normaliser = normaliser
        self.entry_ids: list[str] = list(phrasings)

        texts: list[str] = []
        tokens: list[list[str]] = []
        owner: list[int] = []
        # A question typed exactly as a listed phrasing (after clean-up) is that entry, even
        # when every word is a stopword ("what can you do").
        self._exact: dict[str, str] = {}
        for index, entry_id in enumerate(self.entry_ids):
            for text in phrasings[entry_id]:
                words = normaliser.words(text)
                self._exact.setdefault(" ".join(words), entry_id)
                content = normaliser.content(words)
                # Greetings are answered before ranking; inside a long phrasing ("hi so my
                # provider sent me…") they are noise.
                content = [t for t in content if t not in normaliser.greetings] or content
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

        n_entries = max(len(self.entry_ids), 1)
        entry_sets: list[set[int]] = [set() for _ in self.entry_ids]
        for cols, entry in zip(phrasing_cols, owner):
            entry_sets[entry].update(cols)
        # Words of the answer itself count, more weakly, towards an entry's coverage: students
        # often ask with words the answer uses but no listed phrasing does.
        body_sets: list[set[int]] = [set() for _ in self.entry_ids]
        for index, entry_id in enumerate(self.entry_ids):
            body = _LINK_TARGET.sub("]", (bodies or {}).get(entry_id, ""))
            for token in normaliser.content(normaliser.words(body)):
                col = vocab.setdefault(token, len(vocab))
                if col not in entry_sets[index]:
                    body_sets[index].add(col)
        self._vocab_list = list(vocab)
        df = np.zeros(len(vocab))
        for column_set in (*entry_sets, *body_sets):
            for col in column_set:
                df[col] += 1
        self._idf = np.log1p(n_entries / np.maximum(df, 1))
        for term in normaliser.key_terms:
            if term in vocab:
                self._idf[vocab[term]] *= normaliser.key_term_boost
        self._unknown_weight = float(np.median(self._idf)) if len(vocab) else 1.0

        self._psum = np.array([self._idf[cols].sum() for cols in phrasing_cols])
        key_columns = {vocab[t] for t in normaliser.key_terms if t in vocab}
        self._is_key = np.zeros(len(vocab), dtype=bool)
        self._is_key[list(key_columns)] = True
        self._key_count = np.array([sum(c in key_columns for c in cols) for cols in phrasing_cols])
        postings: list[list[int]] = [[] for _ in vocab]
        for p, cols in enumerate(phrasing_cols):
            for col in cols:
                postings[col].append(p)
        self._postings = [np.asarray(p, dtype=np.int64) for p in postings]
        entry_postings: list[list[int]] = [[] for _ in vocab]
        entry_weights: list[list[float]] = [[] for _ in vocab]
        for weight, sets in ((1.0, entry_sets), (BODY_WEIGHT, body_sets)):
            for e, column_set in enumerate(sets):
                for col in column_set:
                    entry_postings[col].append(e)
                    entry_weights[col].append(weight)
        self._entry_postings = [np.asarray(p, dtype=np.int64) for p in entry_postings]
        self._entry_weights = [np.asarray(w) for w in entry_weights]
        self._correct = lru_cache(maxsize=16384)(self._correct_uncached)

    @property
    def phrasing_count(self) -> int:
        return len(self._texts)

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every canonical, stemmed word of the phrasings and answers."""
        return frozenset(self._vocab)

    def exact(self, words: Sequence[str]) -> str | None:
        """The entry whose phrasing is exactly these (canonical, stemmed) words, if any."""
        return self._exact.get(" ".join(words))

    def uses(self, word: str) -> bool:
        """Whether the knowledge base uses ``word`` as typed (after its spelling clean-up and
        stemming: "earn" is "salary" here) in any phrasing or answer, or it is a stopword."""
        tokens = self.normaliser.words(word)
        return bool(tokens) and all(t in self._vocab or t in self.normaliser.stopwords
                                    for t in tokens)

    def forget_corrections(self) -> None:
        """Drop the typo corrections worked out so far."""
        self._correct.cache_clear()

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

    def _query_terms(self, words: Sequence[str]) -> tuple[list[tuple[int, float]], int]:
        """Known (column, weight factor) terms of the question and the count of unknown words."""
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
        return known, unknown

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """Every entry scored 0-100 against the question's canonical words (``entry_ids`` order)."""
        result = np.zeros(len(self.entry_ids))
        known, unknown = self._query_terms(words)
        if not known:
            return result
        # Merge duplicates that typo-correction may have produced.
        merged: dict[int, float] = {}
        for col, factor in known:
            merged[col] = max(merged.get(col, 0.0), factor)
        cols = np.fromiter(merged, dtype=np.int64)
        if all(self._vocab_list[c].isdigit() for c in cols):
            return result  # "what is 2+2": numbers alone say nothing about a topic
        weights = self._idf[cols] * np.fromiter(merged.values(), dtype=float)
        # In a long, chatty message unknown words are mostly context ("my cousin says…"), so
        # each weighs less the more words there are.
        chatter = min(1.0, CHATTER_WORDS / max(len(merged) + unknown, 1))
        qsum = float(weights.sum()) + unknown * self._unknown_weight * chatter

        lists = [self._postings[c] for c in cols]
        hit = np.concatenate(lists)
        acc = np.bincount(hit, weights=np.repeat(weights, [len(x) for x in lists]),
                          minlength=len(self._texts))
        dice = QUERY_RECALL_WEIGHT * acc / qsum + (1 - QUERY_RECALL_WEIGHT) * acc / self._psum
        # A phrasing naming a qualification the question does not ("t level" for "apprenticeship
        # or uni") is probably about something else.
        key_lists = [lst for lst, c in zip(lists, cols) if self._is_key[c]]
        shared_keys = (np.bincount(np.concatenate(key_lists), minlength=len(self._texts))
                       if key_lists else np.zeros(len(self._texts)))
        dice = np.where(self._key_count > shared_keys, dice * KEY_MISMATCH, dice)
        best_phrasing = np.maximum.reduceat(dice, self._entry_starts)

        elists = [self._entry_postings[c] for c in cols]
        eweights = np.concatenate([w * self._entry_weights[c] for c, w in zip(cols, weights)])
        coverage = np.bincount(np.concatenate(elists), weights=eweights,
                               minlength=len(self.entry_ids))[self._entries_with_phrasings] / qsum
        blended = PHRASING_WEIGHT * best_phrasing + (1 - PHRASING_WEIGHT) * coverage

        # Only the shortlist meets the slow scorer; the rest keep their blended score.
        scored = 100.0 * blended
        canonical = " ".join(words)
        for slot in np.argsort(-blended)[:SHORTLIST]:
            if blended[slot] <= 0:
                break
            start = self._entry_starts[slot]
            stop = self._entry_starts[slot + 1] if slot + 1 < len(self._entry_starts) else len(dice)
            p = start + int(np.argmax(dice[start:stop]))
            similarity = fuzz.token_sort_ratio(canonical, self._texts[p]) / 100.0
            scored[slot] = 100.0 * ((1 - FUZZ_WEIGHT) * blended[slot] + FUZZ_WEIGHT * similarity)
        result[self._entries_with_phrasings] = np.minimum(scored, 100.0)
        return result
