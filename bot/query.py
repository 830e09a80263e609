"""A student's message, read once: canonical words, its sentences, and their meaning vectors.

Every check on the answer path (safeguarding, small talk, the knowledge base, the occupational
maps) works from the same :class:`Query`, so the text is normalised and encoded once per message,
not once per check.

A long message (a parent's paragraph, a chatty question) is also split into sentences: each
sentence is scored on its own as well as the whole, so the one sentence that asks the question can
carry the answer ("My son is 16 and has been offered a place at a garage. … Will he be paid?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.encoder import Encoder
from bot.text import Normaliser

# A sentence ends at . ? ! or a line break; "e.g." and "£8.00" are not ends.
_SENTENCE_END = re.compile(r"(?<=[?!])\s+|(?<=[a-z)][.])\s+(?=[A-Za-z])|\n+|(?<=[.;])\s+(?=[A-Z])")
MIN_SENTENCE_WORDS = 3
MAX_SENTENCES = 6


@dataclass(frozen=True)
class Part:
    """The whole message or one of its sentences."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """What the answer path knows about one message."""

    text: str
    parts: tuple[Part, ...]
    vectors: np.ndarray

    @property
    def words(self) -> tuple[str, ...]:
        """Canonical, stemmed words of the whole message."""
        return self.parts[0].words

    @property
    def vector(self) -> np.ndarray:
        """The meaning of the whole message."""
        return self.vectors[0]


def sentences(text: str) -> list[str]:
    """The sentences of a message worth scoring alone (only when there are two or more)."""
    found = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    found = [s for s in found if len(s.split()) >= MIN_SENTENCE_WORDS]
    return found[:MAX_SENTENCES] if len(found) > 1 else []


class QueryReader:
    """Turns text into a :class:`Query` with one normaliser and one encoder."""

    def __init__(self, normaliser: Normaliser, encoder: Encoder) -> None:
        self.normaliser = normaliser
        self.encoder = encoder

    def read(self, text: str) -> Query:
        """Normalise and encode the message and (if it has several) each of its sentences."""
        texts = [text, *sentences(text)]
        parts = tuple(Part(t, tuple(self.normaliser.words(t))) for t in texts)
        return Query(text, parts, self.encoder.encode(texts))
