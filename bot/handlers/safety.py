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

from bot.config import ConfigError
from bot.db.models import AuditLog
from bot.db.session import unit_of_work
from bot.handlers.context import BotContext
from bot.runtime import Runtime
from bot.services import alerts
from bot.services.alerts import AckResult, SafetyChecker
from bot.services.participants import Enrollment
from bot.services.safety import SafetyConfigError
from bot.texts import escape, text

log = logging.getLogger(__name__)

ESCALATION_JOB = "alert-escalation"
RECENT_DAYS = 7
LIST_OPEN = 10
LIST_RECENT = 5


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
    )
    if outcome is None:
        return
    await context.reply(chat_id, escape(outcome.reply), kind="safety")
    runtime.sender.wake()


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


HANDLERS = [CallbackQueryHandler(ack_button, pattern=alerts.ACK_PATTERN)]
