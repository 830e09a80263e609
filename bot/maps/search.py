"""Finding occupations on the maps from what a student types, fast and typo-tolerant.

How ``"how do i become an electrican"`` becomes "Installation and maintenance electrician":

1. Wording around the job is removed using ``knowledge/occupation_phrases.yaml`` (intent
   phrases such as "how do i become a", then filler words); everyday words are swapped for the
   maps' own ("sparky" → "electrician"). The phrase lists are data so maintainers can extend them.
2. The remaining words are stemmed; "brick layer" is joined when titles say "bricklayer" and
   never "brick layer". A word the maps never use is corrected to the closest word they (or the
   filler list) use: rapidfuzz ``ratio`` ≥ :data:`TYPO_CUTOFF`, compared only with words of
   similar length; a misspelt filler ("becomme") is dropped. Misspellings too far for that
   ("electrishun") belong in the YAML synonyms.
3. Candidates come from an inverted index built once: word → occupations, weighted by where the
   word appears (title 1.0, typical job titles 0.9, overview/products/route as keywords 0.45) and
   by rarity (IDF). Coverage is the weighted share of the query's words an occupation has; words
   found nowhere count against it, which keeps "pizza" from matching anything.
4. Only the best :data:`SHORTLIST` candidates are re-scored with rapidfuzz's ``token_sort_ratio``
   against their title and job titles (one ``cdist`` call): the slow scorer never sees the corpus.

Score (0-100) = 70 × coverage + 30 × best name similarity / 100. Ties go to approved occupations,
then ones with an apprenticeship approved for delivery, then the lower level (the usual way in).
Retired or withdrawn occupations are not searchable.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, process

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import safe_load
from bot.maps.diff import is_retired
from bot.maps.model import Occupation, OccupationMap, Route
from bot.maps.parse import load_bundled_map
from bot.maps.store import current_map
from bot.text import normalise, stem

PHRASES_PATH = DEFAULT_KNOWLEDGE_DIR / "occupation_phrases.yaml"
TITLE_WEIGHT = 1.0
JOB_TITLE_WEIGHT = 0.9
KEYWORD_WEIGHT = 0.45
COVERAGE_WEIGHT = 70.0
NAME_WEIGHT = 30.0
SHORTLIST = 12
TYPO_CUTOFF = 80.0
MIN_TYPO_LENGTH = 4
MAX_QUERY_WORDS = 12

LEVEL_WORDS = {
    1: "Level 1 – like GCSEs at grades 3 to 1",
    2: "Level 2 – like GCSEs at grades 9 to 4",
    3: "Level 3 – like A levels",
    4: "Level 4 – like a Higher National Certificate (HNC) or the first year of a degree",
    5: "Level 5 – like a foundation degree or a Higher National Diploma (HND)",
    6: "Level 6 – like a bachelor's degree",
    7: "Level 7 – like a master's degree",
    8: "Level 8 – like a doctorate",
}


def level_in_words(level: int) -> str:
    """A level as a student would understand it ("Level 3 – like A levels")."""
    return LEVEL_WORDS.get(level, f"Level {level}")


def technical_level(level: int) -> str:
    """The map column a level is in: Technical (2-3), Higher technical (4-5), Professional (6-7)."""
    if level <= 3:
        return "Technical"
    if level <= 5:
        return "Higher technical"
    return "Professional"


def route_occupations(
    occupation_map: Mapping[str, Occupation], route_id: str
) -> dict[int, list[Occupation]]:
    """A route's current occupations grouped by level (lowest first), titles A-Z, for browsing."""
    grouped: dict[int, list[Occupation]] = defaultdict(list)
    for occupation in occupation_map.values():
        if occupation.route_id == route_id and not is_retired(occupation):
            grouped[occupation.level].append(occupation)
    return {
        level: sorted(grouped[level], key=lambda o: (o.title.casefold(), o.id))
        for level in sorted(grouped)
    }


# --- phrase rules (data from knowledge/occupation_phrases.yaml) -------------------------------


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    cleaned = sorted({normalise(p) for p in phrases if normalise(p)}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile(r"\b(?:" + "|".join(map(re.escape, cleaned)) + r")\b")


@dataclass(frozen=True)
class PhraseRules:
    """How query wording is cleaned before matching (see the YAML file's header)."""

    intent: re.Pattern[str] | None
    fillers: frozenset[str]
    synonyms: Mapping[str, str]
    synonym_pattern: re.Pattern[str] | None
    job_intent: re.Pattern[str] | None = None
    interest: re.Pattern[str] | None = None
    common_jobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PhraseRules:
        for key in ("intent_phrases", "filler_words"):
            bad = [w for w in data.get(key) or () if not isinstance(w, str)]
            if bad:
                raise ValueError(f"{key}: quote these so YAML reads them as words: {bad}")
        synonyms = {
            normalise(str(k)): normalise(str(v)) for k, v in (data.get("synonyms") or {}).items()
        }
        common = {
            normalise(str(k)): tuple(str(i) for i in v or ())
            for k, v in (data.get("common_jobs") or {}).items()
        }
        return cls(
            intent=_alternation(data.get("intent_phrases") or ()),
            fillers=frozenset(normalise(w) for w in data.get("filler_words") or ()),
            synonyms=synonyms,
            synonym_pattern=_alternation(synonyms),
            job_intent=_alternation(data.get("job_intent_phrases") or ()),
            interest=_alternation(data.get("interest_phrases") or ()),
            common_jobs=common,
        )

    def with_synonyms(self, text: str) -> str:
        """``text`` normalised, everyday words swapped for the maps' own ("fixing cars" →
        "motor vehicle service and maintenance")."""
        return self._swap(normalise(text))

    def _swap(self, folded: str) -> str:
        """Apply the synonyms to normalised text, leaving a word alone when the words before it
        already say what the synonym would add ("motor vehicle mechanic" stays as it is)."""
        if self.synonym_pattern is None:
            return folded

        def swap(match: re.Match[str]) -> str:
            word, replacement = match.group(0), self.synonyms[match.group(0)]
            added = replacement.removesuffix(word).strip()
            if added != replacement and folded[: match.start()].rstrip().endswith(added):
                return word
            return replacement

        return self.synonym_pattern.sub(swap, folded)

    def clean(self, text: str) -> list[str]:
        """The words of ``text`` that could name a job, synonyms applied, in order."""
        folded = normalise(text)
        if self.intent is not None:
            folded = self.intent.sub(" ", folded)
        folded = self._swap(folded)
        return [w for w in folded.split() if w not in self.fillers and not w.isdigit()][
            :MAX_QUERY_WORDS
        ]


def load_phrases(path: Path = PHRASES_PATH) -> PhraseRules:
    """The phrase rules from YAML."""
    return PhraseRules.from_data(safe_load(path.read_text(encoding="utf-8")) or {})


# --- the index ------------------------------------------------------------------------------

MAX_NAME_WORDS = 4
_TRADE_CONTEXT = re.compile(r"\b(?:apprentice\w*|course|courses|training|job|jobs|career|careers|"
                            r"work|qualification\w*|t levels?)\b")
_POSSESSED = re.compile(r"\b(?:my|your|ur|our|his|her|their|mums|dads)\s+\w+")
# Words that end many job names but name no job alone.
_GENERIC = frozenset({"worker", "assistant", "manager", "officer", "technician", "operative",
                      "specialist", "professional", "practitioner", "leader", "employee",
                      "staff", "member", "trainee", "apprentice", "student", "person",
                      "technical", "senior", "junior", "lead", "head", "chief", "principal",
                      "general", "skill"})
_BRACKETS = re.compile(r"\([^)]*\)")


def fold_plural(word: str) -> str:
    """A word with a plural -s folded ("nurses" → "nurse"); unlike a stem it keeps "developed"
    apart from "developer"."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _job_name_phrases(occupation: Occupation, heads: frozenset[str]) -> set[str]:
    """What the maps call this job: its typical job titles (brackets removed), and its title,
    the title's part before " - Option" and the option, each only when it ends in a word that
    names a person doing a job (``heads``): "Site Carpenter" is a job's name, "Geospatial mapping
    and science" is not."""
    names = set(occupation.typical_job_titles)
    names.update(n for n in (occupation.title, occupation.standard, occupation.option)
                 if n and (_head(n) in heads or _head(n).endswith(_AGENT_ENDINGS)))
    return {n for n in (normalise(_BRACKETS.sub(" ", name)) for name in names) if n}


# Words that end a job's name, on top of the ends of the maps' typical job titles, and the
# endings of words for a person doing something (firefighter, pharmacist, electrician).
_AGENT_ENDINGS = ("er", "or", "ist", "ian", "man", "woman", "wright", "smith")
_JOB_HEADS = frozenset({"carpenter", "joiner", "technician", "engineer", "operative", "worker",
                        "assistant", "officer", "manager", "practitioner", "specialist",
                        "nurse", "therapist", "designer", "developer", "maker", "fitter",
                        "installer", "inspector", "analyst", "advisor", "adviser", "consultant"})


def _head(name: str) -> str:
    words = normalise(_BRACKETS.sub(" ", name)).split()
    return fold_plural(words[-1]) if words else ""


def _words(text: str, fillers: frozenset[str]) -> list[str]:
    return [w for w in normalise(text).split() if w not in fillers]


class OccupationIndex:
    """Search over one map's occupations; build once per map version (:meth:`build`)."""

    def __init__(
        self,
        occupation_map: OccupationMap,
        rules: PhraseRules,
        occupations: list[Occupation],
        postings: dict[str, dict[int, float]],
        idf: dict[str, float],
        names: list[list[str]],
        surface: dict[str, str],
    ) -> None:
        self.map = occupation_map
        self.rules = rules
        self._occupations = occupations
        self._postings = postings
        self._idf = idf
        self._max_idf = max(idf.values(), default=1.0)
        self._names = names
        self._surface = surface
        by_length: dict[int, list[str]] = defaultdict(list)
        for word in surface:
            by_length[len(word)].append(word)
        self._rank = [self._preference(o) for o in occupations]
        name_words = [n.split() for names_of in names for n in names_of]
        self._name_words = frozenset(w for ws in name_words for w in ws)
        self._name_pairs = frozenset(pair for ws in name_words for pair in itertools.pairwise(ws))
        for word in rules.fillers:
            by_length[len(word)].append(word)
        self._by_length = dict(by_length)
        self.resolve = lru_cache(maxsize=4096)(self._resolve)
        # Job names ("dental nurse", "site carpenter"), as stems, for telling a message that
        # names a job from one that only shares a word with a title.
        self._job_names: dict[str, list[tuple[frozenset[str], str]]] = defaultdict(list)
        self._job_name_words: set[str] = set()
        heads = _JOB_HEADS | {_head(t) for o in occupations for t in o.typical_job_titles}
        for occupation in occupations:
            for name in _job_name_phrases(occupation, heads):
                words = [fold_plural(w) for w in name.split()]
                self._job_name_words.update(words)
                stems = [stem(w) for w in words]
                # "Large goods vehicle driver C + E" ends in licence codes, not the job.
                head = next((t for t in reversed(stems) if len(t) > 2), stems[-1])
                entry = (frozenset(stems), head)
                for token in set(stems):
                    self._job_names[token].append(entry)

    @classmethod
    def build(
        cls, occupation_map: OccupationMap, rules: PhraseRules | None = None
    ) -> OccupationIndex:
        """Index every current (not retired) occupation of the map."""
        rules = rules or load_phrases()
        occupations = [o for o in occupation_map.values() if not is_retired(o)]
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        surface: dict[str, str] = {}
        names: list[list[str]] = []
        fillers = rules.fillers
        for index, occupation in enumerate(occupations):
            fields: list[tuple[float, Iterable[str]]] = [
                (TITLE_WEIGHT, [occupation.title]),
                (JOB_TITLE_WEIGHT, occupation.typical_job_titles),
                (
                    KEYWORD_WEIGHT,
                    [
                        occupation.overview,
                        occupation.route_name or "",
                        occupation.pathway or "",
                        occupation.cluster or "",
                        *(p.title for p in occupation.products),
                    ],
                ),
            ]
            for weight, texts in fields:
                for text in texts:
                    for word in _words(text, fillers):
                        token = stem(word)
                        surface.setdefault(word, token)
                        if postings[token].get(index, 0.0) < weight:
                            postings[token][index] = weight
            names.append(
                list(
                    dict.fromkeys(
                        normalise(t) for t in (occupation.title, *occupation.typical_job_titles)
                    )
                )
            )
        total = len(occupations) or 1
        idf = {token: math.log(1 + total / len(docs)) for token, docs in postings.items()}
        return cls(occupation_map, rules, occupations, dict(postings), idf, names, surface)

    def __len__(self) -> int:
        return len(self._occupations)

    @property
    def occupations(self) -> tuple[Occupation, ...]:
        """The current (searchable) occupations, in index order."""
        return tuple(self._occupations)

    def job_names(self) -> list[str]:
        """Every current occupation's title and typical job titles, once each."""
        names = (n for o in self._occupations for n in (o.title, *o.typical_job_titles))
        return list(dict.fromkeys(names))

    def job_words(self, text: str) -> list[str]:
        """The words of ``text`` that could name a job: wording, fillers and numbers removed,
        everyday words swapped for the maps' own, plurals folded."""
        return [fold_plural(w) for w in self.rules.clean(text)]

    def names_a_job(self, text: str, ordinary: Callable[[str], bool] = lambda _: False) -> bool:
        """Whether the message names a job: once job-seeking wording and fillers are removed,
        its words belong to one title or typical job title and include the word it ends with
        ("nurse", "software developer", "bricklaying apprenticeship"), or they are in
        ``common_jobs`` ("police").

        A word counts towards a name when it is spelt as in the name (plurals folded) or, for a
        word that is not ``ordinary`` (a word the knowledge base uses), shares the name's stem:
        "bricklaying" names a bricklayer, "developed" does not name a developer. Words the
        knowledge base never uses need not include the name's last word when the message is
        about work or training ("tailoring apprenticeship"). A person the
        student has ("my teacher", "my manager") is not a job they are asking about, and a
        generic word ("worker", "assistant") alone names no job.
        """
        words = self.job_words(_POSSESSED.sub(" ", normalise(text)))
        if not words or len(words) > MAX_NAME_WORDS:
            return False
        if " ".join(words) in self.rules.common_jobs:
            return True
        stems = [stem(w) for w in words]
        if all(w in _GENERIC for w in words):
            return False
        if not all(w in self._job_name_words or not ordinary(w) for w in words):
            return False
        wanted = set(stems)
        # Beside a word about work or training, words the knowledge base never uses name a
        # trade even when they are not the last word of its name ("tailoring apprenticeship":
        # "bespoke tailor and cutter"; not "4 categories").
        trade = not any(ordinary(w) for w in words) and _TRADE_CONTEXT.search(
            normalise(text)) is not None
        return any(wanted <= name and (head in wanted or trade)
                   for name, head in self._job_names.get(stems[0], ()))

    def knows_field(self, text: str) -> bool:
        """Whether ``text`` reads as a field of work the maps cover: its first job word, and at
        least half of them, are words the maps use, spelt as they spell them."""
        known = [stem(w) in self._postings for w in self.rules.clean(text)]
        return bool(known) and known[0] and sum(known) * 2 >= len(known)

    def common_job(self, text: str) -> list[Occupation]:
        """The usual occupations for a bare job word ("nurse"), from ``common_jobs``."""
        ids = self.rules.common_jobs.get(" ".join(self.job_words(text)), ())
        found = [self.map.get(i) for i in ids]
        return [o for o in found if o is not None and not is_retired(o)]

    def get(self, occupation_id: str) -> Occupation | None:
        """An occupation by id (retired ones included: the map has them)."""
        return self.map.get(occupation_id)

    @property
    def routes(self) -> tuple[Route, ...]:
        return self.map.routes

    def route_occupations(self, route_id: str) -> dict[int, list[Occupation]]:
        """A route's occupations grouped by level, for browsing (see :func:`route_occupations`)."""
        return route_occupations(self.map, route_id)

    @staticmethod
    def _preference(occupation: Occupation) -> tuple[int, int, int]:
        approved = occupation.status == 1 or (occupation.status_name or "").casefold().startswith(
            "approved"
        )
        apprenticeship = any(
            (p.type or "").casefold() == "apprenticeship"
            and "approved" in (p.status or "").casefold()
            for p in occupation.products
        )
        return (-int(approved), -int(apprenticeship), occupation.level)

    def _resolve(self, word: str) -> tuple[str | None, str] | None:
        """A query word as (index token, spelling), typos corrected against the maps' own words.

        The token is None for a word the maps never use; the whole result is None for a
        misspelt filler word ("becomme"), which is dropped like the filler itself.
        """
        token = stem(word)
        if token in self._postings:
            return token, word
        if len(word) < MIN_TYPO_LENGTH:
            return None, word
        choices = [
            w for n in range(len(word) - 2, len(word) + 3) for w in self._by_length.get(n, ())
        ]
        best = process.extractOne(word, choices, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        if best is None:
            return None, word
        if best[0] in self.rules.fillers:
            return None
        return self._surface[best[0]], best[0]

    def _join_compounds(self, words: list[str]) -> list[str]:
        """ "brick layer" → "bricklayer" when names use the joined word but never the pair."""
        joined: list[str] = []
        for word in words:
            if (
                joined
                and (joined[-1] + word) in self._name_words
                and (joined[-1], word) not in self._name_pairs
            ):
                joined[-1] += word
            else:
                joined.append(word)
        return joined

    def search(self, query: str, limit: int = 5) -> list[tuple[Occupation, float]]:
        """The best occupations for ``query`` with scores 0-100, best first."""
        resolved = [self.resolve(w) for w in self._join_compounds(self.rules.clean(query))]
        corrected = [r for r in resolved if r is not None]
        if not corrected:
            return []
        tokens = [token for token, _ in corrected]
        weights = [self._idf[t] if t is not None else self._max_idf for t in tokens]
        total = sum(weights)
        coverage: dict[int, float] = defaultdict(float)
        for token, weight in zip(tokens, weights):
            if token is None:
                continue
            for index, field_weight in self._postings[token].items():
                coverage[index] += weight * field_weight
        if not coverage:
            return []
        shortlist = heapq.nlargest(
            SHORTLIST, coverage, key=lambda i: (coverage[i], -self._rank[i][0])
        )
        choices = [name for i in shortlist for name in self._names[i]]
        similarity = process.cdist(
            [" ".join(w for _, w in corrected)], choices, scorer=fuzz.token_sort_ratio
        )[0]
        scored: list[tuple[float, tuple[int, int, int], int]] = []
        offset = 0
        for i in shortlist:
            count = len(self._names[i])
            best_name = float(similarity[offset : offset + count].max())
            offset += count
            score = COVERAGE_WEIGHT * coverage[i] / total + NAME_WEIGHT * best_name / 100
            scored.append((round(min(score, 100.0), 1), self._rank[i], i))
        scored.sort(key=lambda s: (-s[0], s[1], self._occupations[s[2]].title))
        return [(self._occupations[i], score) for score, _, i in scored[:limit]]


def current_occupation_index(db: sqlite_utils.Database,
                             rules: PhraseRules | None = None) -> OccupationIndex:
    """The search index for the newest stored map version (the bundled snapshot on first start)."""
    return OccupationIndex.build(current_map(db), rules)


@lru_cache(maxsize=1)
def bundled_occupation_index() -> OccupationIndex:
    """The index of the bundled snapshot, without a database (eval, benchmarks, tests)."""
    return OccupationIndex.build(load_bundled_map())
