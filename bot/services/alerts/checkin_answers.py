"""What a check-in answer does: "safe" is recorded; "not safe" and "talk to someone" raise an
alert to the facilitators (bot/services/alerts/checkins.py asks the question)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, Participant, SafetyCheckIn
from bot.services.alerts.checkins import (
    CHECKIN_MATCH_PREFIX,
    Answer,
    CheckInOutcome,
    CheckInResult,
)
from bot.services.alerts.raising import raise_alert


async def answer_checkin(
    *,
    session: AsyncSession,
    checkin_id: int,
    telegram_user_id: int,
    answer: Answer,
    now: datetime,
    admin_ids: Collection[int],
) -> CheckInOutcome:
    checkin = await session.get(SafetyCheckIn, checkin_id)
    participant = await session.get(Participant, checkin.participant_id) if checkin else None
    if checkin is None or participant is None or participant.telegram_user_id != telegram_user_id:
        return CheckInOutcome(CheckInResult.NOT_FOUND)
    cohort = await session.get(Cohort, checkin.cohort_id)
    if checkin.answer is not None:
        return CheckInOutcome(CheckInResult.ALREADY, checkin, cohort)
    checkin.answer, checkin.answered_at = answer.value, now
    session.add(checkin)
    if answer == Answer.SAFE:
        return CheckInOutcome(CheckInResult.SAFE, checkin, cohort)
    assert cohort is not None
    alert = await raise_alert(
        session=session,
        cohort=cohort,
        participant=participant,
        category=checkin.category,
        matched=CHECKIN_MATCH_PREFIX + answer.value,
        message_text=None,
        now=now,
        admin_ids=admin_ids,
    )
    checkin.alert_id = alert.id
    return CheckInOutcome(CheckInResult.NEEDS_SOMEONE, checkin, cohort, alert)
