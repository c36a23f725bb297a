"""/cohorts: your cohorts at a glance."""

from __future__ import annotations

from datetime import date

from telegram import Update

from bot.db.models import Cohort
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, my_cohort_ids, require_facilitator
from bot.services.alerts import unreached_alerts
from bot.services.cohorts import CohortSummary, list_cohorts
from bot.services.reports import day_stats, pack_messages, percent, yesterday_day
from bot.texts import escape, text


async def cohorts(update: Update, context: BotContext) -> None:
    """/cohorts: one line per cohort: day, active/total, yesterday's response rate."""
    who = await require_facilitator(update, context)
    if who is None:
        return
    summaries = await list_cohorts(
        session=context.session,
        clock=context.runtime.program_clock,
        now=context.now,
        cohort_ids=await my_cohort_ids(context, who),
    )
    if not summaries:
        await context.reply(who.chat_id, text("fac_no_cohorts", who.language))
        return
    lines = [text("fac_cohorts_header", who.language)]
    for summary in summaries:
        lines.append(await _cohort_line(context, who, summary))
    lines.append("")
    lines.append(text("fac_cohorts_footer", who.language, id=summaries[-1].id))
    if who.admin:
        lines.extend(await _unreached_alert_lines(context, who))
    for message in pack_messages(["\n".join(lines)]):
        await context.reply(who.chat_id, message)


async def _unreached_alert_lines(context: BotContext, who: Who) -> list[str]:
    """Administrators see alerts that reached nobody: safety must never fail quietly."""
    unreached = await unreached_alerts(session=context.session)
    if not unreached:
        return []
    lines = ["", text("fac_alerts_unreached", who.language, count=len(unreached))]
    for alert in unreached[:5]:
        lines.append(
            text(
                "fac_alert_unreached_line",
                who.language,
                id=alert.alert_id,
                cohort=alert.cohort_id,
                reason=escape(alert.reason),
            )
        )
    return lines


async def _cohort_line(context: BotContext, who: Who, summary: CohortSummary) -> str:
    return text(
        "fac_cohort_line",
        who.language,
        id=summary.id,
        name=escape(summary.name),
        day=_day_text(summary.day, summary.length_days, summary.start_date),
        active=summary.active,
        total=summary.participants,
        rate=await _yesterdays_rate(context, summary),
    )


async def _yesterdays_rate(context: BotContext, summary: CohortSummary) -> str:
    yesterday = yesterday_day(program_day=summary.day, length_days=summary.length_days)
    if yesterday is None:
        return "–"
    cohort = await context.session.get(Cohort, summary.id)
    stats = await day_stats(
        session=context.session,
        cohort=cohort,  # type: ignore[arg-type]
        clock=context.runtime.program_clock,
        day=yesterday,
    )
    return percent(stats.rate)


def _day_text(day: int, length: int, start: date) -> str:
    if day < 1:
        return f"starts {start.day} {start:%b}"
    if day > length:
        return "finished"
    return f"day {day}/{length}"
