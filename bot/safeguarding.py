"""Spotting messages that suggest a risk of harm, before any careers matching.

The phrases are data (``knowledge/safeguarding.yaml``) so a safeguarding lead can review them. A
phrase matches when its words appear consecutively in the message after the usual spelling
clean-up and stemming; words of :data:`FUZZY_MIN_LENGTH`+ letters also tolerate a small typo
("suicdie"). Short words must match exactly, so "i want to die" never fires on "i want to do".
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz, process

from bot.text import Normaliser

FUZZY_MIN_LENGTH = 5
FUZZY_CUTOFF = 80.0


class SafeguardingDetector:
    """Holds the phrases as sets of word tuples by length, so a check is a few set look-ups."""

    def __init__(self, phrases: Iterable[str], normaliser: Normaliser) -> None:
        self._normaliser = normaliser
        self._by_length: dict[int, set[tuple[str, ...]]] = {}
        for phrase in phrases:
            words = tuple(normaliser.words(phrase))
            if words:
                self._by_length.setdefault(len(words), set()).add(words)
        vocabulary = {w for group in self._by_length.values() for words in group for w in words}
        self._vocabulary = frozenset(vocabulary)
        self._fuzzy_targets = sorted(w for w in vocabulary if len(w) >= FUZZY_MIN_LENGTH)
        self._single = self._by_length.get(1, set())
        self._canonical = lru_cache(maxsize=16384)(self._canonical_uncached)

    def _canonical_uncached(self, word: str) -> str:
        """A phrase word this word is a small typo of ("suicdal" → "suicid"), or itself."""
        if word in self._vocabulary or len(word) < FUZZY_MIN_LENGTH - 1 or not self._fuzzy_targets:
            return word
        found = process.extractOne(word, self._fuzzy_targets, scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else word

    def is_concerning(self, text: str) -> bool:
        """True when the message contains any safeguarding phrase."""
        words = [self._canonical(w) for w in self._normaliser.words(text)]
        for length, group in self._by_length.items():
            for start in range(len(words) - length + 1):
                if tuple(words[start:start + length]) in group:
                    return True
        # Joined words catch "self harm" written as "selfharm" and vice versa.
        return any((self._canonical(a + b),) in self._single for a, b in pairwise(words))
