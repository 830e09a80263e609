"""Adviser alerts in chat: /subscribe, /subscriptions, /unsubscribe and /changes.

Buttons carry their whole state in the callback data (no server-side session), so they keep
working across restarts:

- ``sub:t:<mask>:<route id>`` ticks or unticks a route, ``sub:a:<mask>`` toggles "All routes",
  ``sub:ok:<mask>`` saves. ``<mask>`` is the current selection (:func:`bot.alerts.routes_mask`).
- ``unsub:yes`` / ``unsub:no`` confirm or cancel /unsubscribe.
- ``chg:<version>:<mask>:<page>`` pages through /changes in place; a trailing ``:n`` (the
  digest's "Show all changes" button) sends the page as a new message.

:func:`register_alert_handlers` adds these handlers (group 0, before the catch-all button
handler), the admin commands of :mod:`handlers.alerts_admin`, the question counter for /stats
(group 1, after the answer), and the ``on_map_changes`` hook the maps refresh job awaits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.alerts import (
    AlertTexts,
    MapContext,
    RouteInfo,
    Subscription,
    change_context,
    changes_for_version,
    current_routes,
    enqueue_digests,
    ensure_alerts_shape,
    find_route,
    latest_changes,
    load_alert_texts,
    long_date,
    notices_for,
    render_digest,
    routes_from_mask,
    routes_mask,
    subscribe,
    subscription_of,
    unsubscribe,
)
from bot.answering.responder import Button, Reply
from bot.render import escape
from bot.services import Services, services_from
from bot.storage import touch_user
from jobs.outbox import kick_outbox
from telegram_io.send import NO_PREVIEW, send_reply

log = logging.getLogger(__name__)

SUB_PATTERN = r"^sub:(t|a|ok):[0-9a-f]{1,16}(:[0-9A-Za-z_-]{1,12})?$"
UNSUB_PATTERN = r"^unsub:(yes|no)$"
CHG_PATTERN = r"^chg:\d{1,9}:[0-9a-f]{1,16}:\d{1,4}(:n)?$"
CONTEXT_CACHE = "alerts_contexts"


def alert_texts(context: ContextTypes.DEFAULT_TYPE) -> AlertTexts:
    """The alerts wording (``alerts_messages.yaml`` next to the knowledge base)."""
    return load_alert_texts(services_from(context.bot_data).settings.knowledge_dir)


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _routes_label(routes: frozenset[str] | None, all_routes: list[RouteInfo], texts: AlertTexts) -> str:
    if routes is None:
        return escape(texts.message("all_routes_name"))
    names = {r.id: r.name for r in all_routes}
    ordered = [r.id for r in all_routes if r.id in routes] + sorted(routes - names.keys())
    return escape(", ".join(names.get(rid, rid) for rid in ordered))


def _window(services: Services, texts: AlertTexts | None = None) -> dict[str, str]:
    """``{"window": "between 08:00 and 20:00 UK time"}`` (or "at any time of day")."""
    s = services.settings
    texts = texts or load_alert_texts(s.knowledge_dir)
    if s.send_window_start == s.send_window_end:
        return {"window": texts.message("window_always")}
    return {"window": texts.message("window_between", start=s.send_window_start.strftime("%H:%M"),
                                    end=s.send_window_end.strftime("%H:%M"))}


# --- /subscribe ------------------------------------------------------------------------------


def route_keyboard(routes: list[RouteInfo], selection: frozenset[str] | None,
                   texts: AlertTexts) -> tuple[tuple[Button, ...], ...]:
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


def _markup(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                 for row in rows])


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the route keyboard, ticked with the chat's current choice."""
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    chat_id = _chat_id(update)
    if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
        touch_user(services.db, chat_id, role="adviser")
    current = subscription_of(services.db, chat_id)
    selection = current.routes if current and current.active else frozenset()
    keyboard = route_keyboard(current_routes(services.db), selection, texts)
    await send_reply(context.bot, chat_id, Reply("answer", texts.message("subscribe_prompt"), buttons=keyboard))


async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tick/untick a route, toggle "All routes", or save the choice with "Done"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = services_from(context.bot_data)
    texts = alert_texts(context)
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
        chat_id = _chat_id(update)
        subscription = subscribe(services.db, chat_id, None if selection is None else sorted(selection))
        log.info("alerts: a chat subscribed to %s", subscription.key)
        await query.answer()
        text = texts.message("subscribed", routes=_routes_label(subscription.routes, routes, texts),
                             **_window(services, texts))
        await _edit_or_send(update, context, text, None)
        return
    await query.answer()
    markup = _markup(route_keyboard(routes, selection, texts))
    try:
        await query.edit_message_reply_markup(reply_markup=markup)
    except BadRequest as exc:  # "message is not modified" on a double tap
        log.debug("subscribe keyboard not edited: %s", exc.message)


async def _edit_or_send(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
                        buttons: tuple[tuple[Button, ...], ...] | None) -> None:
    """Replace the pressed message's text (and buttons); send a new message if that fails."""
    query = update.callback_query
    markup = _markup(buttons or ())
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                          link_preview_options=NO_PREVIEW)
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
            log.debug("could not edit the message, sending a new one: %s", exc.message)
    await send_reply(context.bot, _chat_id(update), Reply("answer", text, buttons=buttons or ()))


async def private_chat_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Alerts are set up in a private chat with the bot, never for a whole group."""
    await send_reply(context.bot, _chat_id(update),
                     Reply("answer", alert_texts(context).message("private_chat_only")))


# --- /subscriptions and /unsubscribe ------------------------------------------------------------


async def subscriptions_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the chat's current alert choice."""
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    chat_id = _chat_id(update)
    current = subscription_of(services.db, chat_id)
    if current is None or not current.active:
        text = texts.message("subscriptions_none")
    else:
        text = texts.message(
            "subscriptions_current",
            routes=_routes_label(current.routes, current_routes(services.db), texts),
            since=long_date(current.created_at, services.settings.timezone),
        )
    await send_reply(context.bot, chat_id, Reply("answer", text))


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask for one confirm tap before stopping all alerts."""
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    chat_id = _chat_id(update)
    current = subscription_of(services.db, chat_id)
    if current is None or not current.active:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("not_subscribed")))
        return
    buttons = ((Button(texts.message("unsubscribe_yes"), "unsub:yes"),
                Button(texts.message("unsubscribe_no"), "unsub:no")),)
    await send_reply(context.bot, chat_id, Reply("answer", texts.message("unsubscribe_confirm"), buttons=buttons))


async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every alert for this chat, or keep them, and say which."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    if query.data == "unsub:yes":
        stopped = unsubscribe(services.db, _chat_id(update))
        log.info("alerts: a chat unsubscribed (was active: %s)", stopped)
        text = texts.message("unsubscribed" if stopped else "not_subscribed")
    else:
        text = texts.message("unsubscribe_kept")
    await _edit_or_send(update, context, text, None)


# --- /changes --------------------------------------------------------------------------------


def _context_for(services: Services, version: int) -> tuple[Any, MapContext] | None:
    """The change list and its map context for a version, cached (two versions at most)."""
    cache: dict[int, tuple[Any, MapContext]] = services.extras.setdefault(CONTEXT_CACHE, {})
    if version not in cache:
        changes = changes_for_version(services.db, version)
        if changes is None or not len(changes):
            return None
        try:
            found = change_context(services.db, changes)
        except KeyError:
            return None
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))
        cache[version] = (changes, found)
    return cache[version]


def changes_page(services: Services, texts: AlertTexts, version: int,
                 routes: frozenset[str] | None, page: int) -> tuple[str, tuple[tuple[Button, ...], ...]] | None:
    """One page of the changes in ``version`` for ``routes``; None if nothing changed there."""
    found = _context_for(services, version)
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
    return pages[page - 1], ((tuple(nav),) if nav else ())


async def changes_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest changes to the maps, optionally for one route (``/changes digital``), paged."""
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    chat_id = _chat_id(update)
    latest = latest_changes(services.db)
    if latest is None or latest.to_version is None:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("changes_none")))
        return
    wanted = " ".join(context.args or []).strip()
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
    page = changes_page(services, texts, latest.to_version, routes, 1)
    if page is None:
        name = next((r.name for r in current_routes(services.db) if routes and r.id in routes), wanted)
        text = texts.message("changes_none_route", version=latest.to_version, route=escape(name))
        await send_reply(context.bot, chat_id, Reply("answer", text))
        return
    text, buttons = page
    await send_reply(context.bot, chat_id, Reply("answer", text, buttons=buttons))


async def changes_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Previous/Next on a /changes page, or "Show all changes" under a digest."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services = services_from(context.bot_data)
    texts = alert_texts(context)
    _, version, mask, page, *fresh = query.data.split(":")
    found = changes_page(services, texts, int(version), routes_from_mask(mask), int(page))
    if found is None:
        from handlers.chat import expired_button

        await expired_button(update, context)
        return
    await query.answer()
    text, buttons = found
    if fresh:
        await send_reply(context.bot, _chat_id(update), Reply("answer", text, buttons=buttons))
    else:
        await _edit_or_send(update, context, text, buttons)


# --- wiring ----------------------------------------------------------------------------------


def make_map_changes_hook(application: Application) -> Callable[[Any], Awaitable[int]]:
    """The ``on_map_changes`` hook: queue one digest per affected subscriber, then send."""

    async def on_map_changes(report: Any) -> int:
        services = services_from(application.bot_data)
        count = enqueue_digests(services.db, report, texts=load_alert_texts(services.settings.knowledge_dir),
                                timezone=services.settings.timezone)
        log.info("alerts: %d digest(s) queued for maps version %s", count, report.changes.to_version)
        services.extras.pop(CONTEXT_CACHE, None)
        kick_outbox(application.bot_data)
        return count

    return on_map_changes


def register_alert_handlers(application: Application) -> None:
    """Add the alert commands and buttons (group 0; call before the catch-all button handler).

    Also counts private text questions for /stats in group 1 (after the answer is sent) and sets
    ``bot_data["on_map_changes"]``. The outbox job is separate: :func:`jobs.outbox.register_outbox_job`.
    """
    from handlers import alerts_admin

    add = application.add_handler
    # Alerts belong to a person: in a group any member could press the buttons.
    private = filters.ChatType.PRIVATE
    add(CommandHandler("subscribe", subscribe_command, filters=private), group=0)
    add(CommandHandler("subscriptions", subscriptions_command, filters=private), group=0)
    add(CommandHandler("unsubscribe", unsubscribe_command, filters=private), group=0)
    add(CommandHandler(["subscribe", "subscriptions", "unsubscribe"], private_chat_only,
                       filters=~private), group=0)
    add(CommandHandler("changes", changes_command), group=0)
    add(CommandHandler("stats", alerts_admin.stats_command), group=0)
    add(CommandHandler("broadcast", alerts_admin.broadcast_command), group=0)
    add(CommandHandler("testnotice", alerts_admin.testnotice_command), group=0)
    add(CallbackQueryHandler(subscribe_button, pattern=SUB_PATTERN), group=0)
    add(CallbackQueryHandler(unsubscribe_button, pattern=UNSUB_PATTERN), group=0)
    add(CallbackQueryHandler(changes_button, pattern=CHG_PATTERN), group=0)
    add(CallbackQueryHandler(alerts_admin.broadcast_button, pattern=alerts_admin.BROADCAST_PATTERN), group=0)
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE,
                       alerts_admin.count_question_handler), group=1)
    application.bot_data["on_map_changes"] = make_map_changes_hook(application)
    services = application.bot_data.get("services")
    if services is not None:
        ensure_alerts_shape(services.db)


__all__ = [
    "CHG_PATTERN",
    "SUB_PATTERN",
    "UNSUB_PATTERN",
    "changes_button",
    "changes_command",
    "changes_page",
    "make_map_changes_hook",
    "register_alert_handlers",
    "route_keyboard",
    "subscribe_button",
    "subscribe_command",
    "subscriptions_command",
    "unsubscribe_button",
    "unsubscribe_command",
]
