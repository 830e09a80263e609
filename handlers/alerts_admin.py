"""Admin commands for alerts: /stats, /broadcast (with a confirm button) and /testnotice.

Admins are ``CAREERS_BOT_ADMIN_IDS``; everyone else is told the command is for admins
(:func:`handlers.admin.refuse_non_admin`, which also logs every admin command). Button presses
are checked and logged here. Broadcasts go through the same outbox as digests, so they share its
pacing, sending window and crash guarantees.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.alerts.digest import long_date, notices_for, render_digest
from bot.alerts.outbox import (
    broadcast_draft,
    cancel_broadcast,
    create_broadcast,
    enqueue_broadcast,
    show_all_data,
)
from bot.alerts.stats import AlertStats, stats
from bot.alerts.subscriptions import Subscription, active_subscriptions, subscription_of
from bot.db import utcnow
from bot.feedback import feedback_lines
from bot.knowledge import Messages
from bot.maps.store import latest_changes
from bot.render import escape, split_message
from bot.reply import Button, Reply
from handlers.admin import is_admin, refuse_non_admin
from handlers.alerts import window_words
from handlers.chat import expired_button
from telegram_io.context import Context
from telegram_io.send import edit_or_send, send_reply

log = logging.getLogger(__name__)

BROADCAST_PATTERN = r"^bc:(yes|no):\d{1,9}$"


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def stats_text(data: AlertStats, texts: Messages, timezone: str) -> str:
    """The /stats message."""
    lines = []
    for name, count in data.per_route:
        label = texts.message("all_routes") if name == "all" else name
        lines.append(texts.message("stats_route_line", route=escape(label), count=count))
    refresh = data.last_refresh
    if refresh.get("last_status"):
        refreshed = texts.message("stats_refresh", status=escape(str(refresh["last_status"])),
                                  at=escape(long_date(refresh.get("last_attempt_at"), timezone)))
        if refresh.get("last_reason"):
            refreshed += f"\n<i>{escape(str(refresh['last_reason'])[:300])}</i>"
    else:
        refreshed = texts.message("stats_refresh_never")
    latest = data.latest_version
    version = (texts.message("stats_version", version=latest.version,
                             at=escape(long_date(latest.fetched_at, timezone)))
               if latest else texts.message("stats_version_none"))
    outbox = ", ".join(f"{state} {count}" for state, count in data.outbox.items())
    return texts.message(
        "stats",
        date=data.date,
        students=data.students,
        questions_today=data.questions_today,
        unanswered_today=data.unanswered_today,
        subscribers=data.subscribers,
        routes="\n".join(lines) or texts.message("stats_no_subscribers"),
        refresh=refreshed,
        version=version,
        outbox=outbox,
    )


async def stats_command(update: Update, context: Context) -> None:
    """Students, today's questions, subscribers per route, last refresh and outbox counts."""
    if await refuse_non_admin(update, context):
        return
    services = context.bot_data.services
    timezone = services.settings.timezone
    services.usage.flush()  # today's counts include the last second's questions
    text = stats_text(stats(services.db, timezone=timezone), context.bot_data.services.kb.texts, timezone)
    feedback = feedback_lines(services.db, services.kb, utcnow().date(),
                              services.settings.review_max_age_months)
    text += "\n\n" + "\n".join(escape(line) for line in feedback)
    await send_reply(context.bot, _chat_id(update), Reply("answer", text))


def broadcast_parts(text: str, texts: Messages) -> list[str]:
    """An admin's text as it goes out: escaped, with a header and the way to stop."""
    body = f"{texts.message('broadcast_header')}\n\n{escape(text)}\n\n{texts.message('broadcast_footer')}"
    return split_message(body)


async def broadcast_command(update: Update, context: Context) -> None:
    """Show what would be sent to every active subscriber, with Send/Cancel buttons."""
    if await refuse_non_admin(update, context):
        return
    services = context.bot_data.services
    texts = context.bot_data.services.kb.texts
    chat_id = _chat_id(update)
    message = update.effective_message
    raw = message.text if message is not None and message.text else ""
    pieces = raw.split(maxsplit=1)
    text = pieces[1].strip() if len(pieces) > 1 else ""
    if not text:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("broadcast_usage")))
        return
    count = len(active_subscriptions(services.db))
    if not count:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("broadcast_nobody")))
        return
    user = update.effective_user
    draft = create_broadcast(services.db, user.id if user else None, text)
    log.info("admin %s drafted broadcast %d for %d subscribers", user.id if user else None, draft, count)
    preview = broadcast_parts(text, texts)[0]
    confirm = texts.message("broadcast_confirm", count=count, preview=preview,
                            window=window_words(services))
    buttons = ((Button(texts.message("broadcast_send", count=count), f"bc:yes:{draft}"),
                Button(texts.message("broadcast_cancel"), f"bc:no:{draft}")),)
    await send_reply(context.bot, chat_id, Reply("answer", confirm, buttons=buttons))


async def broadcast_button(update: Update, context: Context) -> None:
    """Queue the broadcast for every active subscriber (once), or cancel it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    texts = context.bot_data.services.kb.texts
    user = update.effective_user
    if not is_admin(update, context):
        log.warning("non-admin %s pressed a broadcast button", user.id if user else None)
        await query.answer(texts.message("admin_only_button"), show_alert=True)
        return
    services = context.bot_data.services
    _, answer, draft_id = query.data.split(":")
    draft = broadcast_draft(services.db, int(draft_id))
    await query.answer()
    if draft is None:
        await expired_button(update, context)
        return
    text, queued = draft
    if answer == "no":
        log.info("admin %s cancelled broadcast %s", user.id if user else None, draft_id)
        cancel_broadcast(services.db, int(draft_id))
        await edit_or_send(update, context.bot, Reply("answer", texts.message("broadcast_cancelled")))
        return
    if queued:
        await edit_or_send(update, context.bot, Reply("answer", texts.message("broadcast_already", id=draft_id)))
        return
    count = enqueue_broadcast(services.db, int(draft_id), broadcast_parts(text, texts))
    log.info("admin %s queued broadcast %s for %d subscribers", user.id if user else None, draft_id, count)
    context.bot_data.wake_outbox()
    await edit_or_send(update, context.bot,
                       Reply("answer", texts.message("broadcast_queued", count=count, id=draft_id)))


async def testnotice_command(update: Update, context: Context) -> None:
    """Send the latest digest to this admin only (as their subscription, or all routes)."""
    if await refuse_non_admin(update, context):
        return
    services = context.bot_data.services
    texts = context.bot_data.services.kb.texts
    chat_id = _chat_id(update)
    latest = latest_changes(services.db)
    found = (context.bot_data.changes.get(services.db, latest.to_version)
             if latest and latest.to_version else None)
    if latest is None or latest.to_version is None or found is None:
        await send_reply(context.bot, chat_id, Reply("answer", texts.message("testnotice_none")))
        return
    changes, map_context = found
    own = subscription_of(services.db, chat_id)
    subscription = own if own is not None and own.active else Subscription(chat_id, None)
    digest = notices_for(subscription, changes, map_context)
    scope = "testnotice_scope_yours"
    if digest is None:  # nothing in the admin's own routes: show the whole digest
        subscription = Subscription(chat_id, None)
        digest = notices_for(subscription, changes, map_context)
        scope = "testnotice_scope_all"
    elif subscription.routes is None and own is None:
        scope = "testnotice_scope_all"
    assert digest is not None
    parts = render_digest(digest, texts, timezone=services.settings.timezone)
    intro = texts.message("testnotice_intro", version=latest.to_version, scope=texts.message(scope))
    await send_reply(context.bot, chat_id, Reply("answer", intro))
    for index, part in enumerate(parts):
        buttons: tuple[tuple[Button, ...], ...] = ()
        if parts.omitted and index == len(parts) - 1:
            data = show_all_data(latest.to_version, subscription.routes, len(parts) + 1)
            buttons = ((Button(texts.message("show_all"), data),),)
        await send_reply(context.bot, chat_id, Reply("answer", part, buttons=buttons))
    log.info("admin test notice sent for maps version %s", latest.to_version)


async def count_question_handler(update: Update, context: Context) -> None:
    """Count a private text question for /stats (group 1: after the answer; no text is kept)."""
    services = context.bot_data.services
    try:
        services.usage.count_question(timezone=services.settings.timezone)
    except Exception:  # never let bookkeeping disturb a conversation
        log.warning("could not count a question", exc_info=True)
