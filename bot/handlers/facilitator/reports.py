"""/report and /chart: a cohort's engagement, as text or as a PNG chart."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, audit, requested_cohort
from bot.handlers.facilitator.display import document
from bot.services.charts import render_chart
from bot.services.reports import Report, build_report, pack_messages, report_html_parts
from bot.texts import escape, text


async def report(update: Update, context: BotContext) -> None:
    asked = await requested_cohort(update, context, "report")
    if asked is not None:
        await send_report(context, *asked)


async def chart(update: Update, context: BotContext) -> None:
    asked = await requested_cohort(update, context, "chart")
    if asked is not None:
        await send_chart(context, *asked)


async def cohort_report(context: BotContext, cohort_id: int) -> Report:
    return await build_report(
        session=context.session,
        cohort_id=cohort_id,
        now=context.now,
        clock=context.runtime.program_clock,
        at_risk_days=context.runtime.settings.at_risk_days,
    )


async def send_report(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await cohort_report(context, cohort_id)
    await audit(context, who, "report", cohort_id, "chat")
    for message in pack_messages(report_html_parts(result, escape)):
        await context.reply(who.chat_id, message, cohort_id=cohort_id)


async def send_chart(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await cohort_report(context, cohort_id)
    png = await asyncio.to_thread(render_chart, result)
    await audit(context, who, "chart", cohort_id, "chat")
    await context.reply(
        who.chat_id,
        text("fac_chart_caption", who.language, name=escape(result.cohort_name)),
        document=document(f"cohort{cohort_id}-chart.png", png, as_photo=True),
        cohort_id=cohort_id,
    )
