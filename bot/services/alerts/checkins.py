"""Ask, don't guess: when the detector is unsure, the participant is asked whether they are
safe. "Not safe" or "talk to someone" raises an alert; "safe" is recorded; no answer shows to
the facilitators as a low-priority item. Nobody is asked more than once a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, Participant, SafetyAlert, SafetyCheckIn
from bot.services.participants import Enrollment

ASK_AT_MOST_EVERY = timedelta(hours=24)
CHECKIN_CALLBACK = "ck:{id}:{answer}"
CHECKIN_PATTERN = r"^ck:\d+:(safe|not_safe|talk)$"
CHECKIN_MATCH_PREFIX = "check-in: "
"""An alert raised by a check-in answer has `matched` = this prefix + the answer."""


class Answer(StrEnum):
    SAFE = "safe"
    NOT_SAFE = "not_safe"
    TALK = "talk"


class CheckInResult(StrEnum):
    SAFE = "safe"
    NEEDS_SOMEONE = "needs_someone"
    ALREADY = "already"
    NOT_FOUND = "not_found"  # also someone else's check-in: one answer for both


@dataclass(frozen=True)
class CheckInOutcome:
    result: CheckInResult
    checkin: SafetyCheckIn | None = None
    cohort: Cohort | None = None
    alert: SafetyAlert | None = None


async def ask(
    *, session: AsyncSession, enrollment: Enrollment, category: str, now: datetime
) -> SafetyCheckIn | None:
    """A new check-in, unless this person was already asked in the last day."""
    participant = enrollment.participant
    recent = (
        await session.exec(
            select(SafetyCheckIn.id)
            .where(SafetyCheckIn.participant_id == participant.id)
            .where(col(SafetyCheckIn.asked_at) > now - ASK_AT_MOST_EVERY)
            .limit(1)
        )
    ).first()
    if recent is not None:
        return None
    checkin = SafetyCheckIn(
        cohort_id=enrollment.cohort.id,  # type: ignore[arg-type]
        participant_id=participant.id,  # type: ignore[arg-type]
        category=category,
        asked_at=now,
    )
    session.add(checkin)
    await session.flush()
    return checkin


@dataclass(frozen=True)
class UnansweredCheckIn:
    checkin_id: int
    cohort_id: int
    participant: Participant
    asked_at: datetime


async def unanswered_checkins(
    *, session: AsyncSession, cohort_ids: set[int] | None, asked_before: datetime
) -> list[UnansweredCheckIn]:
    """Check-ins nobody answered by `asked_before` (their cohort's reminder time ago)."""
    query = (
        select(SafetyCheckIn, Participant)
        .join(Participant, col(Participant.id) == SafetyCheckIn.participant_id)
        .where(col(SafetyCheckIn.answer).is_(None))
        .where(col(SafetyCheckIn.asked_at) <= asked_before)
        .where(col(Participant.data_deleted_at).is_(None))
        .order_by(col(SafetyCheckIn.asked_at).desc())
    )
    if cohort_ids is not None:
        query = query.where(col(SafetyCheckIn.cohort_id).in_(cohort_ids))
    rows = (await session.exec(query)).all()
    return [UnansweredCheckIn(c.id, c.cohort_id, p, c.asked_at) for c, p in rows]  # type: ignore[arg-type]
