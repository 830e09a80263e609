"""Adviser alerts in chat: /subscribe, /subscriptions, /unsubscribe and /changes.

/changes never comes up empty: before the first comparison it says when that comes (from the
refresh schedule) and shows what the current maps hold; ``/changes csv`` sends the last change
list as a spreadsheet file. /changes, /about and /subscriptions all say when the maps were last
refreshed, when the next refresh is due and when the last alert went out.

Buttons carry their whole state in the callback data (no server-side session), so they keep
working across restarts:

- ``sub:t:<mask>:<route id>`` ticks or unticks a route, ``sub:a:<mask>`` toggles "All routes",
  ``sub:ok:<mask>`` saves. ``<mask>`` is the current selection
  (:func:`bot.alerts.subscriptions.routes_mask`).
- ``unsub:yes`` / ``unsub:no`` confirm or cancel /unsubscribe.
- ``chg:<version>:<mask>:<page>`` pages through /changes in place; a trailing ``:n`` (the
  digest's "Show all changes" button) sends the page as a new message.

Alerts belong to a person: the commands work in private chats only (see
:func:`handlers.register_handlers`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.alerts.digest import long_date, notices_for, render_digest
from bot.alerts.export import changes_csv
from bot.alerts.outbox import send_window_words
from bot.alerts.status import date_and_time, map_overview_text, next_digest
from bot.alerts.subscriptions import (
    RouteInfo,
    Subscription,
    current_routes,
    find_route,
    routes_from_mask,
    routes_mask,
    subscribe,
    subscription_of,
    unsubscribe,
)
from bot.knowledge import Messages
from bot.maps.model import OccupationMap
from bot.maps.store import current_map, latest_changes
from bot.render import escape
from bot.reply import Button, Reply
from bot.services import Services
from bot.usage import touch_user
from handlers.chat import expired_button
from jobs.refresh import maps_status_text, maps_timeline
from telegram_io.context import Context
from telegram_io.send import edit_or_send, markup, send_document, send_reply

log = logging.getLogger(__name__)

SUB_PATTERN = r"^sub:(t|a|ok):[0-9a-f]{1,16}(:[0-9A-Za-z_-]{1,12})?$"
UNSUB_PATTERN = r"^unsub:(yes|no)$"
CHG_PATTERN = r"^chg:\d{1,9}:[0-9a-f]{1,16}:\d{1,4}(:n)?$"


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _routes_label(routes: frozenset[str] | None, all_routes: list[RouteInfo], texts: Messages) -> str:
    if routes is None:
        return escape(texts.message("all_routes_name"))
    names = {r.id: r.name for r in all_routes}
    ordered = [r.id for r in all_routes if r.id in routes] + sorted(routes - names.keys())
    return escape(", ".join(names.get(rid, rid) for rid in ordered))


def window_words(services: Services) -> str:
    """When notices are sent, in words ("between 08:00 and 20:00 UK time")."""
    settings = services.settings
    return send_window_words(settings.send_window_start, settings.send_window_end, services.kb.texts)


def first_comparison_text(services: Services) -> str:
    """When the first change list will exist: the next scheduled refresh."""
    texts = services.kb.texts
    when = maps_timeline(services).next_refresh
    if when is None:
        return texts.message("changes_first_unscheduled")
    return texts.message("changes_first_when", when=date_and_time(when, services.settings.timezone))


def _current_map(services: Services) -> OccupationMap:
    index = services.responder.occupations
    return index.map if index is not None else current_map(services.db)


# --- /subscribe ------------------------------------------------------------------------------


def route_keyboard(routes: list[RouteInfo], selection: frozenset[str] | None,
                   texts: Messages) -> tuple[tuple[Button, ...], ...]:
    """One row per route with a tick, then "All routes", then "Done"."""
    mask = routes_mask(selection)
    tick, untick = texts.message("tick"), texts.message("untick")
    rows: list[tuple[Button, ...]] = []
    for route in routes:
        chosen = selection is None or route.id in selection
        rows.append((Button(f"{tick if chosen else untick} {route.name}", f"sub:t:{mask}:{route.id}"),))
    everything = texts.message("all_routes")
    rows.append((Button(f"{tick if selection is None else untick} {everything}", f"sub:a:{mask}"),))
    rows.append((Button(texts.message("done"), f"sub:ok:{mask}"),))
    return tuple(rows)


async def subscribe_command(update: Update, context: Context) -> None:
    """Show the route keyboard, ticked with the chat's current choice."""
    services = context.bot_data.services
    texts = services.kb.texts
    chat_id = _chat_id(update)
    if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        touch_user(services.db, chat_id, role="adviser")
    current = subscription_of(services.db, chat_id)
    selection = current.routes if current and current.active else frozenset()
    keyboard = route_keyboard(current_routes(services.db), selection, texts)
    await send_reply(context.bot, chat_id, Reply("answer", texts.message("subscribe_prompt"), buttons=keyboard))


async def subscribe_button(update: Update, context: Context) -> None:
    """Tick/untick a route, toggle "All routes", or save the choice with "Done"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = context.bot_data.services
    texts = services.kb.texts
    _, action, mask, *rest = query.data.split(":")
    selection = routes_from_mask(mask)
    routes = current_routes(services.db)
    known = {r.id for r in routes}
    if action == "t":
        route_id = rest[0] if rest else ""
        if route_id not in known:
            await query.answer(texts.message("choose_a_route"))
            return
        if selection is None:
            selection = frozenset(known - {route_id})
        else:
            selection = selection ^ {route_id}
    elif action == "a":
        selection = None if selection is not None else frozenset()
    else:
        if selection is not None:
            selection = selection & known
        if selection is not None and not selection:
            await query.answer(texts.message("choose_a_route"), show_alert=True)
            return
        subscription = subscribe(services.db, _chat_id(update),
                                 None if selection is None else sorted(selection))
        log.info("alerts: a chat subscribed to %s", subscription.key)
        await query.answer()
        text = texts.message("subscribed", routes=_routes_label(subscription.routes, routes, texts),
                             window=window_words(services))
        await edit_or_send(update, context.bot, Reply("answer", text))
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=markup(route_keyboard(routes, selection, texts)))
    except BadRequest as exc:  # "message is not modified" on a double tap
        log.debug("subscribe keyboard not edited: %s", exc.message)


async def private_chat_only(update: Update, context: Context) -> None:
    """Alerts are set up in a private chat with the bot, never for a whole group."""
    texts = context.bot_data.services.kb.texts
    await send_reply(context.bot, _chat_id(update), Reply("answer", texts.message("private_chat_only")))


# --- /subscriptions and /unsubscribe ------------------------------------------------------------


async def subscriptions_command(update: Update, context: Context) -> None:
    """Show the chat's current alert choice."""
    services = context.bot_data.services
    texts = services.kb.texts
    chat_id = _chat_id(update)
    current = subscription_of(services.db, chat_id)
    if current is None or not current.active:
        text = texts.message("subscriptions_none")
    else:
        text = texts.message(
            "subscriptions_current",
            routes=_routes_label(current.routes, current_routes(services.db), texts),
            since=long_date(current.created_at, services.settings.timezone),
            next=next_digest_text(services, chat_id),
        )
    await send_reply(context.bot, chat_id, Reply("answer", text))


def next_digest_text(services: Services, chat_id: int) -> str:
    """What the chat's next digest will cover: one already queued, or the next comparison."""
    texts, timezone = services.kb.texts, services.settings.timezone
    upcoming = next_digest(services.db, chat_id)
    if upcoming.queued_version is not None:
        return texts.message("next_digest_queued", version=upcoming.queued_version,
                             window=window_words(services))
    published = (texts.message("next_digest_published", date=long_date(upcoming.published, timezone))
                 if upcoming.published else "")
    version = upcoming.since_version if upcoming.since_version is not None else "?"
    when = maps_timeline(services).next_refresh
    if when is None:
        return texts.message("next_digest_unscheduled", version=version, published=published)
    return texts.message("next_digest_scheduled", when=date_and_time(when, timezone),
                         version=version, published=published)


async def unsubscribe_command(update: Update, context: Context) -> None:
    """Ask for one confirm tap before stopping all alerts."""
    services = context.bot_data.services
    texts = services.kb.texts
    chat_id = _chat_id(update)
    current = subscription_of(services.db, chat_id)
    if current is None or not current.active:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("not_subscribed")))
        return
    buttons = ((Button(texts.message("unsubscribe_yes"), "unsub:yes"),
                Button(texts.message("unsubscribe_no"), "unsub:no")),)
    await send_reply(context.bot, chat_id, Reply("answer", texts.message("unsubscribe_confirm"), buttons=buttons))


async def unsubscribe_button(update: Update, context: Context) -> None:
    """Stop every alert for this chat, or keep them, and say which."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    services = context.bot_data.services
    texts = services.kb.texts
    if query.data == "unsub:yes":
        stopped = unsubscribe(services.db, _chat_id(update))
        log.info("alerts: a chat unsubscribed (was active: %s)", stopped)
        text = texts.message("unsubscribed" if stopped else "not_subscribed")
    else:
        text = texts.message("unsubscribe_kept")
    await edit_or_send(update, context.bot, Reply("answer", text))


# --- /changes --------------------------------------------------------------------------------


def changes_page(context: Context, version: int, routes: frozenset[str] | None,
                 page: int) -> Reply | None:
    """One page of the changes in ``version`` for ``routes``; None if nothing changed there."""
    services = context.bot_data.services
    texts = services.kb.texts
    found = context.bot_data.changes.get(services.db, version)
    if found is None:
        return None
    changes, map_context = found
    digest = notices_for(Subscription(0, routes), changes, map_context)
    if digest is None:
        return None
    if routes is None:
        scope = texts.message("changes_scope_all")
    elif len(routes) == 1:
        (only,) = routes
        scope = texts.message("changes_scope_route", route=escape(map_context.route_name(only) or only))
    else:
        scope = texts.message("changes_scope_routes")
    counts = texts.message("changes_counts", scope=scope, new=digest.new, retired=digest.retired,
                           changed=digest.changed)
    pages = render_digest(digest, texts, max_parts=None, title_key="changes_title", counts_line=counts,
                          footer_key="changes_footer", timezone=services.settings.timezone)
    page = min(max(page, 1), len(pages))
    mask = routes_mask(routes)
    nav: list[Button] = []
    if page > 1:
        nav.append(Button(texts.message("previous_page"), f"chg:{version}:{mask}:{page - 1}"))
    if page < len(pages):
        nav.append(Button(texts.message("next_page"), f"chg:{version}:{mask}:{page + 1}"))
    return Reply("answer", pages[page - 1], buttons=(tuple(nav),) if nav else ())


async def changes_command(update: Update, context: Context) -> None:
    """The latest changes to the maps, optionally for one route (``/changes digital``), paged;
    ``/changes csv [route]`` sends them as a CSV file. Before the first comparison: when it
    comes, and what the current maps hold."""
    services = context.bot_data.services
    texts = services.kb.texts
    chat_id = _chat_id(update)
    words = list(context.args or [])
    as_csv = bool(words) and words[0].casefold() == "csv"
    wanted = " ".join(words[1:] if as_csv else words).strip()
    routes: frozenset[str] | None = None
    if wanted:
        all_routes = current_routes(services.db)
        route = find_route(all_routes, wanted)
        if route is None:
            text = texts.message("changes_unknown_route", text=escape(wanted[:80]),
                                 routes=escape(", ".join(r.name for r in all_routes)))
            await send_reply(context.bot, chat_id, Reply("answer", text))
            return
        routes = frozenset({route.id})
    latest = latest_changes(services.db)
    if latest is None or latest.to_version is None:
        if as_csv:
            text = texts.message("changes_csv_none", first=first_comparison_text(services))
        else:
            text = texts.message(
                "changes_first", first=first_comparison_text(services),
                status=maps_status_text(services),
                overview=map_overview_text(_current_map(services), texts, services.settings.timezone))
        await send_reply(context.bot, chat_id, Reply("answer", text))
        return
    if as_csv:
        await _send_changes_csv(context, chat_id, latest.to_version, routes, wanted)
        return
    page = changes_page(context, latest.to_version, routes, 1)
    if page is None:
        await _nothing_on_route(context, chat_id, latest.to_version, routes, wanted)
        return
    status = "\n\n".join([maps_status_text(services), texts.message("changes_csv_hint")])
    await send_reply(context.bot, chat_id, replace(page, text=f"{page.text}\n\n{status}"))


async def _nothing_on_route(context: Context, chat_id: int, version: int,
                            routes: frozenset[str] | None, wanted: str) -> None:
    services = context.bot_data.services
    name = next((r.name for r in current_routes(services.db) if routes and r.id in routes), wanted)
    text = services.kb.texts.message("changes_none_route", version=version, route=escape(name))
    await send_reply(context.bot, chat_id, Reply("answer", text))


async def _send_changes_csv(context: Context, chat_id: int, version: int,
                            routes: frozenset[str] | None, wanted: str) -> None:
    """The change list of ``version`` as a CSV document (UTF-8 with a BOM, so spreadsheet
    programs read accented titles right)."""
    texts = context.bot_data.services.kb.texts
    found = context.bot_data.changes.get(context.bot_data.services.db, version)
    text, rows = changes_csv(*found, texts, routes) if found else ("", 0)
    if not rows or found is None:
        await _nothing_on_route(context, chat_id, version, routes, wanted)
        return
    changes = found[0]
    previous = changes.from_version if changes.from_version is not None else "?"
    filename = texts.message("changes_csv_filename", previous=previous, version=version)
    caption = texts.message("changes_csv_caption", previous=previous, version=version, rows=rows)
    await send_document(context.bot, chat_id, filename, text.encode("utf-8-sig"), caption)


async def changes_button(update: Update, context: Context) -> None:
    """Previous/Next on a /changes page, or "Show all changes" under a digest."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, version, mask, page, *fresh = query.data.split(":")
    found = changes_page(context, int(version), routes_from_mask(mask), int(page))
    if found is None:
        await expired_button(update, context)
        return
    await query.answer()
    if fresh:
        await send_reply(context.bot, _chat_id(update), found)
    else:
        await edit_or_send(update, context.bot, found)
