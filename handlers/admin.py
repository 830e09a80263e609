"""Admin-only commands. Admins are the Telegram user ids in ``CAREERS_BOT_ADMIN_IDS``."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.knowledge import KnowledgeError
from bot.maps.refresh import summary_text
from bot.render import escape
from bot.reply import Button, Reply
from jobs.refresh import run_refresh_job
from telegram_io.context import Context
from telegram_io.send import send_reply

log = logging.getLogger(__name__)


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.bot_data.services.settings.admin_ids


async def refuse_non_admin(update: Update, context: Context) -> bool:
    """Tell a non-admin the command is for admins; True when refused."""
    if is_admin(update, context):
        user = update.effective_user
        message = update.effective_message
        command = message.text.split()[0] if message and message.text else "?"
        log.info("admin action by %s: %s", user.id if user else None, command)
        return False
    kb = context.bot_data.services.kb
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, Reply("fallback", kb.message("admin_only")))
    return True


async def reload(update: Update, context: Context) -> None:
    """Reload knowledge/ now; a broken edit is refused with the validator's message."""
    if await refuse_non_admin(update, context):
        return
    services = context.bot_data.services
    kb = services.kb
    try:
        new_kb = await asyncio.to_thread(services.reload_knowledge)
        text = new_kb.message("reloaded", entries=len(new_kb), questions=new_kb.question_count)
    except KnowledgeError as exc:
        problems = "\n".join(str(p) for p in exc.problems[:10])
        log.warning("knowledge reload refused:\n%s", problems)
        text = kb.message("reload_failed", problems=escape(problems))
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, Reply("answer", text))


async def refresh(update: Update, context: Context) -> None:
    """Refresh the occupational maps now; a held run offers an "apply anyway" button."""
    if await refuse_non_admin(update, context):
        return
    await _run_refresh(update, context, force=False)


async def refresh_force_button(update: Update, context: Context) -> None:
    """The admin confirmed a held (unusually large) change set."""
    query = update.callback_query
    assert query is not None
    if not is_admin(update, context):
        await query.answer()
        await refuse_non_admin(update, context)
        return
    await query.answer()
    log.info("admin action by %s: refresh --force", update.effective_user.id if update.effective_user else None)
    await _run_refresh(update, context, force=True)


async def _run_refresh(update: Update, context: Context, *, force: bool) -> None:
    report = await run_refresh_job(context.bot_data, context.bot, force=force)
    kb = context.bot_data.services.kb
    buttons = ((Button(kb.message("refresh_force"), "refresh:force"),),) if report.status == "held" else ()
    text = escape(summary_text(report, attribution=False))[:3500]
    assert update.effective_chat is not None
    await send_reply(context.bot, update.effective_chat.id, Reply("answer", text, buttons=buttons))
