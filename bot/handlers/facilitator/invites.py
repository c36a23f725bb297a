"""Facilitator invites: /invitefacilitator makes a single-use link, /start fac-<code> uses it."""

from __future__ import annotations

from telegram import Update

from bot.db.models import Cohort
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import (
    Who,
    audit,
    audit_user,
    named_cohort,
    remember_profile,
    reply_unknown_command,
    require_facilitator,
)
from bot.services import facilitators as fac
from bot.texts import escape, text


async def invite_facilitator(update: Update, context: BotContext) -> None:
    """/invitefacilitator <cohort> (administrators): a single-use facilitator invite link."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    if not who.admin:
        await reply_unknown_command(context, who.chat_id, who.language)
        return
    cohort_id = await named_cohort(context, who, "invite", context.args or [])
    if cohort_id is not None:
        await send_invite(context, who, cohort_id)


async def send_invite(context: BotContext, who: Who, cohort_id: int) -> None:
    cohort = await context.session.get(Cohort, cohort_id)
    assert cohort is not None
    invite = await fac.create_invite(
        session=context.session, cohort_id=cohort_id, created_by=who.user_id, now=context.now
    )
    await audit(context, who, "facilitator-invite", cohort_id, "chat")
    link = f"https://t.me/{context.bot.username}?start={fac.INVITE_PREFIX}{invite.code}"
    await context.reply(
        who.chat_id,
        text("fac_invite_created", who.language, name=escape(cohort.name), link=link),
    )


async def start_invite(update: Update, context: BotContext) -> None:
    """/start fac-<code>: become a facilitator of the invite's cohort."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    lang = user.language_code
    payload = context.args[0] if context.args else ""
    outcome = await fac.redeem_invite(
        session=context.session,
        code=payload.removeprefix(fac.INVITE_PREFIX),
        telegram_user_id=user.id,
        now=context.now,
    )
    if outcome.result == fac.RedeemResult.INVALID or outcome.cohort is None:
        await context.reply(message.chat_id, text("join_unknown_code", lang))
        return
    await remember_profile(context, user, message.chat_id)
    name = escape(outcome.cohort.name)
    if outcome.result == fac.RedeemResult.ADDED:
        await audit_user(context, user.id, "facilitator-added", outcome.cohort.id, "invite link")
        await context.reply(message.chat_id, text("fac_invite_added", lang, name=name))
        _publish_menu(context, message.chat_id)
    else:
        await context.reply(message.chat_id, text("fac_invite_already", lang, name=name))


def _publish_menu(context: BotContext, chat_id: int) -> None:
    """Show the facilitator commands in the new facilitator's menu."""
    menus = context.runtime.menus
    context.after_commit(None, lambda: menus.publish(chat_id))
