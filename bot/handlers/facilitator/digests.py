"""/digest: when a facilitator gets the daily summary of their cohorts."""

from __future__ import annotations

from telegram import Update

from bot.db.models import FacilitatorProfile
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, my_cohorts, require_facilitator
from bot.handlers.facilitator.parsing import parse_hhmm
from bot.services import facilitators as fac
from bot.services.cohorts import InvalidTimezone, check_timezone
from bot.texts import escape, text


async def digest(update: Update, context: BotContext) -> None:
    """/digest HH:MM [time zone] | off: the daily summary of your cohorts."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    profile = await context.session.get(FacilitatorProfile, who.user_id)
    assert profile is not None
    args = context.args or []
    if args and args[0].lower() == "off":
        await fac.set_digest(
            session=context.session,
            profile=profile,
            digest_time=None,
            timezone=None,
            now=context.now,
        )
        await context.reply(who.chat_id, text("fac_digest_off", who.language))
        return
    at = parse_hhmm(args[0]) if args else None
    if at is None:
        await _reply_usage(context, who, profile)
        return
    zone: str | None = None
    if len(args) > 1:
        try:
            zone = check_timezone(args[1])
        except InvalidTimezone as exc:
            hint = f" Did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
            await context.reply(
                who.chat_id,
                text("fac_digest_bad_tz", who.language, tz=escape(args[1]), hint=escape(hint)),
            )
            return
    elif profile.digest_time is None and profile.digest_timezone == "UTC":
        mine = await my_cohorts(context, who)
        zone = mine[-1].timezone if mine else None
    await fac.set_digest(
        session=context.session, profile=profile, digest_time=at, timezone=zone, now=context.now
    )
    await context.reply(
        who.chat_id,
        text(
            "fac_digest_on",
            who.language,
            time=at.strftime("%H:%M"),
            tz=escape(profile.digest_timezone),
        ),
    )


async def _reply_usage(context: BotContext, who: Who, profile: FacilitatorProfile) -> None:
    """How to use /digest, with the current setting."""
    current = (
        f"{profile.digest_time:%H:%M} ({profile.digest_timezone})" if profile.digest_time else "off"
    )
    await context.reply(
        who.chat_id, text("fac_digest_usage", who.language, current=escape(current))
    )
