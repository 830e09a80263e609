"""Turning what students type into comparable tokens.

Two layers: :func:`normalise` (case, accents, apostrophes, punctuation, spaces) needs no data and is
used wherever two phrasings are compared for equality; :class:`Normaliser` adds the maintained
spelling, abbreviation and compound lists from ``knowledge/matching.yaml`` plus stemming, and is what
the matchers use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import snowballstemmer

_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Lower-case ASCII words separated by single spaces ("What's a T-Level?" → "whats a t level").

    Cached: the checks on the answer path (safeguarding, small talk, routing, occupation search)
    each fold the same message, and the cache makes that one fold per message."""
    if not text.isascii():  # ASCII has no accents to strip (NFKD leaves it as it is)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _CONTROL.sub(" ", text.lower())
    text = _APOSTROPHES.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem, cached: the same few thousand words recur in every query."""
    if word.isdigit() or len(word) <= 3:
        return word
    return _stemmer.stemWord(word)


class Normaliser:
    """Applies the maintained replacements, then splits and stems.

    ``matching.yaml`` keys used here:
    - ``replacements``: canonical phrase → list of variants ("tlevel": ["t level", "t-level"…]);
      variants are matched on word boundaries after :func:`normalise`, longest first.
    - ``stopwords``: words that carry no topic (dropped from content tokens).
    - ``greetings``: words that open small talk; dropped when the message has other content.
    - ``smalltalk``: words that, with a greeting or alone, still make only small talk.
    - ``key_terms`` / ``key_term_boost``: the words naming what a question is about, weighted up.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        mapping: dict[str, str] = {}
        for canonical, variants in (data.get("replacements") or {}).items():
            for variant in variants or ():
                key = normalise(str(variant))
                if key:
                    mapping[key] = normalise(str(canonical))
        self._replacements = mapping
        self._pattern: re.Pattern[str] | None = None
        if mapping:
            alternatives = sorted(mapping, key=len, reverse=True)
            self._pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, alternatives)) + r")\b")
        self.stopwords = frozenset(stem(normalise(w)) for w in data.get("stopwords") or ())
        self.greetings = frozenset(stem(normalise(w)) for w in data.get("greetings") or ())
        self.smalltalk = frozenset(stem(normalise(w)) for w in data.get("smalltalk") or ())
        self.key_terms = frozenset(
            stem(word) for term in data.get("key_terms") or () for word in self.canonical(term).split()
        )
        self.key_term_boost = float(data.get("key_term_boost") or 1.0)
        # Per message, safeguarding, small talk and the matcher all ask: computed once.
        self.canonical = lru_cache(maxsize=4096)(self._canonical)  # type: ignore[method-assign]
        self._stemmed = lru_cache(maxsize=4096)(self._words)

    def canonical(self, text: str) -> str:
        """The normalised text with spellings and compounds made canonical (cached)."""
        return self._canonical(text)

    def _canonical(self, text: str) -> str:
        folded = normalise(text)
        if self._pattern is None:
            return folded
        return self._pattern.sub(lambda m: self._replacements[m.group(0)], folded)

    def words(self, text: str) -> list[str]:
        """All stemmed words, stopwords included (for phrase spotting)."""
        return list(self._stemmed(text))

    def _words(self, text: str) -> tuple[str, ...]:
        return tuple(stem(w) for w in self.canonical(text).split())

    def content(self, words: Iterable[str]) -> list[str]:
        """Words that carry meaning: not stopwords, deduplicated in order."""
        seen: dict[str, None] = {}
        for word in words:
            if word not in self.stopwords:
                seen.setdefault(word, None)
        return list(seen)
