"""/role: a person says whether they are a student, a parent or carer, or an adviser.

The role only changes the wording of the welcome (/start); answers are the same for everyone.
It is stored with the chat's other details (``users.role``), shown in /privacy and deleted by
/forget. Private chats only: in a group the role would belong to nobody.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.reply import Button, Reply
from bot.usage import ROLES, set_role, touch_user
from handlers.chat import welcome_for
from telegram_io.context import Context
from telegram_io.send import edit_or_send, send_reply

ROLE_PATTERN = r"^role:(student|parent|adviser)$"


def _role_buttons(labels: dict[str, str]) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(str(labels.get(role, role)), f"role:{role}"),) for role in ROLES)


async def role_command(update: Update, context: Context) -> None:
    """``/role`` asks with three buttons; ``/role parent`` sets it at once."""
    chat = update.effective_chat
    assert chat is not None
    texts = context.bot_data.services.kb.texts
    if chat.type != ChatType.PRIVATE:
        await send_reply(context.bot, chat.id, Reply("answer", texts.message("role_private_only")))
        return
    wanted = " ".join(context.args or []).strip().casefold()
    aliases: dict[str, str] = texts.get("role_words") or {}
    role = next((r for r, words in aliases.items() if wanted and wanted in words), None)
    if role is not None:
        await _save(update, context, role)
        return
    prompt = texts.message("role_prompt")
    if wanted:
        prompt = f"{texts.message('role_unknown')}\n\n{prompt}"
    await send_reply(context.bot, chat.id,
                     Reply("answer", prompt, buttons=_role_buttons(texts.get("role_labels") or {})))


async def role_button(update: Update, context: Context) -> None:
    """One of the three role buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await _save(update, context, query.data.removeprefix("role:"), edit=True)


async def _save(update: Update, context: Context, role: str, *, edit: bool = False) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = context.bot_data.services
    touch_user(services.db, chat.id)
    set_role(services.db, chat.id, role)
    names: dict[str, str] = services.kb.texts.get("role_names") or {}
    reply = Reply("answer", services.kb.message("role_set", role=names.get(role, role)))
    if edit:
        await edit_or_send(update, context.bot, reply)
    else:
        await send_reply(context.bot, chat.id, reply)
    await send_reply(context.bot, chat.id, welcome_for(update, context))
