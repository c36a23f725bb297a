"""Retention: a cohort's answers are erased `retention_days` after it ends.

A cohort ends when it is closed (`closed_at`) or else at the delivery of its last program day.
`retention_days` (180 by default) later, a scheduled job (and `resilience-bot purge`) erases what
its participants wrote, exactly as /delete does (see bot/services/data_rights.py): answer
content, alert texts, names, quotes in the outbox and audit log, and the raw inbox updates the
participants sent while in this cohort (until they joined a later one). Rows stay as anonymous
tallies. Then `purged_at` is set and the cohort is never looked at again.

With the preview clock (DAY_LENGTH_SECONDS) the retention period shrinks like program days do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, CurriculumVersion, Participant
from bot.services.catalog import program_of
from bot.services.clock import SECONDS_PER_DAY, ProgramClock
from bot.services.data_rights import ErasureSummary, InboxScope, erase_participants


def cohort_ends_at(*, cohort: Cohort, version: CurriculumVersion, clock: ProgramClock) -> datetime:
    """When the cohort ended (or will end): closed, or its last program day delivered."""
    if cohort.closed_at is not None:
        return cohort.closed_at
    return clock.due_at(
        start_at=cohort.start_at,
        start_date=cohort.start_date,
        delivery_time=cohort.delivery_time,
        timezone=cohort.timezone,
        day=program_of(version).length_days,
    )


def purge_at(*, cohort: Cohort, version: CurriculumVersion, clock: ProgramClock) -> datetime:
    ends = cohort_ends_at(cohort=cohort, version=version, clock=clock)
    return ends + timedelta(seconds=clock.scale(cohort.retention_days * SECONDS_PER_DAY))


@dataclass
class PurgeItem:
    cohort_id: int
    name: str
    ended_at: datetime
    purge_at: datetime
    participants: int
    answers: int
    alerts: int
    names: int
    deliveries: int
    inbox_updates: int
    audit_entries: int

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ended_at"] = self.ended_at.isoformat()
        data["purge_at"] = self.purge_at.isoformat()
        return data


async def due_cohorts(
    *, session: AsyncSession, clock: ProgramClock, now: datetime
) -> list[tuple[Cohort, CurriculumVersion, datetime]]:
    """Cohorts not purged yet whose retention period is over, with their purge time."""
    rows = await session.exec(
        select(Cohort, CurriculumVersion)
        .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
        .where(col(Cohort.purged_at).is_(None))
        .order_by(col(Cohort.id))
    )
    due = []
    for cohort, version in rows.all():
        when = purge_at(cohort=cohort, version=version, clock=clock)
        if when <= now:
            due.append((cohort, version, when))
    return due


async def _inbox_scopes(
    *, session: AsyncSession, participants: list[Participant]
) -> list[InboxScope]:
    """Each participant's raw updates up to when they joined a later cohort (if they did)."""
    scopes = []
    for participant in participants:
        if participant.telegram_user_id <= 0:  # already erased
            continue
        later = (
            await session.exec(
                select(Participant.joined_at)
                .where(Participant.telegram_user_id == participant.telegram_user_id)
                .where(col(Participant.joined_at) > participant.joined_at)
                .order_by(col(Participant.joined_at))
                .limit(1)
            )
        ).first()
        scopes.append(InboxScope(participant.telegram_user_id, before=later))
    return scopes


async def purge_cohort(
    *, session: AsyncSession, cohort: Cohort, now: datetime, apply: bool = True
) -> ErasureSummary:
    participants = list(
        (await session.exec(select(Participant).where(Participant.cohort_id == cohort.id))).all()
    )
    summary = await erase_participants(
        session=session,
        participants=participants,
        inbox=await _inbox_scopes(session=session, participants=participants),
        now=now,
        deleted_by_person=False,
        apply=apply,
    )
    if apply:
        cohort.purged_at = now
        session.add(cohort)
    return summary


async def purge_due(
    *, session: AsyncSession, clock: ProgramClock, now: datetime, dry_run: bool = False
) -> list[PurgeItem]:
    """Erase every cohort whose retention period is over (or, dry run, say what would go)."""
    items = []
    for cohort, version, when in await due_cohorts(session=session, clock=clock, now=now):
        summary = await purge_cohort(session=session, cohort=cohort, now=now, apply=not dry_run)
        items.append(
            PurgeItem(
                cohort_id=cohort.id,  # type: ignore[arg-type]
                name=cohort.name,
                ended_at=cohort_ends_at(cohort=cohort, version=version, clock=clock),
                purge_at=when,
                participants=summary.participants,
                answers=summary.answers,
                alerts=summary.alerts,
                names=summary.names,
                deliveries=summary.deliveries,
                inbox_updates=summary.inbox_updates,
                audit_entries=summary.audit_entries,
            )
        )
    return items
