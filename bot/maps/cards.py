"""Occupations as a student sees them: a short card, its details, related jobs, and lists.

A card answers "what is this job and how do I get in?" on one phone screen: title, level in plain
words, route, a two-line overview, every way in summarised (apprenticeship, T Level, technical
qualifications, and university where a degree is the usual route, from
``knowledge/degree_routes.yaml``), and links out where they exist: pay and hours on the National
Careers Service (``knowledge/job_profiles.yaml``), vacancies on Find an apprenticeship, the
occupation's page on the maps. Product codes ("ST0116", "HTQDZ0006") are for advisers: they sit
behind the "Details" button. Wording is in ``knowledge/messages.yaml``.

Whether a message is about a job at all is decided in :mod:`bot.answering.routing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus

from bot.knowledge import KnowledgeBase
from bot.maps.model import Occupation, Product
from bot.maps.search import level_in_words
from bot.render import escape
from bot.reply import Button, Reply

LABEL_LIMIT = 60
MIN_OPTION_CHARS = 25
OVERVIEW_CHARS = 220
PAGE = 5
NCS_PROFILE = "https://nationalcareers.service.gov.uk/job-profiles/{slug}"
VACANCIES = "https://www.findapprenticeship.service.gov.uk/apprenticeships?searchTerm={term}&distance=all"
# Product types in the order a student meets them, and which ones are counted, not named.
WAY_ORDER = ("Apprenticeship", "Foundation Apprenticeship", "TLevel", "HTQ", "TQ",
             "Apprenticeship Unit")
COUNTED = frozenset({"HTQ", "TQ", "Apprenticeship Unit"})
GONE = ("retired", "withdrawn")


def button_label(occupation: Occupation) -> str:
    """ "Title (level N)", the title cut on a word boundary so the level always shows. A long
    "Standard - option" title keeps its option, which is what tells siblings apart."""
    level = f" (level {occupation.level})"
    title = occupation.title
    room = LABEL_LIMIT - len(level)
    # A short option ("light vehicle") needs the job's name beside it: cut the middle instead.
    if len(title) > room and len(occupation.option) >= MIN_OPTION_CHARS:
        title = occupation.option
    if len(title) > room:
        # Drop words from the middle: the start names the job and the end is what tells
        # "… fabrication role" from "… maintenance role".
        words = title.split()
        cut = len(words) // 2
        while len(words) > 2 and len(" ".join(words)) + 1 > room:
            cut = min(max(1, cut), len(words) - 2)
            del words[cut]
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        title = head.rstrip(" -–,(&") + "… " + tail.lstrip(" -–,)&")
        title = title[:room]
    return title + level


def short_overview(text: str, limit: int = OVERVIEW_CHARS) -> str:
    """The overview in about two phone lines: whole sentences when they fit, else cut on a
    word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    if end >= limit // 2:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


def current_products(occupation: Occupation) -> list[Product]:
    """Products a student could still start (retired and withdrawn ones left out)."""
    return [p for p in occupation.products
            if not any(word in (p.status or "").casefold() for word in GONE)]


def _levels(products: Sequence[Product]) -> str:
    levels = sorted({p.level for p in products if p.level})
    if not levels:
        return ""
    if len(levels) == 1:
        return f"level {levels[0]}"
    return "levels " + ", ".join(map(str, levels[:-1])) + f" and {levels[-1]}"


def _count(kb: KnowledgeBase, number: int) -> str:
    return kb.message("course_one" if number == 1 else "course_many", count=number)


def ways_in(kb: KnowledgeBase, occupation: Occupation) -> list[str]:
    """Each way into the occupation, one line per kind, no codes."""
    by_type: dict[str, list[Product]] = {}
    for product in current_products(occupation):
        by_type.setdefault(product.type or "", []).append(product)
    templates = kb.messages.get("ways_in") or {}
    lines = []
    for kind in sorted(by_type, key=lambda t: WAY_ORDER.index(t) if t in WAY_ORDER else 99):
        products = by_type[kind]
        names = list(dict.fromkeys(p.title.partition(" - ")[0].strip() for p in products))
        template = str(templates.get(kind) or templates.get("other") or "{label}: {names}")
        lines.append(template.format(
            label=escape(kb.texts.product_label(kind)), levels=_levels(products),
            names=escape("; ".join(names[:2])), count=_count(kb, len(products))))
    degree = kb.degree_routes.get(occupation.id)
    if degree is not None:
        lines.append(kb.message("way_university", degree=escape(degree.degree),
                                source=escape(degree.source)))
    return lines


def vacancies_url(occupation: Occupation) -> str | None:
    """Apprenticeship vacancies for the standard, when it can be started now."""
    for product in current_products(occupation):
        if product.type == "Apprenticeship" and "approved" in (product.status or "").casefold():
            return VACANCIES.format(term=quote_plus(product.title))
    return None


def _links(kb: KnowledgeBase, occupation: Occupation) -> list[str]:
    links = []
    slug = kb.job_profiles.get(occupation.id)
    if slug:
        links.append(kb.message("link_pay", url=escape(NCS_PROFILE.format(slug=slug))))
    vacancies = vacancies_url(occupation)
    if vacancies:
        links.append(kb.message("link_vacancies", url=escape(vacancies)))
    links.append(kb.message("link_maps", url=escape(occupation.url)))
    return links


def occupation_card(kb: KnowledgeBase, occupation: Occupation, *, score: float = 100.0,
                    candidates: tuple[str, ...] = ()) -> Reply:
    """The card: who, how to get in, where to read more. No blank lines for missing parts."""
    head = kb.message("occupation_card_head", title=escape(occupation.title),
                      level=escape(level_in_words(occupation.level)),
                      route=escape(occupation.route_name or kb.message("other_route")))
    overview = short_overview(occupation.overview)
    if overview:
        head += "\n" + escape(overview)
    ways = ways_in(kb, occupation) or [escape(kb.message("occupation_no_products"))]
    sections = [
        head,
        kb.message("ways_in_heading") + "\n" + "\n".join(f"• {line}" for line in ways),
        "\n".join(_links(kb, occupation)),
        kb.message("occupation_card_source"),
    ]
    buttons = ((Button(kb.message("occupation_details"), f"occdet:{occupation.id}"),
                Button(kb.message("occupation_related"), f"occrel:{occupation.id}")),)
    return Reply("occupation", "\n\n".join(sections), occupation.id, score,
                 candidates or (occupation.id,), buttons)


def details_reply(kb: KnowledgeBase, occupation: Occupation) -> Reply:
    """Every product on the maps for the occupation, with codes and levels, for advisers."""
    lines = []
    for product in occupation.products:
        code = f" ({escape(product.code)})" if product.code else ""
        level = f", level {product.level}" if product.level else ""
        status = f", {escape(product.status.casefold())}" if product.status else ""
        lines.append(f"• {escape(kb.texts.product_label(product.type))}: "
                     f"{escape(product.title)}{code}{level}{status}")
    text = kb.message("occupation_details_heading", title=escape(occupation.title),
                      soc=escape(occupation.soc_code or "-"), id=escape(occupation.id))
    text += "\n" + ("\n".join(lines) or escape(kb.message("occupation_no_products")))
    text += "\n\n" + kb.message("link_maps", url=escape(occupation.url))
    back = ((Button(kb.message("back_to_card"), f"occ:{occupation.id}"),),)
    return Reply("occupation", text, occupation.id, 100.0, (occupation.id,), back)


def choices_reply(kb: KnowledgeBase, shown: list[tuple[Occupation, float]], *,
                  candidates: tuple[str, ...]) -> Reply:
    """ "Which one do you mean?" with one button per occupation, best first, and "None of
    these"."""
    best, score = shown[0]
    rows = tuple((Button(button_label(o), f"occ:{o.id}"),) for o, _ in shown)
    rows += ((Button(kb.message("none_of_these"), "none"),),)
    return Reply("occupation", escape(kb.message("occupation_choices")), best.id,
                 score, candidates, rows)


def related_reply(kb: KnowledgeBase, occupation: Occupation,
                  others: Sequence[Occupation]) -> Reply:
    """Jobs that use similar skills, each with its level and route, to widen the view."""
    lines = [kb.message("related_line", title=escape(o.title), level=o.level,
                        route=escape(o.route_name or kb.message("other_route"))) for o in others]
    text = kb.message("occupation_related_heading", title=escape(occupation.title))
    text += "\n" + "\n".join(lines)
    rows: tuple[tuple[Button, ...], ...] = tuple((Button(button_label(o), f"occ:{o.id}"),)
                                                 for o in others)
    rows += ((Button(kb.message("back_to_card"), f"occ:{occupation.id}"),
              Button(kb.message("home"), "home")),)
    return Reply("occupation", text, occupation.id, 100.0, tuple(o.id for o in others), rows)


def listing_reply(kb: KnowledgeBase, listing: Sequence[Occupation], offset: int = 0, *,
                  heading: str = "interest_heading", score: float = 100.0) -> Reply:
    """One page of a ranked list of jobs (an interest search), with "More" while there are
    more, "Back" after the first page, and "None of these". The whole list's ids go in
    ``listing`` so the chat can page through it."""
    page = listing[offset:offset + PAGE]
    rows: tuple[tuple[Button, ...], ...] = tuple((Button(button_label(o), f"occ:{o.id}"),)
                                                 for o in page)
    nav = []
    if offset > 0:
        nav.append(Button(kb.message("previous_page"), f"more:{max(0, offset - PAGE)}"))
    if offset + PAGE < len(listing):
        nav.append(Button(kb.message("more"), f"more:{offset + PAGE}"))
    if nav:
        rows += (tuple(nav),)
    rows += ((Button(kb.message("none_of_these"), "none"),),)
    ids = tuple(o.id for o in listing)
    return Reply("occupation", kb.message(heading), page[0].id if page else None, score, ids,
                 rows, listing=ids)
