"""Safety: the caring reply and the facilitator alert for crisis language, "I'm on it", /alerts.

The participant handlers call `on_text` and `on_scale` for every message; `install` loads the
configuration and schedules the escalation job. The domain logic lives in bot/services/alerts/.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application, CallbackQueryHandler

from bot import texts
from bot.config import ConfigError
from bot.db.models import AuditLog
from bot.db.session import unit_of_work
from bot.handlers.context import BotContext
from bot.runtime import Runtime
from bot.services import alerts
from bot.services.alerts import AckResult, SafetyChecker
from bot.services.alerts.checkin_answers import answer_checkin
from bot.services.alerts.checkins import (
    CHECKIN_CALLBACK,
    CHECKIN_PATTERN,
    Answer,
    CheckInResult,
    unanswered_checkins,
)
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.participants import Enrollment
from bot.services.safety import SafetyConfigError
from bot.services.safety_detector import SafetyDetector
from bot.texts import escape, text

log = logging.getLogger(__name__)

ESCALATION_JOB = "alert-escalation"
RECENT_DAYS = 7
LIST_OPEN = 10
LIST_RECENT = 5
CHECKIN_UNANSWERED_AFTER = 2 * 3600.0
"""A check-in still unanswered after this long (scaled on the preview clock) shows in /alerts."""


def install(application: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime) -> None:
    """Load the safety configuration (a broken file stops the bot with one line) and schedule
    the escalation job. The participant handlers call `on_text` and `on_scale` directly, so no
    message can skip the check."""
    settings = runtime.settings
    try:
        checker = SafetyChecker.load(
            safety_file=settings.safety_file, curricula_dir=settings.curricula_dir
        )
    except SafetyConfigError as exc:
        raise ConfigError(f"SAFETY_FILE: {exc}") from None
    runtime.extras["safety_checker"] = checker
    runtime.extras["safety_detector"] = SafetyDetector.load(checker)
    runtime.inbox.on_set_aside = functools.partial(recheck_set_aside, runtime)
    assert application.job_queue is not None
    interval = max(1.0, min(60.0, runtime.program_clock.scale(60.0)))
    application.job_queue.run_repeating(
        runtime.supervisor.job(ESCALATION_JOB, escalation_job),
        interval=interval,
        first=interval,
        name=ESCALATION_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


def _checker(context: BotContext) -> SafetyChecker:
    return context.runtime.extras["safety_checker"]  # type: ignore[no-any-return]


async def on_text(
    *, context: BotContext, enrollment: Enrollment | None, text: str, chat_id: int
) -> None:
    """Every text a participant sends: a match gets the caring reply now, and an alert."""
    runtime = context.runtime
    outcome = await alerts.check_text(
        session=context.session,
        checker=_checker(context),
        enrollment=enrollment,
        telegram_user_id=chat_id if chat_id > 0 else None,
        message=text,
        language=None,
        now=context.now,
        admin_ids=runtime.settings.facilitator_ids,
        detector=context.runtime.extras["safety_detector"],
    )
    if outcome is None:
        return
    if outcome.ask_if_safe:
        assert outcome.checkin_id is not None
        markup = checkin_markup(outcome.checkin_id)
        question = texts.text("checkin_question")  # `text` is the message here
        await context.reply(chat_id, question, kind="safety", markup=markup)
    else:
        await context.reply(chat_id, escape(outcome.reply), kind="safety")
    runtime.sender.wake()


async def _unanswered_checkin_lines(context: BotContext, cohort_ids: set[int] | None) -> str:
    """People asked whether they are safe who have not answered: low priority, never silence."""
    quiet = timedelta(seconds=context.runtime.program_clock.scale(CHECKIN_UNANSWERED_AFTER))
    waiting = await unanswered_checkins(
        session=context.session, cohort_ids=cohort_ids, asked_before=context.now - quiet
    )
    if not waiting:
        return ""
    lines = [text("alerts_checkins_header")]
    for item in waiting[:LIST_OPEN]:
        lines.append(
            text(
                "alerts_checkin_line",
                name=alerts.participant_label(item.participant),
                cohort=item.cohort_id,
                asked=item.asked_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
        )
    return "\n\n" + "\n".join(lines)


async def recheck_set_aside(runtime: Runtime, update_id: int, payload: dict[str, Any]) -> None:
    """The safety check of a message whose update was set aside (its handler kept failing),
    in a transaction of its own: the caring reply or the question, and the alert."""
    message = payload.get("message") or payload.get("edited_message") or {}
    words = message.get("text") or message.get("caption")
    chat = message.get("chat") or {}
    if not words or chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return
    async with unit_of_work(runtime.sessions) as session:
        outcome = await alerts.check_text(
            session=session,
            checker=runtime.extras["safety_checker"],
            enrollment=None,
            telegram_user_id=chat["id"],
            message=words,
            language=(message.get("from") or {}).get("language_code"),
            now=runtime.now(),
            admin_ids=runtime.settings.facilitator_ids,
            detector=runtime.extras["safety_detector"],
        )
        if outcome is None:
            return
        markup = checkin_markup(outcome.checkin_id) if outcome.checkin_id else None
        reply = text("checkin_question") if outcome.ask_if_safe else escape(outcome.reply)
        await enqueue(
            session=session,
            messages=[
                OutgoingMessage(
                    chat_id=chat["id"],
                    text=reply,
                    kind="safety",
                    item="safety-net",
                    scope=f"u{update_id}",
                    due_at=runtime.now(),
                    reply_markup=markup,
                )
            ],
        )
    runtime.sender.wake()


def checkin_markup(checkin_id: int) -> dict[str, Any]:
    rows = [
        [{"text": text(f"checkin_button_{a.value}"), "callback_data": _checkin_data(checkin_id, a)}]
        for a in Answer
    ]
    return {"inline_keyboard": rows}


def _checkin_data(checkin_id: int, answer: Answer) -> str:
    return CHECKIN_CALLBACK.format(id=checkin_id, answer=answer.value)


async def checkin_button(update: Update, context: BotContext) -> None:
    """An answer to "Are you safe right now?"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, checkin_id, answer = query.data.split(":")
    user = query.from_user
    outcome = await answer_checkin(
        session=context.session,
        checkin_id=int(checkin_id),
        telegram_user_id=user.id,
        answer=Answer(answer),
        now=context.now,
        admin_ids=context.runtime.settings.facilitator_ids,
    )
    chat_id = user.id
    if outcome.result == CheckInResult.NOT_FOUND:
        context.after_commit(None, lambda: query.answer(text("checkin_gone")))
        return
    context.after_commit(None, lambda: query.answer())
    context.after_commit(chat_id, lambda: query.edit_message_reply_markup(reply_markup=None))
    if outcome.result == CheckInResult.ALREADY:
        await context.reply(chat_id, text("checkin_already", user.language_code))
    elif outcome.result == CheckInResult.SAFE:
        await context.reply(chat_id, text("checkin_safe", user.language_code))
    else:
        assert outcome.checkin is not None and outcome.cohort is not None
        reply = _checker(context).reply(
            alerts.reply_kind(outcome.checkin.category),
            language=user.language_code,
            program_id=None,
            resources=outcome.cohort.crisis_resources,
        )
        await context.reply(chat_id, escape(reply), kind="safety")
    context.runtime.sender.wake()


async def on_scale(*, context: BotContext, enrollment: Enrollment) -> None:
    """After a scale or choice answer: low answers several days running raise an alert."""
    runtime = context.runtime
    outcome = await alerts.check_scale(
        session=context.session,
        checker=_checker(context),
        enrollment=enrollment,
        now=context.now,
        admin_ids=runtime.settings.facilitator_ids,
    )
    if outcome is None:
        return
    await context.reply(enrollment.participant.chat_id, escape(outcome.reply), kind="safety")
    runtime.sender.wake()


async def escalation_job(context: BotContext) -> None:
    """Repeat overdue alerts to the administrators; fix alert messages that were in flight
    when someone took the alert on."""
    runtime = context.runtime
    async with unit_of_work(runtime.sessions) as session:
        escalated = await alerts.escalate_due(
            session=session,
            clock=runtime.program_clock,
            now=runtime.now(),
            escalation_minutes=runtime.settings.alert_escalation_minutes,
            admin_ids=runtime.settings.facilitator_ids,
        )
        edits = await alerts.stale_alert_messages(session=session)
    if escalated:
        runtime.sender.wake()
    for edit in edits:
        await _edit(context, edit)


async def _edit(context: BotContext, edit: alerts.MessageEdit) -> None:
    await context.runtime.inbox.pace(edit.chat_id)
    try:
        await context.bot.edit_message_text(
            chat_id=edit.chat_id,
            message_id=edit.message_id,
            text=edit.text,
            parse_mode="HTML",
            reply_markup=None,
        )
    except (BadRequest, Forbidden, NetworkError) as exc:
        log.info("alert message %s could not be updated: %s", edit.message_id, exc)


async def ack_button(update: Update, context: BotContext) -> None:
    """ "I'm on it": record who took the alert on; every copy of it then says so."""
    query = update.callback_query
    assert query is not None and query.data is not None
    alert_id = int(query.data.split(":")[1])
    user = query.from_user
    outcome = await alerts.acknowledge(
        session=context.session,
        alert_id=alert_id,
        by_user_id=user.id,
        by_name=user.full_name,
        admin_ids=context.runtime.settings.facilitator_ids,
        now=context.now,
    )
    note = {
        AckResult.ACKNOWLEDGED: text("alert_ack_done"),
        AckResult.ALREADY: text("alert_ack_already", name=outcome.by_name or ""),
        AckResult.NOT_ALLOWED: text("alert_ack_not_allowed"),
        AckResult.NOT_FOUND: text("alert_ack_not_found"),
    }[outcome.result]
    context.after_commit(None, lambda: query.answer(note))
    for edit in outcome.edits:
        context.after_commit(
            edit.chat_id,
            functools.partial(
                context.bot.edit_message_text,
                chat_id=edit.chat_id,
                message_id=edit.message_id,
                text=edit.text,
                parse_mode="HTML",
                reply_markup=None,
            ),
        )
    if outcome.result == AckResult.ACKNOWLEDGED:
        log.info("safety alert %s acknowledged by %s", alert_id, user.id)
    context.runtime.sender.wake()


async def alerts_command(update: Update, context: BotContext) -> None:
    """/alerts: open alerts of your cohorts (all for administrators), then recently handled."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    session = context.session
    admin_ids = context.runtime.settings.facilitator_ids
    cohort_ids = await alerts.visible_cohort_ids(
        session=session, telegram_user_id=user.id, admin_ids=admin_ids
    )
    if cohort_ids is not None and not cohort_ids:
        await context.reply(message.chat_id, text("unknown_command", user.language_code))
        return
    open_alerts = await alerts.list_open_alerts(session=session, cohort_ids=cohort_ids, limit=200)
    since = context.now - timedelta(days=RECENT_DAYS)
    recent = [
        a
        for a in await alerts.list_alerts(
            session=session, cohort_ids=cohort_ids, since=since, limit=60
        )
        if not a.is_open
    ][:LIST_RECENT]
    names = await alerts.facilitator_names(
        session=session, ids={a.acknowledged_by for a in recent if a.acknowledged_by}
    )
    shown = open_alerts[:LIST_OPEN]
    body = alerts.render_alert_list(shown, recent, names)
    body += await _unanswered_checkin_lines(context, cohort_ids)
    if len(open_alerts) > len(shown):
        body = body.replace(
            text("alerts_open_header", count=len(open_alerts)),
            text("alerts_open_header", count=len(open_alerts))
            + " "
            + text("alerts_more", count=len(shown)),
            1,
        )
    session.add(
        AuditLog(
            actor_telegram_id=user.id,
            action="alerts",
            detail=f"{len(shown)} open, {len(recent)} recent",
            created_at=context.now,
        )
    )
    await context.reply(message.chat_id, body, markup=alerts.list_markup(shown))


HANDLERS = [
    CallbackQueryHandler(ack_button, pattern=alerts.ACK_PATTERN),
    CallbackQueryHandler(checkin_button, pattern=CHECKIN_PATTERN),
]
