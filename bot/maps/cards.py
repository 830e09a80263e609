"""Occupations in chat: the cards and lists a student sees once a message is about a job.

Whether a message is about a job is decided in :mod:`bot.answering.routing`; this module builds the reply.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import sqlite_utils

from bot.answering.matching import Match
from bot.answering.query import Query
from bot.answering.responder import Button, Reply
from bot.answering.routing import prefers_occupation, read_job_signal
from bot.maps.model import Occupation
from bot.maps.search import OccupationIndex, level_in_words
from bot.render import escape

if TYPE_CHECKING:
    from bot.answering.responder import Responder

CHOICE_MARGIN = 4.0
MAX_CHOICES = 4
RELATED = 6


def current_occupation_index(db: sqlite_utils.Database) -> OccupationIndex:
    """The search index for the newest stored map version (the bundled snapshot on first start)."""
    from bot.maps.store import (
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
    from bot.maps.model import load_bundled_map

    return OccupationIndex.build(load_bundled_map())


def occupation_reply(responder: Responder, query: Query, match: Match) -> Reply | None:
    """A card (or a short list) when the message is about a job; None leaves it to the KB."""
    index = responder.occupations
    assert index is not None
    uses = responder.matcher.lexical.uses
    signal = read_job_signal(index, query.text, MAX_CHOICES + 1, uses)
    kb_words = all(uses(w) for w in index.job_words(query.text))
    if not prefers_occupation(match, signal, responder.occupation_threshold, kb_words):
        return None
    best, score = signal.results[0]
    close = [(o, s) for o, s in signal.results[1:] if score - s < CHOICE_MARGIN]
    ids = tuple(o.id for o, _ in signal.results)
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
