"""/linkgroup: post each day's theme of a cohort to a Telegram group."""

from __future__ import annotations

from telegram import Update

from bot.db.models import Cohort
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import (
    audit_user,
    is_facilitator,
    named_cohort,
    require_facilitator,
    user_may_see,
)
from bot.handlers.facilitator.parsing import number
from bot.texts import escape, text


async def linkgroup_private(update: Update, context: BotContext) -> None:
    """/linkgroup in a private chat: explain that it is sent in the group."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    args = context.args or []
    cohort_id = await named_cohort(context, who, "linkgroup", args) if args else None
    if args and cohort_id is None:
        return
    await context.reply(
        who.chat_id,
        text("fac_linkgroup_private", who.language, id=cohort_id or escape("<cohort number>")),
    )


async def linkgroup_group(update: Update, context: BotContext) -> None:
    """/linkgroup <cohort>, sent in a group: post each day's theme there.

    Anyone who may not see the cohort gets no reply at all (as for any unknown command in a
    group)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.chat.type not in ("group", "supergroup"):
        return
    args = context.args or []
    raw = args[0].lstrip("#") if args else ""
    cohort_id = number(raw)
    if cohort_id is None:
        return
    if not await user_may_see(context, user.id, cohort_id):
        if await is_facilitator(context, user.id):
            await audit_user(context, user.id, "denied", None, f"linkgroup {raw}")
        return
    cohort = await context.session.get(Cohort, cohort_id)
    assert cohort is not None
    cohort.group_chat_id = message.chat_id
    context.session.add(cohort)
    await audit_user(context, user.id, "linkgroup", cohort_id, f"chat {message.chat_id}")
    await context.reply(
        message.chat_id,
        text("fac_linkgroup_done", user.language_code, name=escape(cohort.name)),
        kind="group",
        cohort_id=cohort_id,
    )
