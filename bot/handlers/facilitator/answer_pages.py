"""/answers: a day's answers grouped by question, a page at a time (many come as a file)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from telegram import Update

from bot.db.models import Response
from bot.handlers.context import BotContext
from bot.handlers.facilitator.access import Who, audit, requested_cohort
from bot.handlers.facilitator.display import PREFIX, buttons, document, shorten
from bot.handlers.facilitator.exports import export_file
from bot.handlers.facilitator.parsing import number, second_argument
from bot.services.cohorts import CohortView, cohort_day, get_cohort_view
from bot.services.export import ExportRow, iter_answers
from bot.services.reports import day_date
from bot.texts import escape, text

PAGE_SIZE = 10
FILE_THRESHOLD = 50  # more answers than this for one day come as a file
ANSWER_PREVIEW = 280


async def answers(update: Update, context: BotContext) -> None:
    """/answers <cohort> [day]: that day's answers grouped by question, a page at a time."""
    asked = await requested_cohort(update, context, "answers")
    if asked is not None:
        day = number(second_argument(context.args), max_digits=5)
        await send_answers(context, *asked, day, page=0, query=None)


async def send_answers(
    context: BotContext,
    who: Who,
    cohort_id: int,
    day: int | None,
    page: int,
    query: Any,
) -> None:
    """A page of one day's answers (today's without `day`); more than FILE_THRESHOLD come as a
    CSV file. A page button's `query` has its message edited in place."""
    view = await get_cohort_view(session=context.session, cohort_id=cohort_id)
    assert view is not None
    clock = context.runtime.program_clock
    days = view.program.length_days
    if day is None:
        day = min(max(cohort_day(cohort=view.cohort, clock=clock, now=context.now), 1), days)
    if not 1 <= day <= days:
        await context.reply(
            who.chat_id, text("fac_answers_bad_day", who.language, day=day, days=days)
        )
        return
    if await _count_day(context, cohort_id, day) > FILE_THRESHOLD:
        await _send_answers_file(context, who, cohort_id, escape(view.cohort.name), day)
        return
    rows = [
        r
        async for r in iter_answers(
            session=context.session, cohort_id=cohort_id, clock=clock, day=day
        )
    ]
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 0), pages - 1)
    when = day_date(cohort=view.cohort, clock=clock, day=day)
    body = _answers_text(who, view, day, when, rows, page, pages)
    markup = _answers_buttons(who.language, cohort_id, day, page, pages, days)
    await audit(context, who, "answers", cohort_id, f"day {day} page {page + 1}")
    if query is not None and query.message is not None:
        context.after_commit(
            who.chat_id,
            lambda: query.edit_message_text(body, parse_mode="HTML", reply_markup=markup),
        )
    else:
        await context.reply(who.chat_id, body, markup=markup, cohort_id=cohort_id)


async def _count_day(context: BotContext, cohort_id: int, day: int) -> int:
    result = await context.session.exec(
        select(func.count())
        .select_from(Response)
        .where(Response.cohort_id == cohort_id, Response.day == day)
    )
    return int(result.one())


async def _send_answers_file(
    context: BotContext, who: Who, cohort_id: int, name: str, day: int
) -> None:
    count, content = await export_file(context, cohort_id, "csv", day=day)
    await audit(context, who, "answers", cohort_id, f"day {day} file ({count} answers)")
    await context.reply(
        who.chat_id,
        text("fac_answers_file", who.language, name=name, day=day, count=count),
        document=document(f"cohort{cohort_id}-day{day}-answers.csv", content),
        cohort_id=cohort_id,
    )


def _answers_text(
    who: Who,
    view: CohortView,
    day: int,
    when: date,
    rows: list[ExportRow],
    page: int,
    pages: int,
) -> str:
    name = escape(view.cohort.name)
    if not rows:
        return text("fac_answers_none", who.language, name=name, day=day)
    header = text(
        "fac_answers_header",
        who.language,
        name=name,
        day=day,
        date=f"{when.day} {when:%b}",
        count=len(rows),
        page=text("fac_answers_page", who.language, page=page + 1, pages=pages)
        if pages > 1
        else "",
    )
    prompt_order = [p.id for p in view.program.day(day).prompts]
    return "\n".join([header, *_answers_page(rows, prompt_order, page)])


def _answers_page(rows: list[ExportRow], prompt_order: list[str], page: int) -> list[str]:
    """One page of answers as HTML lines, grouped by question in program order."""
    order = {pid: i for i, pid in enumerate(prompt_order)}
    ordered = sorted(rows, key=lambda r: (order.get(r.prompt_id, len(order)), r.prompt_id))
    chunk = ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines: list[str] = []
    current = None
    for row in chunk:
        if row.prompt_id != current:
            current = row.prompt_id
            heading = row.prompt or ("Other messages" if row.prompt_id == "unprompted" else "")
            lines.append(f"\n<b>{escape(shorten(heading or row.prompt_id, 120))}</b>")
        name = row.participant or f"participant {row.participant_id[:6]}"
        answer = row.answer if row.type in ("text", "scale", "choice") else f"{row.answer}"
        lines.append(f"• {escape(shorten(name, 40))}: {escape(shorten(answer, ANSWER_PREVIEW))}")
    return lines


def _answers_buttons(
    language: str | None, cohort_id: int, day: int, page: int, pages: int, days: int
) -> dict[str, Any]:
    """Previous/next page, then previous/next day: `fac:ans:<cohort>:<day>:<page>`."""
    base = f"{PREFIX}:ans:{cohort_id}"
    pages_row = []
    if page > 0:
        pages_row.append((text("fac_button_prev", language), f"{base}:{day}:{page - 1}"))
    if page + 1 < pages:
        pages_row.append((text("fac_button_next", language), f"{base}:{day}:{page + 1}"))
    days_row = []
    if day > 1:
        days_row.append((text("fac_button_prev_day", language, day=day - 1), f"{base}:{day - 1}:0"))
    if day < days:
        days_row.append((text("fac_button_next_day", language, day=day + 1), f"{base}:{day + 1}:0"))
    return buttons(pages_row, days_row)
