"""/newcohort: program, name, start date, time zone, delivery time; then the invite link.

The conversation's state lives in `context.user_data`, in memory: it survives only while the
process runs; after a restart the buttons say "expired".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, audit, identify, my_cohorts, require_facilitator
from bot.handlers.facilitator.display import PREFIX, Row, buttons, remove_buttons
from bot.handlers.facilitator.parsing import parse_hhmm
from bot.services import facilitators as fac
from bot.services.catalog import ensure_version
from bot.services.cohorts import InvalidTimezone, check_timezone, create_cohort
from bot.texts import escape, text

NEW = "fac_newcohort"
DELIVERY_TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "20:00")
TYPED_STEPS = ("name", "start", "timezone")
BUTTON_STEPS = {"prog": "program", "start": "start", "tz": "timezone", "time": "time"}
"""Button action -> the step it answers."""


async def newcohort(update: Update, context: BotContext) -> None:
    """/newcohort: program, name, start date, time zone, delivery time; then the invite link."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    catalog = context.runtime.catalog
    context.user_data[NEW] = {"step": "program"}  # type: ignore[index]
    rows = [
        [(item.program.title[:60], f"{PREFIX}:new:prog:{pid}")]
        for pid, item in sorted(catalog.items())
    ]
    rows.append(_cancel_row(who))
    await context.reply(who.chat_id, text("fac_new_program", who.language), markup=buttons(*rows))


# --- asking -------------------------------------------------------------------------------


def _cancel_row(who: Who) -> Row:
    return [(text("fac_button_cancel", who.language), f"{PREFIX}:new:cancel")]


def _example_date(context: BotContext) -> str:
    return (context.now.date() + timedelta(days=7)).isoformat()


async def _ask_start(context: BotContext, who: Who) -> None:
    await context.reply(
        who.chat_id,
        text("fac_new_start", who.language, example=_example_date(context)),
        markup=buttons(
            [
                (text("fac_button_today", who.language), f"{PREFIX}:new:start:today"),
                (text("fac_button_tomorrow", who.language), f"{PREFIX}:new:start:tomorrow"),
                (text("fac_button_monday", who.language), f"{PREFIX}:new:start:monday"),
            ],
            _cancel_row(who),
        ),
    )


async def _ask_timezone(context: BotContext, who: Who, suggestions: list[str]) -> None:
    mine = await my_cohorts(context, who)
    zones = [*suggestions[:3]] or [*({c.timezone for c in mine[-2:]} - {"UTC"}), "UTC"]
    await context.reply(
        who.chat_id,
        text("fac_new_timezone", who.language),
        markup=buttons([(z, f"{PREFIX}:new:tz:{z}") for z in zones[:3]], _cancel_row(who)),
    )


async def _ask_time(context: BotContext, who: Who) -> None:
    choices = [(t, f"{PREFIX}:new:time:{t.replace(':', '')}") for t in DELIVERY_TIMES]
    await context.reply(
        who.chat_id,
        text("fac_new_time", who.language),
        markup=buttons(choices[:3], choices[3:], _cancel_row(who)),
    )


# --- typed answers ------------------------------------------------------------------------


async def newcohort_text(update: Update, context: BotContext) -> None:
    """Typed answers during /newcohort (name, date, time zone). Runs before every other text
    handler; other messages pass through untouched."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None or message.text is None:
        return
    data = context.application.user_data.get(user.id)
    state = data.get(NEW) if data else None
    if not state or state.get("step") not in TYPED_STEPS:
        return
    who = await identify(update, context)
    if who is None:
        data.pop(NEW, None)  # type: ignore[union-attr]
        return
    value = message.text.strip()
    step = state["step"]
    if step == "name":
        await _typed_name(context, who, state, value)
    elif step == "start":
        await _typed_start(context, who, state, value)
    else:
        await _typed_timezone(context, who, state, value)
    raise ApplicationHandlerStop


async def _typed_name(context: BotContext, who: Who, state: dict[str, Any], value: str) -> None:
    if not 1 <= len(value) <= 200:
        await context.reply(who.chat_id, text("fac_new_name_bad", who.language))
        return
    state.update(step="start", name=value)
    await _ask_start(context, who)


async def _typed_start(context: BotContext, who: Who, state: dict[str, Any], value: str) -> None:
    try:
        start = date.fromisoformat(value)
    except ValueError:
        start = None
    if start is None or start < context.now.date() - timedelta(days=1):
        await context.reply(
            who.chat_id,
            text("fac_new_bad_date", who.language, example=_example_date(context)),
        )
        return
    state.update(step="timezone", start=start.isoformat())
    await _ask_timezone(context, who, [])


async def _typed_timezone(context: BotContext, who: Who, state: dict[str, Any], value: str) -> None:
    try:
        zone = check_timezone(value)
    except InvalidTimezone as exc:
        hint = (
            " " + text("timezone_suggestions", who.language).strip()
            if exc.suggestions
            else text("timezone_none", who.language)
        )
        await context.reply(
            who.chat_id,
            text("fac_new_bad_timezone", who.language, tz=escape(value), hint=hint),
        )
        if exc.suggestions:
            await _ask_timezone(context, who, exc.suggestions)
        return
    state.update(step="time", timezone=zone)
    await _ask_time(context, who)


# --- buttons ------------------------------------------------------------------------------


def _state(context: BotContext) -> dict[str, Any] | None:
    return context.user_data.get(NEW) if context.user_data is not None else None  # type: ignore[no-any-return]


async def newcohort_button(context: BotContext, who: Who, parts: list[str], query: Any) -> None:
    """A /newcohort button: `fac:new:<action>[:<value>]`."""
    state = _state(context)
    action = parts[0]
    if action == "cancel":
        context.user_data.pop(NEW, None)  # type: ignore[union-attr]
        await context.reply(who.chat_id, text("fac_new_cancelled", who.language))
        return
    expected = BUTTON_STEPS.get(action)
    if state is None or state.get("step") != expected or len(parts) < 2:
        context.after_commit(None, lambda: query.answer(text("fac_expired", who.language)))
        return
    value = ":".join(parts[1:])
    remove_buttons(context, who.chat_id, query)
    if action == "prog":
        item = context.runtime.catalog.get(value)
        if item is None:
            return
        state.update(step="name", program=value)
        await context.reply(
            who.chat_id,
            text("fac_new_name", who.language, program=escape(item.program.title)),
            markup=buttons(_cancel_row(who)),
        )
    elif action == "start":
        state.update(step="timezone", start=value)
        await _ask_timezone(context, who, [])
    elif action == "tz":
        try:
            zone = check_timezone(value)
        except InvalidTimezone:
            return
        state.update(step="time", timezone=zone)
        await _ask_time(context, who)
    else:
        at = parse_hhmm(f"{value[:2]}:{value[2:]}")
        if at is None:
            return
        await _create_cohort(context, who, state, at)


# --- creating -----------------------------------------------------------------------------


def _resolve_start(token: str, timezone: str, now: datetime) -> date:
    today = now.astimezone(ZoneInfo(timezone)).date()
    if token == "today":
        return today
    if token == "tomorrow":
        return today + timedelta(days=1)
    if token == "monday":
        return today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return date.fromisoformat(token)


async def _create_cohort(context: BotContext, who: Who, state: dict[str, Any], at: time) -> None:
    item = context.runtime.catalog.get(state["program"])
    if item is None:
        return
    session = context.session
    version = await ensure_version(session=session, loaded=item)
    start = _resolve_start(state["start"], state["timezone"], context.now)
    cohort = await create_cohort(
        session=session,
        version=version,
        name=state["name"],
        start=start,
        timezone=state["timezone"],
        delivery_time=at,
        now=context.now,
    )
    await fac.add_facilitator(
        session=session,
        cohort_id=cohort.id,  # type: ignore[arg-type]
        telegram_user_id=who.user_id,
        added_by=who.user_id,
        now=context.now,
    )
    await audit(context, who, "cohort-created", cohort.id, item.program.program_id)
    context.user_data.pop(NEW, None)  # type: ignore[union-attr]
    link = f"https://t.me/{context.bot.username}?start={cohort.invite_code}"
    await context.reply(
        who.chat_id,
        text(
            "fac_new_done",
            who.language,
            name=escape(cohort.name),
            date=f"{start:%A} {start.day} {start:%B %Y}",
            time=at.strftime("%H:%M"),
            tz=escape(cohort.timezone),
            link=link,
            id=cohort.id,
        ),
    )
