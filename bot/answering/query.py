"""A student's message, read once: canonical words, its sentences, and their meaning vectors.

Every check on the answer path (safeguarding, small talk, the knowledge base, the occupational
maps) works from the same :class:`Query`, so the text is normalised and encoded once per message,
not once per check.

A long message (a parent's paragraph, a chatty question) is read whole by the matcher, which
gives long messages a lower threshold (:data:`bot.answering.matching.LONG_MESSAGE_BONUS`): scored one
sentence at a time, real questions were answered worse, because "Is that legal?" means little
without the sentence before it. Its sentences and clauses are encoded (in one batch, on demand)
for the safeguarding check, where one clause can be a disclosure ("…not that it matters, i'll
be gone").
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

import numpy as np

from bot.encoder import Encoder
from bot.text import Normaliser

# A clause starts at a word that joins two thoughts ("i failed my exams and i just want to
# die", "how do i become a nurse not that it matters"), for the safeguarding check.
_CLAUSE = re.compile(r"[,;:!?.]+|\b(?:and|but|cos|coz|cuz|because|so|anyway|though|tho|not that|"
                     r"or|then|like|idk|lol|tbh|honestly)\b", re.IGNORECASE)
MIN_CLAUSE_WORDS = 3
# A sentence ends at . ? ! or a line break; "e.g." and "£8.00" are not ends.
_SENTENCE_END = re.compile(r"(?<=[?!])\s+|(?<=[a-z)][.])\s+(?=[A-Za-z])|\n+|(?<=[.;])\s+(?=[A-Z])")
MIN_SENTENCE_WORDS = 2
MAX_SENTENCES = 8
MAX_PARTS = 8
LONG_MESSAGE_WORDS = 20
SPLIT_MESSAGE_WORDS = 8
# Messages whose vectors are kept (1.5 KB each): on results day many students type the same
# short questions ("what is a t level", "thanks"), and encoding is most of an answer's work.
RECENT_VECTORS = 2048


class Query:
    """What the answer path knows about one message, read once: its canonical words and its
    meaning, and, only if a check asks for them, the meanings of its sentences and clauses."""

    def __init__(self, text: str, words: tuple[str, ...], vector: np.ndarray,
                 encoder: Encoder | None = None) -> None:
        self.text = text
        self.words = words
        self.vector = vector
        self._encoder = encoder

    @cached_property
    def part_texts(self) -> list[str]:
        """The message's sentences and clauses (empty for a short or one-part message)."""
        whole = {self.text}
        return [p for p in dict.fromkeys([*sentences(self.text), *clauses(self.text)])
                if p not in whole][:MAX_PARTS - 1]

    @cached_property
    def part_vectors(self) -> np.ndarray:
        """The meaning of each part, encoded on first use (one batch)."""
        if not self.part_texts or self._encoder is None:
            return np.zeros((0, len(self.vector)), dtype=np.float32)
        return self._encoder.encode(self.part_texts)


def clauses(text: str) -> list[str]:
    """The clauses of a message worth checking alone (only when there are two or more)."""
    if len(text.split()) < SPLIT_MESSAGE_WORDS:
        return []
    found = [c.strip() for c in _CLAUSE.split(text) if c and len(c.split()) >= MIN_CLAUSE_WORDS]
    return found[:MAX_SENTENCES] if len(found) > 1 else []


def sentences(text: str) -> list[str]:
    """The sentences of a message worth checking alone (only when there are two or more)."""
    if len(text.split()) < SPLIT_MESSAGE_WORDS:
        return []
    found = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    found = [s for s in found if len(s.split()) >= MIN_SENTENCE_WORDS]
    return found[:MAX_SENTENCES] if len(found) > 1 else []


class QueryReader:
    """Turns text into a :class:`Query` with one normaliser and one encoder."""

    def __init__(self, normaliser: Normaliser, encoder: Encoder) -> None:
        self.normaliser = normaliser
        self.encoder = encoder
        self._vector = lru_cache(maxsize=RECENT_VECTORS)(self._encode)

    def _encode(self, text: str) -> np.ndarray:
        vector = self.encoder.encode_one(text)
        vector.flags.writeable = False  # shared by every later reading of the same text
        return vector

    def forget_recent(self) -> None:
        """Drop the recent messages' vectors (a benchmark that asks again times encoding again)."""
        self._vector.cache_clear()

    def read(self, text: str) -> Query:
        """Normalise and encode the message (its parts wait until something needs them); a
        text read recently is not encoded again."""
        return Query(text, tuple(self.normaliser.words(text)), self._vector(text), self.encoder)
