"""Raising alerts: check what participants write or answer, reply with care, tell the
facilitators.

Crisis language (see bot/services/safety.py and curricula/safety.yaml) gets the participant an
immediate caring reply with the crisis resources of their cohort, and the cohort's facilitators
(or, if it has none, the administrators) an alert with an "I'm on it" button. So do low scale
answers several days in a row, where a prompt asks for that.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import ScaleAlert, ScalePrompt
from bot.db.models import Cohort, Participant, ParticipantStatus, Response, SafetyAlert
from bot.services.alerts import checkins
from bot.services.alerts.checker import SafetyChecker
from bot.services.alerts.messages import LOW_SCALE, alert_message, render_alert
from bot.services.alerts.recipients import alert_recipients
from bot.services.outbox import enqueue
from bot.services.participants import Enrollment
from bot.services.safety import low_streak
from bot.services.safety_detector import Level, SafetyDetector
from bot.texts import text

ASKABLE = {ParticipantStatus.ACTIVE, ParticipantStatus.PAUSED, ParticipantStatus.COMPLETED}
"""Who is asked whether they are safe: anyone who consented and has not left."""
log = logging.getLogger(__package__)  # the package's logger, "bot.services.alerts"

REPEAT_WINDOW = timedelta(hours=24)
"""The same words from the same person within this window raise no second alert (edits)."""


async def _repeat_of(
    *, session: AsyncSession, participant_id: int, message_text: str, now: datetime
) -> bool:
    """Whether this person's same words raised an alert recently (an edit, a double send)."""
    recent = await session.exec(
        select(SafetyAlert.message_text)
        .where(SafetyAlert.participant_id == participant_id)
        .where(col(SafetyAlert.created_at) >= now - REPEAT_WINDOW)
    )
    return any(previous == message_text for previous in recent.all())


async def raise_alert(
    *,
    session: AsyncSession,
    cohort: Cohort,
    participant: Participant,
    category: str,
    matched: str | None,
    message_text: str | None,
    now: datetime,
    admin_ids: Collection[int],
    response_id: int | None = None,
) -> SafetyAlert:
    """Store the alert and queue it to every recipient (facilitators, else administrators)."""
    alert = SafetyAlert(
        cohort_id=cohort.id,  # type: ignore[arg-type]
        participant_id=participant.id,  # type: ignore[arg-type]
        response_id=response_id,
        category=category,
        matched=matched,
        message_text=message_text,
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    recipients = await alert_recipients(
        session=session,
        cohort_id=cohort.id,  # type: ignore[arg-type]
        admin_ids=admin_ids,
    )
    if not recipients:
        log.error(
            "safety alert %s for cohort %s reaches nobody: add a facilitator to the cohort "
            "or set FACILITATOR_IDS",
            alert.id,
            cohort.id,
        )
    body = render_alert(alert, cohort, participant)
    await enqueue(
        session=session,
        messages=[alert_message(alert, recipient, body, now) for recipient in recipients],
    )
    log.info("safety alert %s (%s) for cohort %s", alert.id, category, cohort.id)
    return alert


@dataclass(frozen=True)
class SafetyOutcome:
    """What to tell the participant (plain text), and the alert raised, if any."""

    reply: str
    category: str
    alert: SafetyAlert | None = None
    ask_if_safe: bool = False  # the detector was unsure: ask (bot/services/alerts/checkins.py)
    checkin_id: int | None = None


async def _latest_enrollment(*, session: AsyncSession, telegram_user_id: int) -> Enrollment | None:
    from bot.services.participants import current_enrollment

    found = await current_enrollment(
        session=session, telegram_user_id=telegram_user_id, include_ended=True
    )
    if found is None or found.participant.data_deleted_at is not None:
        return None
    return found


async def check_text(
    *,
    session: AsyncSession,
    checker: SafetyChecker,
    enrollment: Enrollment | None,
    telegram_user_id: int | None,
    message: str,
    language: str | None,
    now: datetime,
    admin_ids: Collection[int],
    detector: SafetyDetector | None = None,
) -> SafetyOutcome | None:
    """Check one message a person wrote. On a match: the caring reply, and an alert to the
    facilitators of their cohort (their latest one if they already finished or left).

    With the layered `detector`, a message it is unsure about (level `check`) asks the
    participant whether they are safe instead (`ask_if_safe`), at most once a day."""
    if not message or not message.strip():
        return None
    if enrollment is None and telegram_user_id is not None:
        enrollment = await _latest_enrollment(session=session, telegram_user_id=telegram_user_id)
    program_id = enrollment.version.program_id if enrollment else None
    if enrollment is not None:
        language = enrollment.participant.language or language or enrollment.program.language
    if detector is not None:
        decision = detector.decide(message, language, program_id)
        if decision.level == Level.NONE or decision.category is None:
            return None
        category, matched = decision.category, "; ".join(decision.reasons)
        if decision.level == Level.CHECK:
            return await _ask_if_safe(session, enrollment, category, now)
    else:
        match = checker.check(message, language, program_id)
        if match is None:
            return None
        category, matched = match.category.value, match.matched
    resources = enrollment.cohort.crisis_resources if enrollment else None
    reply = checker.reply(
        reply_kind(category), language=language, program_id=program_id, resources=resources
    )
    alert = None
    if enrollment is not None:
        participant = enrollment.participant
        repeat = await _repeat_of(
            session=session,
            participant_id=participant.id,  # type: ignore[arg-type]
            message_text=message,
            now=now,
        )
        if not repeat:
            alert = await raise_alert(
                session=session,
                cohort=enrollment.cohort,
                participant=participant,
                category=category,
                matched=matched,
                message_text=message,
                now=now,
                admin_ids=admin_ids,
            )
    return SafetyOutcome(reply=reply, category=category, alert=alert)


async def _ask_if_safe(
    session: AsyncSession, enrollment: Enrollment | None, category: str, now: datetime
) -> SafetyOutcome | None:
    if enrollment is None or enrollment.participant.status not in ASKABLE:
        return None
    checkin = await checkins.ask(session=session, enrollment=enrollment, category=category, now=now)
    if checkin is None:  # asked already today
        return None
    return SafetyOutcome(reply="", category=category, ask_if_safe=True, checkin_id=checkin.id)


def reply_kind(category: str) -> str:
    """The caring reply for a category; someone harming a dependent gets the abuse reply's
    resources until the catalog has its own."""
    return "abuse" if category == "harm_to_dependent" else category


def _alert_rules(enrollment: Enrollment) -> dict[str, tuple[ScaleAlert, int, ScalePrompt]]:
    """Prompt id -> (its alert rule, its position in the program, the prompt)."""
    rules: dict[str, tuple[ScaleAlert, int, ScalePrompt]] = {}
    position = 0
    for day in enrollment.program.days():
        for prompt in day.prompts:
            position += 1
            if isinstance(prompt, ScalePrompt) and prompt.alert is not None:
                rules[prompt.id] = (prompt.alert, position, prompt)
    return rules


async def check_scale(
    *,
    session: AsyncSession,
    checker: SafetyChecker,
    enrollment: Enrollment,
    now: datetime,
    admin_ids: Collection[int],
) -> SafetyOutcome | None:
    """After a scale answer: alert when the participant's answers to prompts carrying the same
    alert rule are low for `consecutive_days` answers in a row (day order, newest last).

    Alerts once per streak: a streak whose answers already raised an alert raises no other.
    """
    rules = _alert_rules(enrollment)
    if not rules:
        return None
    participant = enrollment.participant
    rows = (
        await session.exec(
            select(Response)
            .where(Response.participant_id == participant.id, Response.answer_type == "scale")
            .where(col(Response.prompt_id).in_(rules), col(Response.value).is_not(None))
        )
    ).all()
    latest: dict[tuple[int, str], Response] = {}  # one answer per question: the latest
    for row in sorted(rows, key=lambda r: (r.answered_at, r.id or 0)):
        latest[(row.day, row.prompt_id)] = row
    groups: dict[ScaleAlert, list[Response]] = {}
    for row in sorted(latest.values(), key=lambda r: (r.day, rules[r.prompt_id][1])):
        groups.setdefault(rules[row.prompt_id][0], []).append(row)
    for rule, answers in groups.items():
        values = [int(r.value) for r in answers]  # type: ignore[arg-type]
        streak = low_streak(values, rule.at_or_below)
        if streak < rule.consecutive_days:
            continue
        streak_rows = answers[-streak:]
        already = (
            await session.exec(
                select(SafetyAlert.id)
                .where(SafetyAlert.participant_id == participant.id)
                .where(SafetyAlert.category == LOW_SCALE)
                .where(col(SafetyAlert.response_id).in_([r.id for r in streak_rows]))
                .limit(1)
            )
        ).first()
        if already is not None:
            continue
        prompt = rules[streak_rows[-1].prompt_id][2]
        detail = text(
            "alert_scale_detail",
            prompt=prompt.text,
            values=", ".join(str(v) for v in values[-streak:]),
            count=streak,
        )
        alert = await raise_alert(
            session=session,
            cohort=enrollment.cohort,
            participant=participant,
            category=LOW_SCALE,
            matched=detail,
            message_text=None,
            now=now,
            admin_ids=admin_ids,
            response_id=streak_rows[-1].id,
        )
        language = participant.language or enrollment.program.language
        reply = checker.reply(
            LOW_SCALE,
            language=language,
            program_id=enrollment.version.program_id,
            resources=enrollment.cohort.crisis_resources,
        )
        return SafetyOutcome(reply=reply, category=LOW_SCALE, alert=alert)
    return None
