"""Who is asking, and which cohorts they may see; every read is audited.

Anyone who is neither an administrator (`FACILITATOR_IDS`) nor a facilitator of some cohort
gets exactly the reply for an unknown command. A facilitator asking about a cohort that isn't
theirs gets the same reply as for a cohort that doesn't exist, and the attempt is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from telegram import Update, User

from bot.db.models import Cohort
from bot.handlers.context import BotContext
from bot.handlers.facilitator.display import PREFIX, buttons
from bot.handlers.facilitator.parsing import cohort_number
from bot.services import facilitators as fac
from bot.texts import escape, text


@dataclass(frozen=True)
class Who:
    user_id: int
    chat_id: int
    language: str | None
    admin: bool


def admin_ids(context: BotContext) -> frozenset[int]:
    return context.runtime.settings.facilitator_ids


async def remember_profile(context: BotContext, user: User, chat_id: int) -> None:
    """Keep the facilitator's private chat and name (for the digest and /alerts)."""
    await fac.touch_profile(
        session=context.session,
        telegram_user_id=user.id,
        chat_id=chat_id,
        display_name=user.full_name,
        now=context.now,
    )


async def is_facilitator(context: BotContext, user_id: int) -> bool:
    """An administrator, or a facilitator of some cohort."""
    return await fac.is_facilitator(
        session=context.session, telegram_user_id=user_id, admin_ids=admin_ids(context)
    )


async def identify(update: Update, context: BotContext) -> Who | None:
    """The facilitator behind this update, or None (nothing replied)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    if not await is_facilitator(context, user.id):
        return None
    await remember_profile(context, user, chat.id)
    return Who(
        user.id,
        chat.id,
        user.language_code,
        fac.is_admin(telegram_user_id=user.id, admin_ids=admin_ids(context)),
    )


async def reply_unknown_command(context: BotContext, chat_id: int, language: str | None) -> None:
    await context.reply(chat_id, text("unknown_command", language))


async def require_facilitator(update: Update, context: BotContext) -> Who | None:
    """Like `identify`, but anyone else gets the unknown-command reply."""
    who = await identify(update, context)
    if who is None:
        message = update.effective_message
        if message is not None and message.chat.type == "private":
            lang = update.effective_user.language_code if update.effective_user else None
            await reply_unknown_command(context, message.chat_id, lang)
    return who


async def audit_user(
    context: BotContext, user_id: int, action: str, cohort_id: int | None, detail: str
) -> None:
    await fac.audit(
        session=context.session,
        actor=user_id,
        action=action,
        cohort_id=cohort_id,
        detail=detail,
        now=context.now,
    )


async def audit(
    context: BotContext, who: Who, action: str, cohort_id: int | None, detail: str
) -> None:
    await audit_user(context, who.user_id, action, cohort_id, detail)


async def user_may_see(context: BotContext, user_id: int, cohort_id: int) -> bool:
    """Whether the cohort exists and this Telegram user may see it."""
    return await fac.can_access(
        session=context.session,
        telegram_user_id=user_id,
        cohort_id=cohort_id,
        admin_ids=admin_ids(context),
    )


async def may_see(context: BotContext, who: Who, cohort_id: int) -> bool:
    return await user_may_see(context, who.user_id, cohort_id)


async def may_see_or_deny(
    context: BotContext, who: Who, command: str, raw: str, cohort_id: int | None
) -> bool:
    """Whether `who` may see the cohort; if not (or there is none), the attempt is audited and
    answered as for a cohort that doesn't exist."""
    if cohort_id is not None and await may_see(context, who, cohort_id):
        return True
    await audit(context, who, "denied", None, f"{command} {raw}"[:200])
    await context.reply(who.chat_id, text("fac_not_found", who.language, cohort=escape(raw)))
    return False


async def my_cohort_ids(context: BotContext, who: Who) -> set[int] | None:
    """The ids of the cohorts `who` may see; None for an administrator (every cohort)."""
    return await fac.accessible_cohort_ids(
        session=context.session, telegram_user_id=who.user_id, admin_ids=admin_ids(context)
    )


async def my_cohorts(context: BotContext, who: Who) -> list[Cohort]:
    ids = await my_cohort_ids(context, who)
    query = select(Cohort).order_by(col(Cohort.id))
    if ids is not None:
        query = query.where(col(Cohort.id).in_(ids))
    return list((await context.session.exec(query)).all())


async def named_cohort(context: BotContext, who: Who, command: str, args: list[str]) -> int | None:
    """The cohort named in the command's first argument, if this facilitator may see it.

    Without an argument, the facilitator's cohorts come as buttons (and None is returned).
    """
    if not args:
        await _offer_cohorts(context, who, command)
        return None
    cohort_id = cohort_number(args[0])
    if not await may_see_or_deny(context, who, command, args[0], cohort_id):
        return None
    return cohort_id


async def _offer_cohorts(context: BotContext, who: Who, command: str) -> None:
    cohorts = await my_cohorts(context, who)
    if not cohorts:
        await context.reply(who.chat_id, text("fac_no_cohorts", who.language))
        return
    rows = [[(f"{c.id} · {c.name}"[:60], f"{PREFIX}:pick:{command}:{c.id}")] for c in cohorts[-20:]]
    await context.reply(who.chat_id, text("fac_pick", who.language), markup=buttons(*rows))


async def requested_cohort(
    update: Update, context: BotContext, command: str
) -> tuple[Who, int] | None:
    """The facilitator and the cohort their command names, or None when they have already been
    answered: not a facilitator, no cohort named (their cohorts come as buttons), or a cohort
    they may not see."""
    who = await require_facilitator(update, context)
    if who is None:
        return None
    cohort_id = await named_cohort(context, who, command, context.args or [])
    return None if cohort_id is None else (who, cohort_id)
