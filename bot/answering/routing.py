"""One routing decision per message: a knowledge entry or an occupation on the maps.

Safeguarding and small talk are settled before this (see :class:`bot.answering.responder.Responder`). What is
left is a careers question, and the question here is which index answers it. Job search happens
only when the message is about a job, never because an ordinary word matches a title:

- **It names a job** (:meth:`bot.maps.search.OccupationIndex.names_a_job`): once job-seeking
  wording and fillers are removed, the words are a job's name ("nurse", "butcher apprenticeship",
  "plumber level 2", "electrician salary"). The occupation answers unless the knowledge base
  is near-certain (:data:`KB_CERTAIN`: "where can i find a careers adviser" is a phrasing of an
  entry), or it would answer with some confidence (:data:`KB_SURE`) and every job word is one it
  uses itself ("are you a young worker" is about young workers' rights).
- **It asks about becoming something** (``job_intent_phrases``: "how do i become a…", "career
  as…") and the words after that name a job: as above ("can i be an apprentice" names no job).
- **It asks for jobs in a field** (``interest_phrases``: "jobs with animals", "careers in law",
  "i like fixing cars", "something creative") and the words after that are the maps' own words
  (the first one, and most of them; "apprenticeships in leeds" is not a job search): a list of
  jobs for that interest (:meth:`bot.maps.explore.OccupationExplorer.for_interest`) unless the
  knowledge base is near-certain.
- Otherwise the knowledge base decides.

In every case the best occupation must score at least the occupation threshold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.matching import Match
from bot.maps.model import Occupation
from bot.maps.search import OccupationIndex
from bot.text import normalise

KB_CERTAIN = 90.0
KB_SURE = 60.0

_LEVEL = re.compile(r"\b(?:level|lvl|lv)\s*([1-8])\b")
# "something like a t level", "something about advanced nationals": no interest is named.
_COMPARISON = ("like ", "similar ", "about ", "between ", "else", "other ", "different ")
_PUNCTUATION = re.compile(r"[,.;:!?()]")
_ARTICLES = frozenset({"a", "an", "the", "some", "one", "in", "at", "with", "for", "on", "as"})
_BOUNDARY = re.compile(
    r"\b(?:but|and|n|or|without|thru|through|what|wat|how|any|so|cos|because|coz|if|"
    r"when|where|do|does|is|are|can|could|should|would|with an|via|instead|at|near|from)\b"
)


@dataclass(frozen=True)
class JobSignal:
    """What a message says about jobs, and the occupations it could mean (empty: not a job)."""

    results: tuple[tuple[Occupation, float], ...]
    # The field of an interest question ("animals" in "jobs with animals"), or None.
    interest: str | None = None

    @property
    def best_score(self) -> float:
        return self.results[0][1] if self.results else 0.0


def words_after(pattern: re.Pattern[str] | None, text: str) -> str | None:
    """The words right after the last match of ``pattern`` ("…wanna be a mechanic wat do i do"
    → "mechanic"), so chatty context around a job does not dilute the search."""
    if pattern is None:
        return None
    found = None
    for segment in _PUNCTUATION.split(text.lower()):
        folded = normalise(segment)
        matches = list(pattern.finditer(folded))
        if matches:
            found = folded[matches[-1].end():]
    if found is None:
        return None
    words = found.split()
    while words and words[0] in _ARTICLES:
        words.pop(0)
    focused = _BOUNDARY.split(" ".join(words), maxsplit=1)[0].strip()
    return focused or None


def job_words(index: OccupationIndex, text: str) -> str | None:
    """The words after job-seeking wording, if the message has any."""
    return words_after(index.rules.job_intent, text) or words_after(index.rules.interest, text)


def named_level(text: str) -> int | None:
    """The qualification level a message names ("plumber level 2", "lvl 3 jobs"), or None."""
    found = _LEVEL.search(normalise(text))
    return int(found.group(1)) if found else None


def search_job(index: OccupationIndex, text: str, limit: int) -> list[tuple[Occupation, float]]:
    """The occupations a message asks about, best first; at the level it names when some are
    ("plumber level 2"), else all levels."""
    level = named_level(text)
    if level is None:
        return _search_job(index, text, limit)
    results = _search_job(index, text, limit * 4)
    at_level = [(o, s) for o, s in results if o.level == level]
    if not at_level:
        # The usual jobs for the word may all be at another level: search wider.
        words = job_words(index, text) or text
        at_level = [(o, s) for o, s in index.search(words, limit=limit * 10) if o.level == level]
    return (at_level or results)[:limit]


def _search_job(index: OccupationIndex, text: str, limit: int) -> list[tuple[Occupation, float]]:
    """The usual occupations for a bare job word ("nurse"), else a search of the job words
    when the message has them, else of the whole."""
    common = index.common_job(text)
    if common:
        return [(o, 100.0 - i) for i, o in enumerate(common[:limit])]
    whole = index.search(text, limit=limit)
    focused_text = job_words(index, text)
    if focused_text:
        common = index.common_job(focused_text)
        if common:
            return [(o, 100.0 - i) for i, o in enumerate(common[:limit])]
        focused = index.search(focused_text, limit=limit)
        if focused and (not whole or focused[0][1] >= whole[0][1]):
            return focused
    return whole


def read_job_signal(index: OccupationIndex, text: str, limit: int,
                    ordinary: Callable[[str], bool] = lambda _: False) -> JobSignal:
    """The occupations a message asks about, or none when it is not about a job.
    ``ordinary`` says whether a word is one the knowledge base itself uses. An interest
    ("jobs with animals", "i like fixing cars") is read as one unless its words are a job
    people name on its own ("jobs in nursing")."""
    field = words_after(index.rules.interest, text)
    if (field is not None and not field.startswith(_COMPARISON) and index.knows_field(field)
            and not index.common_job(field)):
        return JobSignal(tuple(index.search(field, limit=limit)), interest=field)
    becoming = words_after(index.rules.job_intent, text)
    # "dental nurse how do i train": the job comes before the question about it.
    lead = _BOUNDARY.split(normalise(text), maxsplit=1)[0]
    if any(index.names_a_job(words, ordinary) for words in (text, lead, becoming) if words):
        return JobSignal(tuple(search_job(index, text, limit)))
    return JobSignal(())


def prefers_occupation(match: Match, signal: JobSignal, threshold: float,
                       kb_words: bool = False) -> bool:
    """The boundary between the knowledge base and the maps (see the module docstring).
    ``kb_words``: every job word is one the knowledge base uses too ("young worker"); an
    interest ("i like computers") is asking for jobs whatever words it uses."""
    if not signal.results or signal.results[0][1] < threshold:
        return False
    if kb_words and signal.interest is None and match.kind == "answer" and match.score >= KB_SURE:
        return False
    kb_score = match.score if match.kind in ("answer", "clarify") else 0.0
    return kb_score < KB_CERTAIN
