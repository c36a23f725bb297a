"""/broadcast and /nudge: messages to a cohort's participants, sent after a preview.

Broadcast previews wait in `context.user_data`, in memory: after a restart their buttons say
"expired".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select
from telegram import Update

from bot.db.models import Cohort, Participant, ParticipantStatus
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import (
    Who,
    audit,
    may_see,
    named_cohort,
    requested_cohort,
    require_facilitator,
)
from bot.handlers.facilitator.display import PREFIX, buttons, send_or_cancel, shorten
from bot.handlers.facilitator.reports import cohort_report
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.rendering import telegram_length
from bot.texts import escape, text

BROADCASTS = "fac_broadcasts"
BROADCAST_MAX_LENGTH = 3500


# --- /broadcast ---------------------------------------------------------------------------


async def broadcast(update: Update, context: BotContext) -> None:
    """/broadcast <cohort> <text>: preview, then a Send button queues it for everyone active."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=2)
    args = parts[1:2]
    if not args:
        await context.reply(who.chat_id, text("fac_broadcast_usage", who.language, id=1))
        return
    cohort_id = await named_cohort(context, who, "broadcast", args)
    if cohort_id is None:
        return
    body = parts[2].strip() if len(parts) > 2 else ""
    if not body or telegram_length(body) > BROADCAST_MAX_LENGTH:
        await context.reply(who.chat_id, text("fac_broadcast_usage", who.language, id=cohort_id))
        return
    cohort = await context.session.get(Cohort, cohort_id)
    recipients = await _active(context, cohort_id)
    if not recipients:
        await context.reply(
            who.chat_id,
            text("fac_broadcast_nobody", who.language, name=escape(cohort.name)),  # type: ignore[union-attr]
        )
        return
    token = secrets.token_hex(6)
    _pending_broadcasts(context)[token] = {"cohort": cohort_id, "text": body}
    await context.reply(
        who.chat_id,
        text(
            "fac_broadcast_preview",
            who.language,
            count=len(recipients),
            name=escape(cohort.name),  # type: ignore[union-attr]
            message=escape(body),
        ),
        markup=buttons(send_or_cancel(who.language, f"{PREFIX}:bc:{token}")),
    )


def _pending_broadcasts(context: BotContext) -> dict[str, Any]:
    return context.user_data.setdefault(BROADCASTS, {})  # type: ignore[union-attr, no-any-return]


async def _active(context: BotContext, cohort_id: int) -> list[Participant]:
    return list(
        (
            await context.session.exec(
                select(Participant)
                .where(Participant.cohort_id == cohort_id)
                .where(Participant.status == ParticipantStatus.ACTIVE)
                .order_by(col(Participant.id))
            )
        ).all()
    )


async def confirm_broadcast(context: BotContext, who: Who, token: str, send: bool) -> None:
    """The Send or Cancel button under a broadcast preview."""
    pending = _pending_broadcasts(context).pop(token, None)
    if pending is None:
        await context.reply(who.chat_id, text("fac_expired", who.language))
        return
    if not send:
        await context.reply(who.chat_id, text("fac_cancelled", who.language))
        return
    cohort_id = pending["cohort"]
    if not await may_see(context, who, cohort_id):
        await context.reply(who.chat_id, text("fac_expired", who.language))
        return
    queued = await _queue(
        context,
        cohort_id,
        await _active(context, cohort_id),
        item=f"broadcast:{token}",
        kind="broadcast",
        message=lambda p: text(
            "fac_broadcast_message", p.language, message=escape(pending["text"])
        ),
    )
    await audit(context, who, "broadcast", cohort_id, f"{queued} recipients")
    await context.reply(who.chat_id, text("fac_broadcast_sent", who.language, count=queued))
    context.runtime.sender.wake()


async def _queue(
    context: BotContext,
    cohort_id: int,
    people: list[Participant],
    *,
    item: str,
    kind: str,
    message: Callable[[Participant], str],
) -> int:
    """Queue one message to each of `people` now; returns how many were queued (the outbox
    skips anyone who already has this `item`)."""
    return await enqueue(
        session=context.session,
        messages=[
            OutgoingMessage(
                chat_id=p.chat_id,
                participant_id=p.id,
                cohort_id=cohort_id,
                day=0,
                item=item,
                kind=kind,
                text=message(p),
                due_at=context.now,
            )
            for p in people
        ],
    )


# --- /nudge -------------------------------------------------------------------------------


async def nudge(update: Update, context: BotContext) -> None:
    """/nudge <cohort>: a kind check-in to the people who are slipping, after a confirmation."""
    asked = await requested_cohort(update, context, "nudge")
    if asked is not None:
        await preview_nudge(context, *asked)


async def preview_nudge(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await cohort_report(context, cohort_id)
    await audit(context, who, "nudge-preview", cohort_id, f"{len(result.at_risk)} at risk")
    name = escape(result.cohort_name)
    if not result.at_risk:
        await context.reply(who.chat_id, text("fac_nudge_none", who.language, name=name))
        return
    await context.reply(
        who.chat_id,
        text(
            "fac_nudge_preview",
            who.language,
            people=_people(len(result.at_risk)),
            name=name,
            days=result.at_risk_days,
            names=escape(_names([p.name for p in result.at_risk])),
            message=text("fac_nudge_message", who.language, name=""),
        ),
        markup=buttons(send_or_cancel(who.language, f"{PREFIX}:nudge:{cohort_id}")),
    )


def _names(names: list[str], shown: int = 40) -> str:
    listed = ", ".join(shorten(n, 40) for n in names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def _first_name(participant: Participant) -> str:
    if participant.data_deleted_at is not None or not participant.display_name:
        return ""
    return " " + escape(participant.display_name.split()[0])


async def confirm_nudge(context: BotContext, who: Who, cohort_id: int, send: bool) -> None:
    """The Send or Cancel button under a nudge preview."""
    if not send:
        await context.reply(who.chat_id, text("fac_cancelled", who.language))
        return
    result = await cohort_report(context, cohort_id)
    people = [
        p
        for p in [await context.session.get(Participant, r.participant_id) for r in result.at_risk]
        if p is not None
    ]
    queued = await _queue(
        context,
        cohort_id,
        people,
        item=f"nudge:{context.now.date().isoformat()}",
        kind="nudge",
        message=lambda p: text("fac_nudge_message", p.language, name=_first_name(p)),
    )
    await audit(context, who, "nudge", cohort_id, f"{queued} recipients")
    skipped = len(people) - queued
    key = "fac_nudge_sent_some" if skipped else "fac_nudge_sent"
    await context.reply(who.chat_id, text(key, who.language, count=queued, skipped=skipped))
    context.runtime.sender.wake()
