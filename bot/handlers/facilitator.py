"""Facilitator handlers: cohorts, reports, charts, answers, exports, announcements, the digest
setting, group links and invites.

Every command first checks who is asking. Anyone who is neither an administrator
(`FACILITATOR_IDS`) nor a facilitator of some cohort gets exactly the reply for an unknown
command. A facilitator asking about a cohort that isn't theirs gets the same reply as for a
cohort that doesn't exist. Every read of a cohort's data is written to the audit log.

Conversation state (/newcohort steps, broadcast previews) lives in `context.user_data`, in
memory: it survives only while the process runs; after a restart the buttons say "expired".
"""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from telegram import BotCommandScopeChat, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.db.models import Cohort, FacilitatorProfile, Participant, ParticipantStatus, Response
from bot.handlers.context import BotContext
from bot.services import facilitators as fac
from bot.services.catalog import ensure_version
from bot.services.charts import render_chart
from bot.services.cohorts import (
    InvalidTimezone,
    check_timezone,
    cohort_day,
    create_cohort,
    get_cohort_view,
    list_cohorts,
)
from bot.services.export import ExportRow, count_answers, iter_answers, write_export
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.rendering import telegram_length
from bot.services.reports import (
    build_report,
    day_date,
    day_stats,
    pack_messages,
    percent,
    report_html_parts,
    yesterday_day,
)
from bot.texts import escape, text

PREFIX = "fac"
PAGE_SIZE = 10
FILE_THRESHOLD = 50  # more answers than this for one day come as a file
ANSWER_PREVIEW = 280
DOCUMENT_LIMIT = 45 * 1024 * 1024
DELIVERY_TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "20:00")
PICKABLE = ("report", "chart", "answers", "export", "nudge", "invite")


@dataclass(frozen=True)
class Who:
    user_id: int
    chat_id: int
    language: str | None
    admin: bool


def _buttons(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows if row
        ]
    }


def _admin_ids(context: BotContext) -> frozenset[int]:
    return context.runtime.settings.facilitator_ids


async def _who(update: Update, context: BotContext) -> Who | None:
    """The facilitator behind this update, or None (nothing replied)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    if not await fac.is_facilitator(
        session=context.session, telegram_user_id=user.id, admin_ids=_admin_ids(context)
    ):
        return None
    await fac.touch_profile(
        session=context.session,
        telegram_user_id=user.id,
        chat_id=chat.id,
        display_name=user.full_name,
        now=context.now,
    )
    return Who(
        user.id,
        chat.id,
        user.language_code,
        fac.is_admin(telegram_user_id=user.id, admin_ids=_admin_ids(context)),
    )


async def _facilitator(update: Update, context: BotContext) -> Who | None:
    """Like `_who`, but anyone else gets the unknown-command reply."""
    who = await _who(update, context)
    if who is None:
        message = update.effective_message
        if message is not None and message.chat.type == "private":
            lang = update.effective_user.language_code if update.effective_user else None
            await context.reply(message.chat_id, text("unknown_command", lang))
    return who


async def _can_see(context: BotContext, who: Who, cohort_id: int) -> bool:
    return await fac.can_access(
        session=context.session,
        telegram_user_id=who.user_id,
        cohort_id=cohort_id,
        admin_ids=_admin_ids(context),
    )


async def _denied(context: BotContext, who: Who, command: str, raw: str) -> None:
    await fac.audit(
        session=context.session,
        actor=who.user_id,
        action="denied",
        cohort_id=None,
        detail=f"{command} {raw}"[:200],
        now=context.now,
    )
    await context.reply(who.chat_id, text("fac_not_found", who.language, cohort=escape(raw)))


async def _my_cohorts(context: BotContext, who: Who) -> list[Cohort]:
    ids = await fac.accessible_cohort_ids(
        session=context.session, telegram_user_id=who.user_id, admin_ids=_admin_ids(context)
    )
    query = select(Cohort).order_by(col(Cohort.id))
    if ids is not None:
        query = query.where(col(Cohort.id).in_(ids))
    return list((await context.session.exec(query)).all())


async def _cohort_arg(context: BotContext, who: Who, command: str, args: list[str]) -> int | None:
    """The cohort named in the command's first argument, if this facilitator may see it.

    Without an argument, the facilitator's cohorts come as buttons (and None is returned).
    """
    if not args:
        cohorts = await _my_cohorts(context, who)
        if not cohorts:
            await context.reply(who.chat_id, text("fac_no_cohorts", who.language))
            return None
        rows = [
            [(f"{c.id} · {c.name}"[:60], f"{PREFIX}:pick:{command}:{c.id}")] for c in cohorts[-20:]
        ]
        await context.reply(who.chat_id, text("fac_pick", who.language), markup=_buttons(*rows))
        return None
    raw = args[0].lstrip("#")
    cohort_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    if cohort_id is None or not await _can_see(context, who, cohort_id):
        await _denied(context, who, command, args[0])
        return None
    return cohort_id


async def _audit(context: BotContext, who: Who, action: str, cohort_id: int, detail: str) -> None:
    await fac.audit(
        session=context.session,
        actor=who.user_id,
        action=action,
        cohort_id=cohort_id,
        detail=detail,
        now=context.now,
    )


def _document(filename: str, content: bytes) -> dict[str, Any]:
    return {"filename": filename, "content_b64": base64.b64encode(content).decode()}


# --- /cohorts ---------------------------------------------------------------------------


def _day_text(day: int, length: int, start: date) -> str:
    if day < 1:
        return f"starts {start.day} {start:%b}"
    if day > length:
        return "finished"
    return f"day {day}/{length}"


async def cohorts(update: Update, context: BotContext) -> None:
    """/cohorts: one line per cohort: day, active/total, yesterday's response rate."""
    who = await _facilitator(update, context)
    if who is None:
        return
    ids = await fac.accessible_cohort_ids(
        session=context.session, telegram_user_id=who.user_id, admin_ids=_admin_ids(context)
    )
    clock = context.runtime.program_clock
    summaries = await list_cohorts(
        session=context.session, clock=clock, now=context.now, cohort_ids=ids
    )
    if not summaries:
        await context.reply(who.chat_id, text("fac_no_cohorts", who.language))
        return
    lines = [text("fac_cohorts_header", who.language)]
    for summary in summaries:
        yesterday = yesterday_day(program_day=summary.day, length_days=summary.length_days)
        rate = "–"
        if yesterday is not None:
            cohort = await context.session.get(Cohort, summary.id)
            stats = await day_stats(
                session=context.session,
                cohort=cohort,  # type: ignore[arg-type]
                clock=clock,
                day=yesterday,
            )
            rate = percent(stats.rate)
        lines.append(
            text(
                "fac_cohort_line",
                who.language,
                id=summary.id,
                name=escape(summary.name),
                day=_day_text(summary.day, summary.length_days, summary.start_date),
                active=summary.active,
                total=summary.participants,
                rate=rate,
            )
        )
    lines.append("")
    lines.append(text("fac_cohorts_footer", who.language, id=summaries[-1].id))
    for message in pack_messages(["\n".join(lines)]):
        await context.reply(who.chat_id, message)


# --- /report, /chart ----------------------------------------------------------------------


async def report(update: Update, context: BotContext) -> None:
    who = await _facilitator(update, context)
    if who is None:
        return
    cohort_id = await _cohort_arg(context, who, "report", context.args or [])
    if cohort_id is not None:
        await _send_report(context, who, cohort_id)


async def _build_report(context: BotContext, cohort_id: int) -> Any:
    return await build_report(
        session=context.session,
        cohort_id=cohort_id,
        now=context.now,
        clock=context.runtime.program_clock,
        at_risk_days=context.runtime.settings.at_risk_days,
    )


async def _send_report(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await _build_report(context, cohort_id)
    await _audit(context, who, "report", cohort_id, "chat")
    for message in pack_messages(report_html_parts(result, escape)):
        await context.reply(who.chat_id, message, cohort_id=cohort_id)


async def chart(update: Update, context: BotContext) -> None:
    who = await _facilitator(update, context)
    if who is None:
        return
    cohort_id = await _cohort_arg(context, who, "chart", context.args or [])
    if cohort_id is not None:
        await _send_chart(context, who, cohort_id)


async def _send_chart(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await _build_report(context, cohort_id)
    png = await asyncio.to_thread(render_chart, result)
    await _audit(context, who, "chart", cohort_id, "chat")
    await context.reply(
        who.chat_id,
        text("fac_chart_caption", who.language, name=escape(result.cohort_name)),
        document=_document(f"cohort{cohort_id}-chart.png", png),
        cohort_id=cohort_id,
    )


# --- /answers -----------------------------------------------------------------------------


async def answers(update: Update, context: BotContext) -> None:
    """/answers <cohort> [day]: that day's answers grouped by question, a page at a time."""
    who = await _facilitator(update, context)
    if who is None:
        return
    args = context.args or []
    cohort_id = await _cohort_arg(context, who, "answers", args)
    if cohort_id is None:
        return
    day = int(args[1]) if len(args) > 1 and args[1].isdigit() and len(args[1]) < 6 else None
    await _send_answers(context, who, cohort_id, day, page=0, query=None)


def _short(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


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
            lines.append(f"\n<b>{escape(_short(heading or row.prompt_id, 120))}</b>")
        name = row.participant or f"participant {row.participant_id[:6]}"
        answer = row.answer if row.type in ("text", "scale", "choice") else f"{row.answer}"
        lines.append(f"• {escape(_short(name, 40))}: {escape(_short(answer, ANSWER_PREVIEW))}")
    return lines


async def _send_answers(
    context: BotContext,
    who: Who,
    cohort_id: int,
    day: int | None,
    page: int,
    query: Any,
) -> None:
    view = await get_cohort_view(session=context.session, cohort_id=cohort_id)
    assert view is not None
    program = view.program
    clock = context.runtime.program_clock
    if day is None:
        day = min(
            max(cohort_day(cohort=view.cohort, clock=clock, now=context.now), 1),
            program.length_days,
        )
    if not 1 <= day <= program.length_days:
        await context.reply(
            who.chat_id,
            text("fac_answers_bad_day", who.language, day=day, days=program.length_days),
        )
        return
    name = escape(view.cohort.name)
    session = context.session
    total = await _count_day(context, cohort_id, day)
    if total > FILE_THRESHOLD:
        buffer = io.StringIO(newline="")
        count = await write_export(
            session=session, cohort_id=cohort_id, fmt="csv", out=buffer, clock=clock, day=day
        )
        await _audit(context, who, "answers", cohort_id, f"day {day} file ({count} answers)")
        await context.reply(
            who.chat_id,
            text("fac_answers_file", who.language, name=name, day=day, count=count),
            document=_document(
                f"cohort{cohort_id}-day{day}-answers.csv", buffer.getvalue().encode("utf-8")
            ),
            cohort_id=cohort_id,
        )
        return
    rows = [
        r async for r in iter_answers(session=session, cohort_id=cohort_id, clock=clock, day=day)
    ]
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 0), pages - 1)
    when = day_date(cohort=view.cohort, clock=clock, day=day)
    if rows:
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
        prompt_order = [p.id for p in program.day(day).prompts]
        body = "\n".join([header, *_answers_page(rows, prompt_order, page)])
    else:
        body = text("fac_answers_none", who.language, name=name, day=day)
    base = f"{PREFIX}:ans:{cohort_id}:{day}"
    markup = _buttons(
        [
            *([(text("fac_button_prev", who.language), f"{base}:{page - 1}")] if page > 0 else []),
            *(
                [(text("fac_button_next", who.language), f"{base}:{page + 1}")]
                if page + 1 < pages
                else []
            ),
        ],
        [
            *(
                [
                    (
                        text("fac_button_prev_day", who.language, day=day - 1),
                        f"{PREFIX}:ans:{cohort_id}:{day - 1}:0",
                    )
                ]
                if day > 1
                else []
            ),
            *(
                [
                    (
                        text("fac_button_next_day", who.language, day=day + 1),
                        f"{PREFIX}:ans:{cohort_id}:{day + 1}:0",
                    )
                ]
                if day < program.length_days
                else []
            ),
        ],
    )
    await _audit(context, who, "answers", cohort_id, f"day {day} page {page + 1}")
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


# --- /export ------------------------------------------------------------------------------


async def export(update: Update, context: BotContext) -> None:
    """/export <cohort> [csv|jsonl]: every answer as a file."""
    who = await _facilitator(update, context)
    if who is None:
        return
    args = context.args or []
    cohort_id = await _cohort_arg(context, who, "export", args)
    if cohort_id is None:
        return
    fmt = "jsonl" if len(args) > 1 and args[1].lower().lstrip(".") in ("jsonl", "json") else "csv"
    await _send_export(context, who, cohort_id, fmt)


async def _send_export(context: BotContext, who: Who, cohort_id: int, fmt: str) -> None:
    session = context.session
    if await count_answers(session=session, cohort_id=cohort_id) > 200_000:
        await context.reply(who.chat_id, text("fac_export_too_big", who.language, id=cohort_id))
        return
    buffer = io.StringIO(newline="")
    count = await write_export(
        session=session,
        cohort_id=cohort_id,
        fmt=fmt,
        out=buffer,
        clock=context.runtime.program_clock,
    )
    content = buffer.getvalue().encode("utf-8")
    if len(content) > DOCUMENT_LIMIT:
        await context.reply(who.chat_id, text("fac_export_too_big", who.language, id=cohort_id))
        return
    cohort = await session.get(Cohort, cohort_id)
    await _audit(context, who, "export", cohort_id, f"{fmt}, {count} answers")
    await context.reply(
        who.chat_id,
        text("fac_export_caption", who.language, name=escape(cohort.name), count=count),  # type: ignore[union-attr]
        document=_document(f"cohort{cohort_id}-answers.{fmt}", content),
        cohort_id=cohort_id,
    )


# --- /broadcast ---------------------------------------------------------------------------


def _pending(context: BotContext, key: str) -> dict[str, Any]:
    return context.user_data.setdefault(key, {})  # type: ignore[union-attr, no-any-return]


async def broadcast(update: Update, context: BotContext) -> None:
    """/broadcast <cohort> <text>: preview, then a Send button queues it for everyone active."""
    who = await _facilitator(update, context)
    if who is None:
        return
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=2)
    args = parts[1:2]
    if not args:
        await context.reply(who.chat_id, text("fac_broadcast_usage", who.language, id=1))
        return
    cohort_id = await _cohort_arg(context, who, "broadcast", args)
    if cohort_id is None:
        return
    body = parts[2].strip() if len(parts) > 2 else ""
    if not body or telegram_length(body) > 3500:
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
    _pending(context, "fac_broadcasts")[token] = {"cohort": cohort_id, "text": body}
    await context.reply(
        who.chat_id,
        text(
            "fac_broadcast_preview",
            who.language,
            count=len(recipients),
            name=escape(cohort.name),  # type: ignore[union-attr]
            message=escape(body),
        ),
        markup=_buttons(
            [
                (text("fac_button_send", who.language), f"{PREFIX}:bc:{token}:y"),
                (text("fac_button_cancel", who.language), f"{PREFIX}:bc:{token}:n"),
            ]
        ),
    )


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


async def _confirm_broadcast(context: BotContext, who: Who, token: str, send: bool) -> None:
    pending = _pending(context, "fac_broadcasts").pop(token, None)
    if pending is None:
        await context.reply(who.chat_id, text("fac_expired", who.language))
        return
    if not send:
        await context.reply(who.chat_id, text("fac_cancelled", who.language))
        return
    cohort_id = pending["cohort"]
    if not await _can_see(context, who, cohort_id):
        await context.reply(who.chat_id, text("fac_expired", who.language))
        return
    recipients = await _active(context, cohort_id)
    queued = await enqueue(
        session=context.session,
        messages=[
            OutgoingMessage(
                chat_id=p.chat_id,
                participant_id=p.id,
                cohort_id=cohort_id,
                day=0,
                item=f"broadcast:{token}",
                kind="broadcast",
                text=text("fac_broadcast_message", p.language, message=escape(pending["text"])),
                due_at=context.now,
            )
            for p in recipients
        ],
    )
    await _audit(context, who, "broadcast", cohort_id, f"{queued} recipients")
    await context.reply(who.chat_id, text("fac_broadcast_sent", who.language, count=queued))
    context.runtime.sender.wake()


# --- /nudge -------------------------------------------------------------------------------


def _first_name(participant: Participant) -> str:
    if participant.data_deleted_at is not None or not participant.display_name:
        return ""
    return " " + escape(participant.display_name.split()[0])


async def nudge(update: Update, context: BotContext) -> None:
    """/nudge <cohort>: a kind check-in to the people who are slipping, after a confirmation."""
    who = await _facilitator(update, context)
    if who is None:
        return
    cohort_id = await _cohort_arg(context, who, "nudge", context.args or [])
    if cohort_id is not None:
        await _preview_nudge(context, who, cohort_id)


async def _preview_nudge(context: BotContext, who: Who, cohort_id: int) -> None:
    result = await _build_report(context, cohort_id)
    await _audit(context, who, "nudge-preview", cohort_id, f"{len(result.at_risk)} at risk")
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
        markup=_buttons(
            [
                (text("fac_button_send", who.language), f"{PREFIX}:nudge:{cohort_id}:y"),
                (text("fac_button_cancel", who.language), f"{PREFIX}:nudge:{cohort_id}:n"),
            ]
        ),
    )


def _names(names: list[str], shown: int = 40) -> str:
    listed = ", ".join(_short(n, 40) for n in names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown} more"


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


async def _confirm_nudge(context: BotContext, who: Who, cohort_id: int, send: bool) -> None:
    if not send:
        await context.reply(who.chat_id, text("fac_cancelled", who.language))
        return
    result = await _build_report(context, cohort_id)
    people = [
        p
        for p in [await context.session.get(Participant, r.participant_id) for r in result.at_risk]
        if p is not None
    ]
    today = context.now.date().isoformat()
    queued = await enqueue(
        session=context.session,
        messages=[
            OutgoingMessage(
                chat_id=p.chat_id,
                participant_id=p.id,
                cohort_id=cohort_id,
                day=0,
                item=f"nudge:{today}",
                kind="nudge",
                text=text("fac_nudge_message", p.language, name=_first_name(p)),
                due_at=context.now,
            )
            for p in people
        ],
    )
    await _audit(context, who, "nudge", cohort_id, f"{queued} recipients")
    skipped = len(people) - queued
    key = "fac_nudge_sent_some" if skipped else "fac_nudge_sent"
    await context.reply(who.chat_id, text(key, who.language, count=queued, skipped=skipped))
    context.runtime.sender.wake()


# --- /digest ------------------------------------------------------------------------------


def _parse_hhmm(value: str) -> time | None:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return time(int(hours), int(minutes))


async def digest(update: Update, context: BotContext) -> None:
    """/digest HH:MM [time zone] | off: the daily summary of your cohorts."""
    who = await _facilitator(update, context)
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
    at = _parse_hhmm(args[0]) if args else None
    if at is None:
        current = (
            f"{profile.digest_time:%H:%M} ({profile.digest_timezone})"
            if profile.digest_time
            else "off"
        )
        await context.reply(
            who.chat_id, text("fac_digest_usage", who.language, current=escape(current))
        )
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
        mine = await _my_cohorts(context, who)
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


# --- /linkgroup ---------------------------------------------------------------------------


async def linkgroup_private(update: Update, context: BotContext) -> None:
    """/linkgroup in a private chat: explain that it is sent in the group."""
    who = await _facilitator(update, context)
    if who is None:
        return
    args = context.args or []
    cohort_id = await _cohort_arg(context, who, "linkgroup", args) if args else None
    if args and cohort_id is None:
        return
    await context.reply(
        who.chat_id,
        text("fac_linkgroup_private", who.language, id=cohort_id or escape("<cohort number>")),
    )


async def linkgroup_group(update: Update, context: BotContext) -> None:
    """/linkgroup <cohort>, sent in a group: post each day's theme there.

    Anyone who may not see the cohort gets no reply at all (as for any unknown command in a
    group)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.chat.type not in ("group", "supergroup"):
        return
    args = context.args or []
    raw = args[0].lstrip("#") if args else ""
    if not raw.isdigit() or len(raw) > 11:
        return
    cohort_id = int(raw)
    admin_ids = _admin_ids(context)
    if not await fac.can_access(
        session=context.session, telegram_user_id=user.id, cohort_id=cohort_id, admin_ids=admin_ids
    ):
        if await fac.is_facilitator(
            session=context.session, telegram_user_id=user.id, admin_ids=admin_ids
        ):
            await fac.audit(
                session=context.session,
                actor=user.id,
                action="denied",
                cohort_id=None,
                detail=f"linkgroup {raw}",
                now=context.now,
            )
        return
    cohort = await context.session.get(Cohort, cohort_id)
    assert cohort is not None
    cohort.group_chat_id = message.chat_id
    context.session.add(cohort)
    await fac.audit(
        session=context.session,
        actor=user.id,
        action="linkgroup",
        cohort_id=cohort_id,
        detail=f"chat {message.chat_id}",
        now=context.now,
    )
    await context.reply(
        message.chat_id,
        text("fac_linkgroup_done", user.language_code, name=escape(cohort.name)),
        kind="group",
        cohort_id=cohort_id,
    )


# --- facilitator invites ------------------------------------------------------------------


async def invite_facilitator(update: Update, context: BotContext) -> None:
    """/invitefacilitator <cohort> (administrators): a single-use facilitator invite link."""
    who = await _facilitator(update, context)
    if who is None:
        return
    if not who.admin:
        await context.reply(who.chat_id, text("unknown_command", who.language))
        return
    cohort_id = await _cohort_arg(context, who, "invite", context.args or [])
    if cohort_id is not None:
        await _send_invite(context, who, cohort_id)


async def _send_invite(context: BotContext, who: Who, cohort_id: int) -> None:
    cohort = await context.session.get(Cohort, cohort_id)
    assert cohort is not None
    invite = await fac.create_invite(
        session=context.session, cohort_id=cohort_id, created_by=who.user_id, now=context.now
    )
    await _audit(context, who, "facilitator-invite", cohort_id, "chat")
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
    await fac.touch_profile(
        session=context.session,
        telegram_user_id=user.id,
        chat_id=message.chat_id,
        display_name=user.full_name,
        now=context.now,
    )
    name = escape(outcome.cohort.name)
    if outcome.result == fac.RedeemResult.ADDED:
        await fac.audit(
            session=context.session,
            actor=user.id,
            action="facilitator-added",
            cohort_id=outcome.cohort.id,
            detail="invite link",
            now=context.now,
        )
        await context.reply(message.chat_id, text("fac_invite_added", lang, name=name))
        _publish_menu(context, message.chat_id)
    else:
        await context.reply(message.chat_id, text("fac_invite_already", lang, name=name))


def _publish_menu(context: BotContext, chat_id: int) -> None:
    from bot.handlers.registry import build_command_list

    commands = build_command_list("facilitator")
    context.after_commit(
        None,
        lambda: context.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id)),
    )


# --- /newcohort ---------------------------------------------------------------------------

NEW = "fac_newcohort"


def _state(context: BotContext) -> dict[str, Any] | None:
    return context.user_data.get(NEW) if context.user_data is not None else None  # type: ignore[no-any-return]


async def newcohort(update: Update, context: BotContext) -> None:
    """/newcohort: program, name, start date, time zone, delivery time; then the invite link."""
    who = await _facilitator(update, context)
    if who is None:
        return
    catalog = context.runtime.catalog
    context.user_data[NEW] = {"step": "program"}  # type: ignore[index]
    rows = [
        [(item.program.title[:60], f"{PREFIX}:new:prog:{pid}")]
        for pid, item in sorted(catalog.items())
    ]
    rows.append([(text("fac_button_cancel", who.language), f"{PREFIX}:new:cancel")])
    await context.reply(who.chat_id, text("fac_new_program", who.language), markup=_buttons(*rows))


def _cancel_row(who: Who) -> list[tuple[str, str]]:
    return [(text("fac_button_cancel", who.language), f"{PREFIX}:new:cancel")]


async def _ask_start(context: BotContext, who: Who) -> None:
    example = (context.now.date() + timedelta(days=7)).isoformat()
    await context.reply(
        who.chat_id,
        text("fac_new_start", who.language, example=example),
        markup=_buttons(
            [
                (text("fac_button_today", who.language), f"{PREFIX}:new:start:today"),
                (text("fac_button_tomorrow", who.language), f"{PREFIX}:new:start:tomorrow"),
                (text("fac_button_monday", who.language), f"{PREFIX}:new:start:monday"),
            ],
            _cancel_row(who),
        ),
    )


async def _ask_timezone(context: BotContext, who: Who, suggestions: list[str]) -> None:
    mine = await _my_cohorts(context, who)
    zones = [*suggestions[:3]] or [*({c.timezone for c in mine[-2:]} - {"UTC"}), "UTC"]
    await context.reply(
        who.chat_id,
        text("fac_new_timezone", who.language),
        markup=_buttons([(z, f"{PREFIX}:new:tz:{z}") for z in zones[:3]], _cancel_row(who)),
    )


async def _ask_time(context: BotContext, who: Who) -> None:
    buttons = [(t, f"{PREFIX}:new:time:{t.replace(':', '')}") for t in DELIVERY_TIMES]
    await context.reply(
        who.chat_id,
        text("fac_new_time", who.language),
        markup=_buttons(buttons[:3], buttons[3:], _cancel_row(who)),
    )


async def newcohort_text(update: Update, context: BotContext) -> None:
    """Typed answers during /newcohort (name, date, time zone). Runs before every other text
    handler; other messages pass through untouched."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None or message.text is None:
        return
    data = context.application.user_data.get(user.id)
    state = data.get(NEW) if data else None
    if not state or state.get("step") not in ("name", "start", "timezone"):
        return
    who = await _who(update, context)
    if who is None:
        data.pop(NEW, None)  # type: ignore[union-attr]
        return
    value = message.text.strip()
    step = state["step"]
    if step == "name":
        if not 1 <= len(value) <= 200:
            await context.reply(who.chat_id, text("fac_new_name_bad", who.language))
        else:
            state.update(step="start", name=value)
            await _ask_start(context, who)
    elif step == "start":
        try:
            start = date.fromisoformat(value)
        except ValueError:
            start = None
        if start is None or start < context.now.date() - timedelta(days=1):
            example = (context.now.date() + timedelta(days=7)).isoformat()
            await context.reply(
                who.chat_id, text("fac_new_bad_date", who.language, example=example)
            )
        else:
            state.update(step="timezone", start=start.isoformat())
            await _ask_timezone(context, who, [])
    else:
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
        else:
            state.update(step="time", timezone=zone)
            await _ask_time(context, who)
    raise ApplicationHandlerStop


def _resolve_start(token: str, timezone: str, now: datetime) -> date:
    today = now.astimezone(ZoneInfo(timezone)).date()
    if token == "today":
        return today
    if token == "tomorrow":
        return today + timedelta(days=1)
    if token == "monday":
        return today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return date.fromisoformat(token)


async def _newcohort_button(context: BotContext, who: Who, parts: list[str], query: Any) -> None:
    state = _state(context)
    action = parts[0]
    if action == "cancel":
        context.user_data.pop(NEW, None)  # type: ignore[union-attr]
        await context.reply(who.chat_id, text("fac_new_cancelled", who.language))
        return
    expected = {"prog": "program", "start": "start", "tz": "timezone", "time": "time"}.get(action)
    if state is None or state.get("step") != expected or len(parts) < 2:
        context.after_commit(None, lambda: query.answer(text("fac_expired", who.language)))
        return
    value = ":".join(parts[1:])
    context.after_commit(who.chat_id, lambda: query.edit_message_reply_markup(reply_markup=None))
    if action == "prog":
        item = context.runtime.catalog.get(value)
        if item is None:
            return
        state.update(step="name", program=value)
        await context.reply(
            who.chat_id,
            text("fac_new_name", who.language, program=escape(item.program.title)),
            markup=_buttons(_cancel_row(who)),
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
        at = _parse_hhmm(f"{value[:2]}:{value[2:]}")
        if at is None:
            return
        await _create_cohort(context, who, state, at)


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
    await _audit(context, who, "cohort-created", cohort.id, item.program.program_id)  # type: ignore[arg-type]
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


# --- buttons ------------------------------------------------------------------------------


async def button(update: Update, context: BotContext) -> None:
    """Every facilitator button: `fac:<action>:...`. Access is checked again on each press."""
    query = update.callback_query
    assert query is not None and query.data is not None
    context.after_commit(None, lambda: query.answer())
    who = await _who(update, context) if query.message is not None else None
    if who is None:
        return
    _, action, *parts = query.data.split(":")
    if action == "new":
        await _newcohort_button(context, who, parts, query)
        return
    if action == "bc" and len(parts) == 2:
        context.after_commit(
            who.chat_id, lambda: query.edit_message_reply_markup(reply_markup=None)
        )
        await _confirm_broadcast(context, who, parts[0], parts[1] == "y")
        return
    numbers = [int(p) for p in parts if p.isdigit() and len(p) < 12]
    if action == "pick" and len(parts) == 2 and parts[0] in PICKABLE and numbers:
        cohort_id = numbers[0]
        if not await _can_see(context, who, cohort_id):
            await _denied(context, who, parts[0], parts[1])
            return
        await _picked(context, who, parts[0], cohort_id)
    elif action == "ans" and len(numbers) == 3 == len(parts):
        cohort_id, day, page = numbers
        if not await _can_see(context, who, cohort_id):
            await _denied(context, who, "answers", parts[0])
            return
        await _send_answers(context, who, cohort_id, day, page, query)
    elif action == "nudge" and len(parts) == 2 and numbers:
        cohort_id = numbers[0]
        context.after_commit(
            who.chat_id, lambda: query.edit_message_reply_markup(reply_markup=None)
        )
        if not await _can_see(context, who, cohort_id):
            await _denied(context, who, "nudge", parts[0])
            return
        await _confirm_nudge(context, who, cohort_id, parts[1] == "y")


async def _picked(context: BotContext, who: Who, command: str, cohort_id: int) -> None:
    if command == "report":
        await _send_report(context, who, cohort_id)
    elif command == "chart":
        await _send_chart(context, who, cohort_id)
    elif command == "answers":
        await _send_answers(context, who, cohort_id, None, 0, None)
    elif command == "export":
        await _send_export(context, who, cohort_id, "csv")
    elif command == "nudge":
        await _preview_nudge(context, who, cohort_id)
    elif command == "invite" and who.admin:
        await _send_invite(context, who, cohort_id)


# --- registration (used by bot.handlers.registry) ----------------------------------------

PRIVATE = filters.ChatType.PRIVATE

FIRST_HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # Before the participant /start: facilitator invite links.
    CommandHandler("start", start_invite, filters=PRIVATE & filters.Regex(r"^/start fac-\S+$")),
]
HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("linkgroup", linkgroup_group, filters=filters.ChatType.GROUPS),
    CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
]
PRE_HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # Group -1: typed /newcohort answers; raises ApplicationHandlerStop when it used the text.
    MessageHandler(
        PRIVATE & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, newcohort_text
    ),
]
