"""Joining, consent, pause and resume, leaving, time zones: a participant's life cycle."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import Program
from bot.db.models import (
    Cohort,
    CohortStatus,
    ConsentRefusal,
    CurriculumVersion,
    Participant,
    ParticipantStatus,
)
from bot.services.catalog import program_of
from bot.services.clock import ProgramClock
from bot.services.cohorts import CohortView, check_timezone, cohort_day, find_by_invite
from bot.services.outbox import fail_pending_for_chat
from bot.services.schedule import plan_next

ENGAGED = (
    ParticipantStatus.PENDING,
    ParticipantStatus.ACTIVE,
    ParticipantStatus.PAUSED,
    ParticipantStatus.BLOCKED,
)


@dataclass(frozen=True)
class Enrollment:
    """A participant with their cohort and the program that cohort runs."""

    participant: Participant
    cohort: Cohort
    version: CurriculumVersion

    @property
    def program(self) -> Program:
        return program_of(self.version)


def _enrollment_query():  # type: ignore[no-untyped-def]
    return (
        select(Participant, Cohort, CurriculumVersion)
        .join(Cohort, col(Participant.cohort_id) == Cohort.id)
        .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
    )


async def current_enrollment(
    *, session: AsyncSession, telegram_user_id: int, include_ended: bool = False
) -> Enrollment | None:
    """The person's engaged enrollment (or, with include_ended, their latest one)."""
    query = _enrollment_query().where(Participant.telegram_user_id == telegram_user_id)
    if not include_ended:
        query = query.where(col(Participant.status).in_(ENGAGED))
    query = query.order_by(col(Participant.joined_at).desc(), col(Participant.id).desc())
    row = (await session.exec(query)).first()
    return Enrollment(*row) if row else None


async def enrollment_by_id(*, session: AsyncSession, participant_id: int) -> Enrollment | None:
    row = (await session.exec(_enrollment_query().where(Participant.id == participant_id))).first()
    return Enrollment(*row) if row else None


class JoinResult(StrEnum):
    NO_CODE = "no_code"
    UNKNOWN_CODE = "unknown_code"
    CLOSED = "closed"
    ALREADY_HERE = "already_here"
    OTHER_COHORT = "other_cohort"
    CONSENT_NEEDED = "consent_needed"


@dataclass(frozen=True)
class JoinOutcome:
    result: JoinResult
    enrollment: Enrollment | None = None
    cohort: CohortView | None = None


async def begin_join(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    telegram_user_id: int,
    chat_id: int,
    display_name: str | None,
    language: str | None,
    code: str | None,
    now: datetime,
) -> JoinOutcome:
    """Start joining the cohort behind an invite code; consent comes next."""
    if not code:
        return JoinOutcome(JoinResult.NO_CODE)
    view = await find_by_invite(session=session, code=code)
    if view is None:
        return JoinOutcome(JoinResult.UNKNOWN_CODE)
    day = cohort_day(cohort=view.cohort, clock=clock, now=now)
    if view.cohort.status == CohortStatus.CLOSED or day > view.program.length_days:
        return JoinOutcome(JoinResult.CLOSED, cohort=view)
    existing = await current_enrollment(session=session, telegram_user_id=telegram_user_id)
    if existing is not None and existing.cohort.id != view.cohort.id:
        if existing.participant.status != ParticipantStatus.PENDING:
            return JoinOutcome(JoinResult.OTHER_COHORT, enrollment=existing, cohort=view)
        await session.delete(existing.participant)
        await session.flush()
    participant = (
        await session.exec(
            select(Participant).where(
                Participant.cohort_id == view.cohort.id,
                Participant.telegram_user_id == telegram_user_id,
            )
        )
    ).first()
    if participant is not None and participant.status in (
        ParticipantStatus.ACTIVE,
        ParticipantStatus.PAUSED,
        ParticipantStatus.BLOCKED,
    ):
        return JoinOutcome(
            JoinResult.ALREADY_HERE,
            enrollment=Enrollment(participant, view.cohort, view.version),
            cohort=view,
        )
    if participant is None:
        participant = Participant(
            cohort_id=view.cohort.id,  # type: ignore[arg-type]
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            pseudonym=secrets.token_hex(8),
        )
    participant.chat_id = chat_id
    participant.display_name = display_name
    participant.language = language
    participant.status = ParticipantStatus.PENDING
    participant.joined_at = now
    participant.last_activity_at = now
    session.add(participant)
    await session.flush()
    return JoinOutcome(
        JoinResult.CONSENT_NEEDED,
        enrollment=Enrollment(participant, view.cohort, view.version),
        cohort=view,
    )


@dataclass(frozen=True)
class ConsentOutcome:
    accepted: bool
    already_answered: bool = False
    starts_now: bool = False
    first_due_at: datetime | None = None


async def answer_consent(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    enrollment: Enrollment,
    accept: bool,
    now: datetime,
) -> ConsentOutcome:
    """Accept: enrolled, with consent time and version. Decline: only the refusal is kept."""
    participant, cohort, program = enrollment.participant, enrollment.cohort, enrollment.program
    if participant.status != ParticipantStatus.PENDING:
        return ConsentOutcome(accepted=participant.consent_at is not None, already_answered=True)
    if not accept:
        session.add(
            ConsentRefusal(
                cohort_id=cohort.id,  # type: ignore[arg-type]
                consent_version=program.consent.version,
                refused_at=now,
            )
        )
        await session.delete(participant)
        return ConsentOutcome(accepted=False)
    participant.status = ParticipantStatus.ACTIVE
    participant.consent_at = now
    participant.consent_version = program.consent.version
    participant.next_day = None
    plan_next(clock=clock, cohort=cohort, participant=participant, program=program, now=now)
    participant.first_day = participant.next_day
    if cohort.status == CohortStatus.SCHEDULED and participant.next_due_at <= now:  # type: ignore[operator]
        cohort.status = CohortStatus.RUNNING
        session.add(cohort)
    session.add(participant)
    return ConsentOutcome(
        accepted=True,
        starts_now=participant.next_due_at <= now,  # type: ignore[operator]
        first_due_at=participant.next_due_at,
    )


class PauseResult(StrEnum):
    PAUSED = "paused"
    ALREADY_PAUSED = "already_paused"
    RESUMED_NOW = "resumed_now"
    RESUMED_LATER = "resumed_later"
    NOT_PAUSED = "not_paused"


async def pause(*, session: AsyncSession, enrollment: Enrollment, now: datetime) -> PauseResult:
    participant = enrollment.participant
    if participant.status == ParticipantStatus.PAUSED:
        return PauseResult.ALREADY_PAUSED
    participant.status = ParticipantStatus.PAUSED
    participant.paused_at = now
    participant.next_due_at = None
    session.add(participant)
    return PauseResult.PAUSED


async def resume(
    *, session: AsyncSession, clock: ProgramClock, enrollment: Enrollment, now: datetime
) -> PauseResult:
    """Carry on with the cohort's current day; missed days are never sent in a burst."""
    participant = enrollment.participant
    if participant.status != ParticipantStatus.PAUSED:
        return PauseResult.NOT_PAUSED
    reactivate(clock=clock, enrollment=enrollment, now=now)
    session.add(participant)
    if participant.next_due_at is not None and participant.next_due_at <= now:
        return PauseResult.RESUMED_NOW
    return PauseResult.RESUMED_LATER


def reactivate(*, clock: ProgramClock, enrollment: Enrollment, now: datetime) -> None:
    participant = enrollment.participant
    participant.status = ParticipantStatus.ACTIVE
    participant.paused_at = None
    participant.blocked_at = None
    plan_next(
        clock=clock,
        cohort=enrollment.cohort,
        participant=participant,
        program=enrollment.program,
        now=now,
    )


async def mark_blocked(*, session: AsyncSession, chat_id: int, now: datetime) -> int:
    """The person blocked the bot or was deactivated: they get nothing more until they write."""
    participants = (
        await session.exec(
            select(Participant).where(
                Participant.chat_id == chat_id,
                col(Participant.status).in_([ParticipantStatus.ACTIVE, ParticipantStatus.PAUSED]),
            )
        )
    ).all()
    for participant in participants:
        participant.status = ParticipantStatus.BLOCKED
        participant.blocked_at = now
        participant.next_due_at = None
        session.add(participant)
    await fail_pending_for_chat(session=session, chat_id=chat_id, reason="blocked by the user")
    return len(participants)


async def withdraw(*, session: AsyncSession, enrollment: Enrollment, now: datetime) -> None:
    participant = enrollment.participant
    participant.status = ParticipantStatus.WITHDRAWN
    participant.left_at = now
    participant.next_due_at = None
    session.add(participant)
    await fail_pending_for_chat(
        session=session, chat_id=participant.chat_id, reason="participant left the program"
    )


async def set_timezone(
    *, session: AsyncSession, clock: ProgramClock, enrollment: Enrollment, name: str, now: datetime
) -> str:
    """Validate and store the participant's IANA zone; raises InvalidTimezone."""
    participant = enrollment.participant
    participant.timezone = check_timezone(name)
    if participant.status == ParticipantStatus.ACTIVE:
        plan_next(
            clock=clock,
            cohort=enrollment.cohort,
            participant=participant,
            program=enrollment.program,
            now=now,
        )
    session.add(participant)
    return participant.timezone


def touch(participant: Participant, now: datetime) -> None:
    participant.last_activity_at = now
