"""/export: every answer of a cohort as a CSV or JSON Lines file."""

from __future__ import annotations

import io

from telegram import Update

from bot.db.models import Cohort
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, audit, requested_cohort
from bot.handlers.facilitator.display import document
from bot.handlers.facilitator.parsing import second_argument
from bot.services.export import count_answers, write_export
from bot.texts import escape, text

DOCUMENT_LIMIT = 45 * 1024 * 1024
EXPORT_ROW_LIMIT = 200_000


async def export(update: Update, context: BotContext) -> None:
    """/export <cohort> [csv|jsonl]: every answer as a file."""
    asked = await requested_cohort(update, context, "export")
    if asked is not None:
        wanted = second_argument(context.args).lower().lstrip(".")
        await send_export(context, *asked, "jsonl" if wanted in ("jsonl", "json") else "csv")


async def send_export(context: BotContext, who: Who, cohort_id: int, fmt: str) -> None:
    session = context.session
    if await count_answers(session=session, cohort_id=cohort_id) > EXPORT_ROW_LIMIT:
        await context.reply(who.chat_id, text("fac_export_too_big", who.language, id=cohort_id))
        return
    count, content = await export_file(context, cohort_id, fmt)
    if len(content) > DOCUMENT_LIMIT:
        await context.reply(who.chat_id, text("fac_export_too_big", who.language, id=cohort_id))
        return
    cohort = await session.get(Cohort, cohort_id)
    await audit(context, who, "export", cohort_id, f"{fmt}, {count} answers")
    await context.reply(
        who.chat_id,
        text("fac_export_caption", who.language, name=escape(cohort.name), count=count),  # type: ignore[union-attr]
        document=document(f"cohort{cohort_id}-answers.{fmt}", content),
        cohort_id=cohort_id,
    )


async def export_file(
    context: BotContext, cohort_id: int, fmt: str, day: int | None = None
) -> tuple[int, bytes]:
    """The cohort's answers (of one day, or all) as a file: how many, and the UTF-8 bytes."""
    buffer = io.StringIO(newline="")
    count = await write_export(
        session=context.session,
        cohort_id=cohort_id,
        fmt=fmt,
        out=buffer,
        clock=context.runtime.program_clock,
        day=day,
    )
    return count, buffer.getvalue().encode("utf-8")
