"""Every facilitator button: `fac:<action>:...`. Access is checked again on each press."""

from __future__ import annotations

from telegram import Update

from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, identify, may_see_or_deny
from bot.handlers.facilitator.answer_pages import send_answers
from bot.handlers.facilitator.display import remove_buttons
from bot.handlers.facilitator.exports import send_export
from bot.handlers.facilitator.invites import send_invite
from bot.handlers.facilitator.newcohort import newcohort_button
from bot.handlers.facilitator.outreach import confirm_broadcast, confirm_nudge, preview_nudge
from bot.handlers.facilitator.parsing import number
from bot.handlers.facilitator.reports import send_chart, send_report

PICKABLE = ("report", "chart", "answers", "export", "nudge", "invite")
"""Commands whose cohort can be picked from buttons (`fac:pick:<command>:<cohort>`)."""


async def button(update: Update, context: BotContext) -> None:
    """Every facilitator button: `fac:<action>:...`. Access is checked again on each press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    context.after_commit(None, lambda: query.answer())
    who = await identify(update, context) if query.message is not None else None
    if who is None:
        return
    _, action, *parts = query.data.split(":")
    if action == "new":
        await newcohort_button(context, who, parts, query)
        return
    if action == "bc" and len(parts) == 2:
        remove_buttons(context, who.chat_id, query)
        await confirm_broadcast(context, who, parts[0], parts[1] == "y")
        return
    numbers = [n for n in map(number, parts) if n is not None]
    if action == "pick" and len(parts) == 2 and parts[0] in PICKABLE and numbers:
        command, cohort_id = parts[0], numbers[0]
        if await may_see_or_deny(context, who, command, parts[1], cohort_id):
            await _picked(context, who, command, cohort_id)
    elif action == "ans" and len(numbers) == 3 == len(parts):
        cohort_id, day, page = numbers
        if await may_see_or_deny(context, who, "answers", parts[0], cohort_id):
            await send_answers(context, who, cohort_id, day, page, query)
    elif action == "nudge" and len(parts) == 2 and numbers:
        cohort_id = numbers[0]
        remove_buttons(context, who.chat_id, query)
        if await may_see_or_deny(context, who, "nudge", parts[0], cohort_id):
            await confirm_nudge(context, who, cohort_id, parts[1] == "y")


async def _picked(context: BotContext, who: Who, command: str, cohort_id: int) -> None:
    """A cohort picked from the buttons a command without one offered."""
    if command == "report":
        await send_report(context, who, cohort_id)
    elif command == "chart":
        await send_chart(context, who, cohort_id)
    elif command == "answers":
        await send_answers(context, who, cohort_id, None, 0, None)
    elif command == "export":
        await send_export(context, who, cohort_id, "csv")
    elif command == "nudge":
        await preview_nudge(context, who, cohort_id)
    elif command == "invite" and who.admin:
        await send_invite(context, who, cohort_id)
