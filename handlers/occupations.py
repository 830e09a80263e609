"""Occupational maps in chat: /occupation search, /routes browsing, occupation cards, /about."""

from __future__ import annotations

from telegram import Update

from bot.answering.routing import search_job
from bot.maps.cards import (
    button_label,
    choices_reply,
    details_reply,
    listing_reply,
    occupation_card,
    related_reply,
)
from bot.maps.search import OccupationIndex, level_in_words
from bot.render import escape
from bot.reply import Button, Reply
from bot.services import Services
from handlers.chat import expired_button
from jobs.refresh import maps_status_text
from telegram_io.context import Context, chat_memory
from telegram_io.send import send_reply

PAGE_SIZE = 8
SEARCH_RESULTS = 6


def _index(services: Services) -> OccupationIndex:
    index = services.responder.occupations
    assert index is not None, "the bot always starts with an occupational map"
    return index


async def _send(update: Update, context: Context, reply: Reply) -> None:
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat_memory(context).remember(reply)
    await send_reply(context.bot, update.effective_chat.id, reply)


async def occupation_command(update: Update, context: Context) -> None:
    """Search the occupational maps directly: /occupation <words>."""
    services = context.bot_data.services
    kb = services.kb
    words = " ".join(context.args or []).strip()
    if not words:
        await _send(update, context, Reply("fallback", kb.message("occupation_search_usage")))
        return
    results = search_job(_index(services), words, SEARCH_RESULTS)
    results = [(o, s) for o, s in results if s >= services.settings.occupation_threshold / 2]
    if not results:
        await _send(update, context, Reply("fallback", kb.message("occupation_not_found")))
        return
    best, score = results[0]
    if len(results) == 1 or score - results[1][1] >= 10:
        await _send(update, context, occupation_card(services.kb, best, score=score))
        return
    await _send(update, context, choices_reply(services.kb, results,
                                               candidates=tuple(o.id for o, _ in results)))


async def occupation_button(update: Update, context: Context) -> None:
    """An occupation button: its card, its courses and codes (``occdet:``) or similar jobs
    (``occrel:``)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.bot_data.services
    kind, _, occupation_id = query.data.partition(":")
    occupation = _index(services).get(occupation_id)
    if occupation is None:
        await expired_button(update, context)
        return
    if kind == "occrel":
        explorer = services.responder.explorer
        assert explorer is not None
        others = explorer.related(occupation)
        await _send(update, context, related_reply(services.kb, occupation, others))
    elif kind == "occdet":
        await _send(update, context, details_reply(services.kb, occupation))
    else:
        await _send(update, context, occupation_card(services.kb, occupation))


async def more_button(update: Update, context: Context) -> None:
    """ "More" under a list of jobs: the next page of the list this chat was shown."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.bot_data.services
    index = _index(services)
    listing = [o for o in (index.get(i) for i in chat_memory(context).listing) if o is not None]
    offset = int(query.data.removeprefix("more:"))
    if not listing or offset >= len(listing):
        await expired_button(update, context)
        return
    await _send(update, context, listing_reply(services.kb, listing, offset))


async def routes_command(update: Update, context: Context) -> None:
    """The 15 routes as buttons, in alphabetical order (also the "All routes" button)."""
    services = context.bot_data.services
    routes = sorted(_index(services).routes, key=lambda r: r.name.casefold())
    rows = tuple((Button(route.name, f"route:{route.id}"),) for route in routes)
    rows += ((Button(services.kb.message("home"), "home"),),)
    await _send(update, context, Reply("occupation", services.kb.message("routes_heading"),
                                       buttons=rows))


async def route_button(update: Update, context: Context) -> None:
    """A route: pick a level; a level: a page of occupations with paging buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.bot_data.services
    kb = services.kb
    index = _index(services)
    parts = query.data.split(":")
    route = next((r for r in index.routes if r.id == parts[1]), None)
    if route is None:
        await expired_button(update, context)
        return
    by_level = index.route_occupations(route.id)
    if len(parts) == 2:
        levels: tuple[tuple[Button, ...], ...] = tuple(
            (Button(kb.message("level_button", level=level, count=len(items)),
                    f"route:{route.id}:{level}:0"),)
            for level, items in sorted(by_level.items())
        )
        levels += ((Button(kb.message("all_routes_back"), "routes"), Button(kb.message("home"), "home")),)
        await _send(update, context, Reply("occupation", kb.message(
            "route_levels_heading", route=escape(route.name)), buttons=levels))
        return
    try:
        level, page = int(parts[2]), int(parts[3])
    except (IndexError, ValueError):
        await expired_button(update, context)
        return
    items = by_level.get(level, [])
    pages = max(1, -(-len(items) // PAGE_SIZE))
    if not items or not 0 <= page < pages:
        await expired_button(update, context)
        return
    chunk = items[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    rows: tuple[tuple[Button, ...], ...] = tuple(
        (Button(button_label(o), f"occ:{o.id}"),) for o in chunk
    )
    nav = []
    if page > 0:
        nav.append(Button(kb.message("previous_page"), f"route:{route.id}:{level}:{page - 1}"))
    if page + 1 < pages:
        nav.append(Button(kb.message("next_page"), f"route:{route.id}:{level}:{page + 1}"))
    if nav:
        rows += (tuple(nav),)
    rows += ((Button(kb.message("levels_back"), f"route:{route.id}"), Button(kb.message("home"), "home")),)
    text = kb.message("route_level_heading", route=escape(route.name),
                      level=escape(level_in_words(level)), count=len(items), page=page + 1,
                      pages=pages)
    await _send(update, context, Reply("occupation", text, buttons=rows))


async def about(update: Update, context: Context) -> None:
    """What the bot is, where its map data comes from (in words, with the publication date, never
    an internal file name), the refresh timetable and the licence attribution."""
    services = context.bot_data.services
    text = services.kb.message("about", status=maps_status_text(services))
    await _send(update, context, Reply("answer", text))
