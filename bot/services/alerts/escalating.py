"""Escalating: an alert nobody took on within ALERT_ESCALATION_MINUTES goes once more, to the
administrators."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, Participant, SafetyAlert
from bot.services.alerts.messages import alert_message, render_alert
from bot.services.clock import ProgramClock
from bot.services.outbox import OutgoingMessage, enqueue
from bot.texts import text

log = logging.getLogger(__package__)  # the package's logger, "bot.services.alerts"


async def escalate_due(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    now: datetime,
    escalation_minutes: float,
    admin_ids: Collection[int],
) -> list[int]:
    """Repeat every alert still unacknowledged after `escalation_minutes` (scaled by the
    preview clock) once to the administrators; returns the alert ids escalated."""
    cutoff = now - timedelta(seconds=clock.scale(escalation_minutes * 60))
    due = (
        await session.exec(
            select(SafetyAlert, Cohort, Participant)
            .join(Cohort, col(SafetyAlert.cohort_id) == Cohort.id)
            .join(Participant, col(SafetyAlert.participant_id) == Participant.id)
            .where(col(SafetyAlert.acknowledged_at).is_(None))
            .where(col(SafetyAlert.escalated_at).is_(None))
            .where(col(SafetyAlert.created_at) <= cutoff)
            .order_by(col(SafetyAlert.id))
        )
    ).all()
    admins = sorted(admin_ids)
    if due and not admins:
        log.warning("%d safety alert(s) unacknowledged and no FACILITATOR_IDS set", len(due))
    messages: list[OutgoingMessage] = []
    for alert, cohort, participant in due:
        alert.escalated_at = now
        session.add(alert)
        body = text("alert_escalated", minutes=f"{escalation_minutes:g}") + "\n\n"
        body += render_alert(alert, cohort, participant)
        messages += [alert_message(alert, admin, body, now, escalation=True) for admin in admins]
    await enqueue(session=session, messages=messages)
    if due:
        log.info("escalated %d safety alert(s) to %d administrator(s)", len(due), len(admins))
    return [alert.id for alert, _, _ in due]  # type: ignore[misc]
