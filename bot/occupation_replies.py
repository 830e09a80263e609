"""Occupations in chat: deciding when a message is about a job, and the cards and lists shown.

Topic questions ("what is a t level") stay with the knowledge base; job questions ("how do i become
an electrician", "butcher apprenticeship") go to the occupational maps. An occupation answers
when its score reaches the occupation threshold and:
- the message has job-seeking wording (``job_intent_phrases`` in ``knowledge/occupation_phrases.yaml``)
  and the knowledge base is not near-certain (:data:`KB_CERTAIN`); or
- the knowledge base would answer, but the occupation scores clearly higher
  (:data:`CLEARLY_BETTER`) and either the knowledge answer is weak (:data:`KB_WEAK`) or the
  occupation matches almost exactly (:data:`NEAR_EXACT`, "robotics engineer"); or
- the knowledge base would not answer (did-you-mean or fallback) and the occupation scores higher.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlite_utils
import yaml

from bot.answers import Button, Reply
from bot.maps import Occupation
from bot.matching import Match
from bot.occupations import PHRASES_PATH, OccupationIndex, level_in_words
from bot.render import escape
from bot.text import normalise

if TYPE_CHECKING:
    from bot.answers import Responder

KB_CERTAIN = 90.0
KB_WEAK = 70.0
CLEARLY_BETTER = 15.0
NEAR_EXACT = 95.0
CHOICE_MARGIN = 4.0
MAX_CHOICES = 4
RELATED = 6


def current_occupation_index(db: sqlite_utils.Database) -> OccupationIndex:
    """The search index for the newest stored map version (the bundled snapshot on first start)."""
    from bot.maps_store import (
        ensure_bundled_version,
        ensure_maps_shape,
        latest_version,
        load_version,
    )

    ensure_maps_shape(db)
    ensure_bundled_version(db)
    version = latest_version(db)
    assert version is not None
    return OccupationIndex.build(load_version(db, version.version))


@lru_cache(maxsize=1)
def bundled_occupation_index() -> OccupationIndex:
    """The index of the bundled snapshot, without a database (eval, benchmarks, tests)."""
    from bot.maps import load_bundled_map

    return OccupationIndex.build(load_bundled_map())


@lru_cache(maxsize=1)
def _job_intent() -> re.Pattern[str]:
    data = yaml.safe_load(PHRASES_PATH.read_text(encoding="utf-8")) or {}
    phrases = sorted({normalise(p) for p in data.get("job_intent_phrases") or ()}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b")


def has_job_intent(text: str) -> bool:
    """Whether the message is worded as looking for a job ("how do i become a…", "jobs with…")."""
    return _job_intent().search(normalise(text)) is not None


_PUNCTUATION = re.compile(r"[,.;:!?()]")
_ARTICLES = frozenset({"a", "an", "the", "some", "one", "in", "at", "with", "for", "on", "as"})
_BOUNDARY = re.compile(
    r"\b(?:but|and|n|or|without|thru|through|what|wat|how|any|so|cos|because|coz|if|"
    r"when|where|do|does|is|are|can|could|should|would|with an|via|instead)\b"
)


def job_words(text: str) -> str | None:
    """The words naming the job right after job-seeking wording ("…wanna be a mechanic wat do i
    do" → "mechanic"), so chatty context around it does not dilute the search."""
    found = None
    for segment in _PUNCTUATION.split(text.lower()):
        folded = normalise(segment)
        matches = list(_job_intent().finditer(folded))
        if matches:
            found = folded[matches[-1].end():]
    if found is None:
        return None
    words = found.split()
    while words and words[0] in _ARTICLES:
        words.pop(0)
    focused = _BOUNDARY.split(" ".join(words), maxsplit=1)[0].strip()
    return focused or None


def search_job(index: OccupationIndex, text: str, limit: int) -> list[tuple[Occupation, float]]:
    """Search the job words when the message has them, else (or if better) the whole message."""
    whole = index.search(text, limit=limit)
    focused_text = job_words(text)
    if focused_text:
        focused = index.search(focused_text, limit=limit)
        if focused and (not whole or focused[0][1] >= whole[0][1]):
            return focused
    return whole


def prefers_occupation(match: Match, occupation_score: float, intent: bool) -> bool:
    """The boundary between the two indexes (see the module docstring)."""
    kb_score = match.score if match.kind in ("answer", "clarify") else 0.0
    if intent:
        return kb_score < KB_CERTAIN
    if match.kind == "answer":
        return occupation_score >= kb_score + CLEARLY_BETTER and (
            kb_score < KB_WEAK or occupation_score >= NEAR_EXACT
        )
    return occupation_score > kb_score


def occupation_reply(responder: Responder, text: str, match: Match) -> Reply | None:
    """A card (or a short list) when the message is about a job; None leaves it to the KB."""
    index = responder.occupations
    assert index is not None
    results = search_job(index, text, MAX_CHOICES + 1)
    if not results:
        return None
    best, score = results[0]
    if score < responder.occupation_threshold:
        return None
    if not prefers_occupation(match, score, has_job_intent(text)):
        return None
    close = [(o, s) for o, s in results[1:] if score - s < CHOICE_MARGIN]
    ids = tuple(o.id for o, _ in results)
    if close:
        return choices_reply(responder, [(best, score), *close], candidates=ids)
    return occupation_card(responder, best, score=score, candidates=ids)


def choices_reply(responder: Responder, shown: list[tuple[Occupation, float]], *,
                  candidates: tuple[str, ...]) -> Reply:
    """ "Which one do you mean?" with one button per occupation, best first."""
    best, score = shown[0]
    rows = tuple((Button(_short_title(o), f"occ:{o.id}"),) for o, _ in shown)
    return Reply("occupation", escape(responder.kb.message("occupation_choices")), best.id,
                 score, candidates, rows)


def _short_title(occupation: Occupation) -> str:
    return f"{occupation.title} (level {occupation.level})"[:60]


def occupation_card(responder: Responder, occupation: Occupation, *, score: float = 100.0,
                    candidates: tuple[str, ...] = ()) -> Reply:
    """Title, level in words, route, overview, ways in and the official page."""
    kb = responder.kb
    labels = kb.messages.get("product_labels") or {}
    ways = []
    for product in occupation.products:
        label = labels.get(product.type or "", product.type or "Course")
        code = f" ({escape(product.code)})" if product.code else ""
        level = f", level {product.level}" if product.level else ""
        ways.append(f"• {escape(label)}: {escape(product.title)}{code}{level}")
    text = kb.message(
        "occupation_card",
        title=escape(occupation.title),
        level=escape(level_in_words(occupation.level)),
        route=escape(occupation.route_name or "Unknown"),
        overview=escape(occupation.overview or ""),
        routes_in="\n".join(ways) or escape(kb.message("occupation_no_products")),
        url=escape(occupation.url),
    )
    buttons = ((Button(kb.message("occupation_related"), f"occrel:{occupation.id}"),),)
    return Reply("occupation", text.strip(), occupation.id, score, candidates or (occupation.id,),
                 buttons)


def related_occupations(index: OccupationIndex, occupation: Occupation) -> list[Occupation]:
    """Others on the same route, nearest level first (same cluster before others)."""
    same_route = [
        o for level_group in index.route_occupations(occupation.route_id or "").values()
        for o in level_group if o.id != occupation.id
    ]
    same_route.sort(key=lambda o: (o.cluster != occupation.cluster or occupation.cluster is None,
                                   abs(o.level - occupation.level), o.title))
    seen: set[str] = set()
    result = []
    for o in same_route:
        base = o.title.split(" - ")[0]
        if base in seen:
            continue
        seen.add(base)
        result.append(o)
        if len(result) == RELATED:
            break
    return result


def related_reply(responder: Responder, occupation: Occupation) -> Reply:
    """Buttons for related occupations in the same route."""
    kb = responder.kb
    assert responder.occupations is not None
    others = related_occupations(responder.occupations, occupation)
    rows = tuple((Button(_short_title(o), f"occ:{o.id}"),) for o in others)
    text = kb.message("occupation_related_heading", route=escape(occupation.route_name or ""))
    return Reply("occupation", text, occupation.id, 100.0, tuple(o.id for o in others), rows)
