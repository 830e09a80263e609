"""Occupations by meaning: related jobs that widen a student's view, and jobs for an interest.

Careers guidance should widen a young person's view, not narrow it. Word search
(:mod:`bot.maps.search`) finds the job a student names; here each current occupation is read as
one short text (title, typical job titles, overview) and encoded with the same sentence encoder
as the answers (:mod:`bot.encoder`), so "jobs with animals" finds farriers, zookeepers and
veterinary nurses though no title says "animals", and an electrician's related jobs include a
marine electrician on another route. Vectors are cached on disk per text: a new map version
re-encodes only the occupations it changed.

Both lists are made diverse on purpose: one option of a standard stands for all its options
("Plumbing and domestic heating technician - …" appears once), and an interest list spreads over
routes and levels instead of showing five variants of one job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np

from bot.encoder import EmbeddingCache
from bot.maps.model import Occupation
from bot.maps.search import OccupationIndex

RELATED = 6
# A job on another route is shown when it is this close to the occupation (cosine).
OTHER_ROUTE_CLOSE = 0.45
# A step up or down the same route is shown when it is at least this close.
STEP_CLOSE = 0.35
INTEREST_TEMPLATE = "a job working with {field}"
INTEREST_POOL = 60
INTEREST_MIN = 0.3
INTEREST_RESULTS = 20
# The word search's score (0-100) adds up to this much to the cosine.
WORDS_SHARE = 0.25
# The first page is spread over routes and levels among jobs scoring this share of the best.
BAND = 0.6
FIRST_PAGE = 5


def occupation_text(occupation: Occupation) -> str:
    """What an occupation is, in one short text for the encoder."""
    titles = ", ".join(occupation.typical_job_titles[:6])
    parts = [occupation.title, titles, occupation.overview]
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())


def base_title(occupation: Occupation) -> str:
    """The standard's name without its option ("Plumbing … technician - Gas" → "Plumbing …")."""
    return occupation.standard.casefold()


class OccupationExplorer:
    """Meaning-based views over one map's current occupations (those the index searches)."""

    def __init__(self, index: OccupationIndex, cache: EmbeddingCache) -> None:
        self.index = index
        self._cache = cache
        self._occupations = index.occupations
        self._row = {o.id: i for i, o in enumerate(self._occupations)}

    @cached_property
    def _vectors(self) -> np.ndarray:
        """Every occupation's vector (encoded once per text, then read from the cache)."""
        return self._cache.embed([occupation_text(o) for o in self._occupations])

    def warm(self) -> int:
        """Encode every occupation now (a few seconds the first time, then read from the disk
        cache), so the first student to ask is not the one who waits; how many there are."""
        return len(self._vectors)

    def _vector_of(self, occupation: Occupation) -> np.ndarray:
        row = self._row.get(occupation.id)
        if row is not None:
            return self._vectors[row]
        # One vector, encoded as a question is (the cache's file may have been released).
        return self._cache.encoder.encode_one(occupation_text(occupation))

    def related(self, occupation: Occupation, limit: int = RELATED) -> list[Occupation]:
        """Jobs that use similar knowledge and skills, nearest first, including the closest
        job on another route (when one is close) and a step up and down a level on the same
        route: no alphabetical filler."""
        similarity = self._vectors @ self._vector_of(occupation)
        order = [int(i) for i in np.argsort(-similarity)]
        own = base_title(occupation)
        candidates = [i for i in order if self._occupations[i].id != occupation.id
                      and base_title(self._occupations[i]) != own]
        chosen: list[int] = []

        def take(rows: Iterable[int], floor: float) -> None:
            for i in rows:
                if similarity[i] < floor:
                    return
                if i not in chosen:
                    chosen.append(i)
                    return

        take((i for i in candidates if self._occupations[i].route_id != occupation.route_id),
             OTHER_ROUTE_CLOSE)
        for step in (1, -1):
            take((i for i in candidates
                  if self._occupations[i].route_id == occupation.route_id
                  and self._occupations[i].level == occupation.level + step), STEP_CLOSE)
        for i in candidates:
            if len(chosen) >= limit:
                break
            if i not in chosen:
                chosen.append(i)
        chosen = _one_per_standard(chosen, self._occupations)[:limit]
        chosen.sort(key=lambda i: -similarity[i])
        return [self._occupations[i] for i in chosen]

    def for_interest(self, field: str, limit: int = INTEREST_RESULTS) -> list[Occupation]:
        """Jobs for an interest ("animals", "fixing cars", "something creative"): closeness in
        meaning to "a job working with <field>", plus a share of the word search's score (it
        knows the maps' synonyms and spellings). The first page is spread over routes and
        levels (no two jobs of the same route and level while others are close enough), one
        option per standard; then the rest by score."""
        meaning = self.index.rules.with_synonyms(field)
        query = self._cache.encoder.encode([INTEREST_TEMPLATE.format(field=meaning)])[0]
        score = self._vectors @ query
        for occupation, words_score in self.index.search(field, limit=INTEREST_POOL):
            row = self._row.get(occupation.id)
            if row is not None:
                score[row] += WORDS_SHARE * words_score / 100
        pool = [int(i) for i in np.argsort(-score)[:INTEREST_POOL] if score[i] >= INTEREST_MIN]
        pool = _one_per_standard(pool, self._occupations)
        if not pool:
            return []
        band = score[pool[0]] * BAND
        first: list[int] = []
        shown: set[tuple[str | None, int]] = set()
        for i in pool:
            occupation = self._occupations[i]
            if score[i] < band or len(first) == FIRST_PAGE:
                break
            if (occupation.route_id, occupation.level) not in shown:
                first.append(i)
                shown.add((occupation.route_id, occupation.level))
        rest = [i for i in pool if i not in first]
        return [self._occupations[i] for i in [*first, *rest][:limit]]


def _one_per_standard(rows: Sequence[int], occupations: Sequence[Occupation]) -> list[int]:
    """Keep the first (closest) option of each standard."""
    seen: set[str] = set()
    kept = []
    for i in rows:
        base = base_title(occupations[i])
        if base not in seen:
            seen.add(base)
            kept.append(i)
    return kept
