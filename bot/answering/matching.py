"""Finding the entry a question is about: fuzzy words and sentence meaning, fused, then decided.

Two channels score every entry (both 0-100 in the end):

- **Words** (:mod:`bot.answering.lexical`): IDF-weighted recall with rapidfuzz typo correction. Strong on
  typos, abbreviations, rare exact words and questions typed like a listed phrasing.
- **Meaning** (:mod:`bot.answering.semantic`): how close the question's sentence vector is to the entry's
  phrasings (all-MiniLM-L6-v2): the closest one, and a read-out fitted on all of them. Strong on
  paraphrase and formal FAQ wording that shares few words with any phrasing ("How are T Levels
  developed?").

The fused score is ``LEXICAL_WEIGHT × words + (1 - LEXICAL_WEIGHT) × 100 × meaning``.

Decision, on the best entry's fused score:

- the question is exactly a listed phrasing (after clean-up) → answer;
- below ``clarify_floor`` → "I don't know" (fallback);
- below ``threshold`` → "Did you mean…?" with the best and the entries within
  :data:`CLARIFY_BAND` of it;
- at or above ``threshold``: when the runner-up is within the margin → "Did you mean…?";
  otherwise answer. The margin is ``margin`` points at the threshold and shrinks linearly to 0
  at a perfect score. A runner-up that the best entry's answer already offers as a
  related-topic button (its ``companions``) needs no question: the student gets the best
  answer and a tap to the other.

Both cut-offs drop by :data:`AGREEMENT_BONUS` when the word and meaning channels, each on its
own, put the same entry first (they are then right far more often: 85% of right answers agree,
20% of wrong ones), and by :data:`LONG_MESSAGE_BONUS` for a message of
:data:`bot.answering.query.LONG_MESSAGE_WORDS`+ words, whose scores against short phrasings run low even
when it is clear. Scoring a long message sentence by sentence was tried and answered worse.

Calibration (26 November 2026): ``tools/tune_matching.py`` replays the decision over every
labelled set in ``tests/data`` and scores parameters by right answers and abstentions, with a
confident wrong answer costing 1.5 and a set whose wrong answers are not rarer than its
clarifications penalised. Five-fold cross-validation of that search (folds cut across all sets,
each fold's search starting from the constants here) estimates, on held-out folds: dev 99.2%
right (0.0% confident wrong), paraphrases 94.3% (1.7%), real-dev 88.1% (3.4%), real-pages 83.2%
(2.9%). Its all-folds choice (read-out 1.0, words 0.35, threshold 56, margin 4) and the constants
here score within 1% of each other on its objective; these were kept because, replayed through
the whole answer path, they clear the suite's floors (``tests/test_dev_eval.py``) with a question
to spare on every set and keep wrong answers well below clarifications on real-pages (7 against
12).
``CAREERS_BOT_MATCH_THRESHOLD`` and ``CAREERS_BOT_AMBIGUITY_MARGIN`` override the threshold and
margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.answering.lexical import LexicalIndex
from bot.answering.query import LONG_MESSAGE_WORDS, Query
from bot.answering.semantic import SemanticIndex
from bot.encoder import EmbeddingCache
from bot.text import Normaliser

LEXICAL_WEIGHT = 0.45
THRESHOLD = 51.0
MARGIN = 6.0
CLARIFY_FLOOR = 51.0
CLARIFY_BAND = 4.0
AGREEMENT_BONUS = 6.0
LONG_MESSAGE_BONUS = 8.0
MAX_CANDIDATES = 3

Kind = Literal["answer", "clarify", "fallback"]


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
    """Both channels over one knowledge base, and the decision between them."""

    def __init__(
        self,
        phrasings: Mapping[str, Sequence[str]],
        normaliser: Normaliser,
        cache: EmbeddingCache,
        *,
        bodies: Mapping[str, str] | None = None,
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
        clarify_floor: float = CLARIFY_FLOOR,
        lexical_weight: float = LEXICAL_WEIGHT,
        companions: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.entry_ids = list(phrasings)
        self.lexical = LexicalIndex(phrasings, normaliser, bodies=bodies)
        self.semantic = SemanticIndex(phrasings, cache)
        self.threshold = threshold
        self.margin = margin
        self.clarify_floor = min(clarify_floor, threshold)
        self.lexical_weight = lexical_weight
        self.companions = {e: frozenset(c) for e, c in (companions or {}).items()}

    @property
    def phrasing_count(self) -> int:
        return self.lexical.phrasing_count

    def scores(self, query: Query) -> tuple[np.ndarray, bool]:
        """Every entry's fused score (``entry_ids`` order); and whether the word and meaning
        channels, on their own, both put the fused best first."""
        meaning = self.semantic.scores(query.vector)[0]
        lexical = self.lexical.scores(query.words)
        fused = self.lexical_weight * lexical + (1 - self.lexical_weight) * 100.0 * meaning
        top = int(np.argmax(fused))
        agree = int(np.argmax(lexical)) == top == int(np.argmax(meaning)) and lexical[top] > 0
        return fused, agree

    def rank(self, query: Query, limit: int = MAX_CANDIDATES) -> list[Candidate]:
        """The best entries for the query, best first."""
        return self._ranked(self.scores(query)[0], limit)

    def _ranked(self, fused: np.ndarray, limit: int) -> list[Candidate]:
        order = np.argsort(-fused, kind="stable")[:limit]
        return [Candidate(self.entry_ids[i], round(float(fused[i]), 1)) for i in order
                if fused[i] > 0]

    def match(self, query: Query) -> Match:
        """Decide between answering, asking "Did you mean…?" and saying "I don't know"."""
        exact = self.lexical.exact(query.words)
        if exact is not None:
            return Match("answer", (Candidate(exact, 100.0),))
        fused, agree = self.scores(query)
        ranked = self._ranked(fused, MAX_CANDIDATES)
        # Two channels that pick the same entry on their own are more often right than either;
        # a long message scores lower against short phrasings even when it is clear.
        bonus = (AGREEMENT_BONUS if agree else 0.0) + (
            LONG_MESSAGE_BONUS if len(query.text.split()) >= LONG_MESSAGE_WORDS else 0.0)
        return decide(ranked, threshold=self.threshold, margin=self.margin,
                      clarify_floor=self.clarify_floor, bonus=bonus, companions=self.companions)


def decide(ranked: Sequence[Candidate], *, threshold: float, margin: float,
           clarify_floor: float, bonus: float = 0.0,
           companions: Mapping[str, frozenset[str]] | None = None) -> Match:
    """The decision on ranked candidates (see the module docstring), both cut-offs lowered by
    ``bonus``. Shared with ``tools/tune_matching.py``, which replays it for other parameters."""
    floor, threshold = min(clarify_floor, threshold) - bonus, threshold - bonus
    if not ranked or ranked[0].score < floor:
        return Match("fallback", tuple(ranked))
    best = ranked[0]
    if best.score < threshold:
        close = [c for c in ranked[1:] if best.score - c.score < CLARIFY_BAND]
        return Match("clarify", (best, *close))
    # The margin narrows as the best score nears 100: a near-exact match is rarely
    # ambiguous, a middling one often is.
    margin = margin * (100.0 - best.score) / max(100.0 - threshold, 1e-6)
    offered = (companions or {}).get(best.entry_id, frozenset())
    close = [c for c in ranked[1:] if best.score - c.score < margin
             and c.entry_id not in offered]
    if close:
        return Match("clarify", (best, *close))
    return Match("answer", tuple(ranked))
