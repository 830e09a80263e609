"""Meaning-based scores for knowledge entries: the sentence encoder's half of the matcher.

Every phrasing of every entry (title and alternate questions) and every sentence of its answer is
encoded once per knowledge base (vectors are cached on disk by
:class:`bot.encoder.EmbeddingCache`). A question is encoded once; its score for an entry is the
cosine similarity with the entry's closest phrasing, plus :data:`ANSWER_WEIGHT` times the
similarity with the answer's closest sentence (the sum scaled back to 0-1). The model was trained on questions paired with
the passages that answer them, so the answer's own sentences help where no phrasing is close:
"What does the T stand for?" finds the sentence that says what it stands for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from bot.encoder import EmbeddingCache

ANSWER_WEIGHT = 0.0
READOUT_WEIGHT = 3.0
READOUT_RIDGE = 0.1
MIN_SENTENCE_WORDS = 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_MARKUP = re.compile(r"\]\([^)]*\)|\*\*|\\|^[-*]\s+", re.MULTILINE)


def answer_sentences(body: str) -> list[str]:
    """The sentences of an answer worth comparing with a question (Markdown removed)."""
    plain = _MARKUP.sub(lambda m: "]" if m.group(0).startswith("]") else "", body)
    found = (s.strip(" -[]") for s in _SENTENCE.split(plain))
    return [s for s in found if len(s.split()) >= MIN_SENTENCE_WORDS]


class _Groups:
    """Vectors stored entry by entry, and the best cosine per entry for query vectors."""

    def __init__(self, texts_by_entry: Sequence[Sequence[str]], cache: EmbeddingCache) -> None:
        texts = [t for group in texts_by_entry for t in group]
        owner = np.repeat(np.arange(len(texts_by_entry)), [len(g) for g in texts_by_entry])
        self.size = len(texts_by_entry)
        self.matrix = cache.embed(texts)
        # Each entry is one contiguous slice: reduce with one call.
        self.starts = np.flatnonzero(np.r_[True, np.diff(owner) != 0]) if len(owner) else owner
        self.present = owner[self.starts] if len(owner) else owner

    def best(self, vectors: np.ndarray) -> np.ndarray:
        result = np.zeros((len(vectors), self.size), dtype=np.float32)
        if len(self.matrix):
            cosines = vectors @ self.matrix.T
            result[:, self.present] = np.maximum(
                np.maximum.reduceat(cosines, self.starts, axis=1), 0.0)
        return result


class SemanticIndex:
    """Phrasing and answer-sentence vectors of one knowledge base, grouped by entry, and a
    linear read-out trained on the phrasings."""

    def __init__(self, phrasings: Mapping[str, Sequence[str]], cache: EmbeddingCache,
                 bodies: Mapping[str, str] | None = None) -> None:
        self.entry_ids = list(phrasings)
        self._phrasings = _Groups([phrasings[e] for e in self.entry_ids], cache)
        self._answers = _Groups(
            [answer_sentences((bodies or {}).get(e, "")) for e in self.entry_ids], cache)
        counts = [len(phrasings[e]) for e in self.entry_ids]
        self._readout = _ridge_readout(self._phrasings.matrix, np.repeat(
            np.arange(len(counts)), counts), len(counts))

    @property
    def phrasing_count(self) -> int:
        return len(self._phrasings.matrix)

    def channels(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closest phrasing, closest answer sentence and the read-out, each (queries, entries)."""
        vectors = np.atleast_2d(vectors)
        readout = np.clip(np.c_[vectors, np.ones(len(vectors))] @ self._readout, 0.0, 1.0)
        return self._phrasings.best(vectors), self._answers.best(vectors), readout

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Each entry's similarity to each query vector: shape (queries, entries), 0 to 1."""
        nearest, answer, readout = self.channels(vectors)
        return (nearest + ANSWER_WEIGHT * answer + READOUT_WEIGHT * readout) / (
            1 + ANSWER_WEIGHT + READOUT_WEIGHT)


def _ridge_readout(matrix: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Least-squares weights from a phrasing vector (plus a bias) to its entry's one-hot row.

    A closed-form linear probe: trained on the knowledge base's own phrasings, it learns which
    directions of meaning separate entries, so it generalises past the nearest phrasing.
    """
    if not len(matrix):
        return np.zeros((matrix.shape[1] + 1, classes), dtype=np.float32)
    features = np.c_[matrix, np.ones(len(matrix))].astype(np.float64)
    targets = np.zeros((len(matrix), classes))
    targets[np.arange(len(matrix)), labels] = 1.0
    gram = features.T @ features + READOUT_RIDGE * np.eye(features.shape[1])
    return np.linalg.solve(gram, features.T @ targets).astype(np.float32)
