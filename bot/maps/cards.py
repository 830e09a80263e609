"""Occupations as a student sees them: a card, a short "which one do you mean?" list, related
occupations. Built from the knowledge base's wording and the maps' data; whether a message is
about a job at all is decided in :mod:`bot.answering.routing`.
"""

from __future__ import annotations

from bot.knowledge import KnowledgeBase
from bot.maps.model import Occupation
from bot.maps.search import OccupationIndex, level_in_words
from bot.render import escape
from bot.reply import Button, Reply

RELATED = 6


def choices_reply(kb: KnowledgeBase, shown: list[tuple[Occupation, float]], *,
                  candidates: tuple[str, ...]) -> Reply:
    """ "Which one do you mean?" with one button per occupation, best first."""
    best, score = shown[0]
    rows = tuple((Button(_short_title(o), f"occ:{o.id}"),) for o, _ in shown)
    return Reply("occupation", escape(kb.message("occupation_choices")), best.id,
                 score, candidates, rows)


def _short_title(occupation: Occupation) -> str:
    return f"{occupation.title} (level {occupation.level})"[:60]


def occupation_card(kb: KnowledgeBase, occupation: Occupation, *, score: float = 100.0,
                    candidates: tuple[str, ...] = ()) -> Reply:
    """Title, level in words, route, overview, ways in and the official page."""
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


def related_reply(kb: KnowledgeBase, index: OccupationIndex, occupation: Occupation) -> Reply:
    """Buttons for related occupations in the same route."""
    others = related_occupations(index, occupation)
    rows = tuple((Button(_short_title(o), f"occ:{o.id}"),) for o in others)
    text = kb.message("occupation_related_heading", route=escape(occupation.route_name or ""))
    return Reply("occupation", text, occupation.id, 100.0, tuple(o.id for o in others), rows)
