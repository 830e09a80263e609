"""Small talk ("thanks", "bye", "lol", "are you a bot"): one friendly line, not an answer.

The kinds, their examples and replies are data in ``knowledge/smalltalk.yaml``. A message is small
talk when, after clean-up, it is one of the examples (or within a small typo of one), or, for a
message of at most :data:`SEMANTIC_MAX_WORDS` words, its meaning is very close to one
(cosine ≥ :data:`SEMANTIC_CUTOFF`) and the message names nothing the bot answers about. Anything
else ("hi, what is a t level?") is left to the rest of the answer path.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from bot.answering.query import Query
from bot.encoder import EmbeddingCache
from bot.text import normalise

TYPO_CUTOFF = 88.0
SEMANTIC_CUTOFF = 0.82
SEMANTIC_MAX_WORDS = 6


def _has_words(key: str) -> bool:
    return sum(ch.isascii() and ch.isalpha() for ch in key) >= 2


@dataclass(frozen=True)
class SmallTalk:
    """The kind of small talk a message is, and the line to reply with."""

    kind: str
    reply: str


class SmallTalkDetector:
    """Exact, fuzzy and semantic look-ups against the maintained examples."""

    def __init__(self, data: Mapping[str, Any], cache: EmbeddingCache) -> None:
        self._replies: dict[str, list[str]] = {}
        self._by_text: dict[str, str] = {}
        texts: list[str] = []
        kinds: list[str] = []
        for kind, spec in (data.get("kinds") or {}).items():
            self._replies[kind] = [str(r).strip() for r in spec.get("replies") or ()]
            for example in spec.get("examples") or ():
                key = normalise(str(example)) or str(example).strip()
                self._by_text.setdefault(key, kind)
                texts.append(str(example))
                kinds.append(kind)
        self._keys = list(self._by_text)
        self._kinds = kinds
        self._vectors = cache.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    @staticmethod
    def _key(query: Query) -> str:
        """How an example and a message are compared: folded, or as typed if nothing is left."""
        return normalise(query.text) or query.text.strip()

    def exact(self, query: Query) -> str | None:
        """The kind of small talk ``query`` is word for word ("bye"), or None."""
        return self._by_text.get(self._key(query))

    def _kind(self, query: Query, topical: bool) -> str | None:
        key = self._key(query)
        if key in self._by_text:
            return self._by_text[key]
        if len(key) >= 4 and self._keys:
            found = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
            if found is not None:
                return self._by_text[found[0]]
        # Meaning is only trusted for a few real words: unknown symbols all look alike to the model.
        if topical or not _has_words(key) or len(key.split()) > SEMANTIC_MAX_WORDS:
            return None
        cosines = self._vectors @ query.vector
        best = int(np.argmax(cosines))
        return self._kinds[best] if cosines[best] >= SEMANTIC_CUTOFF else None

    def detect(self, query: Query, *, topical: bool = False) -> SmallTalk | None:
        """The small talk in ``query``, or None. ``topical``: the message names a topic or a job,
        so only an exact (or typo-close) example counts."""
        kind = self._kind(query, topical)
        if kind is None or not self._replies.get(kind):
            return None
        replies = self._replies[kind]
        return SmallTalk(kind, replies[zlib.crc32(query.text.encode()) % len(replies)])
